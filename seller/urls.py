from django.urls import path

from .ops import api

urlpatterns = [
    path("metrics", api.MetricsView.as_view(), name="ai-seller-metrics"),
    path("reset-metrics", api.ResetMetricsView.as_view(), name="ai-seller-reset-metrics"),
    path("trigger-delivered/<str:order_id>", api.TriggerDeliveredView.as_view(), name="ai-seller-trigger-delivered"),
    path("handoffs", api.HandoffsView.as_view(), name="ai-seller-handoffs"),
    path("status", api.StatusView.as_view(), name="ai-seller-status"),
]
