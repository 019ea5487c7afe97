from django.contrib import admin
from django.urls import path

from messaging.views import waha_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/waha", waha_webhook, name="waha-webhook"),
]
