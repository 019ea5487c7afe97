from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kaspi_sync.api import SellsInfoView
from messaging.admin import whatsapp_connect, whatsapp_default, whatsapp_state
from messaging.views import waha_webhook
from seller.ops.customer import customer_page
from seller.ops.dashboard import dashboard
from seller.ops.prometheus import PrometheusView

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="ai-seller-dashboard"),
    path("admin/whatsapp/", admin.site.admin_view(whatsapp_default), name="whatsapp"),
    path("admin/whatsapp/<str:session>/", admin.site.admin_view(whatsapp_connect), name="whatsapp-connect"),
    path("admin/whatsapp/<str:session>/state.json", admin.site.admin_view(whatsapp_state), name="whatsapp-state"),
    path("admin/customer/<str:phone>/", admin.site.admin_view(customer_page), name="customer"),
    path("admin/", admin.site.urls),
    path("webhooks/waha", waha_webhook, name="waha-webhook"),
    path("ai-seller/", include("seller.urls")),
    path("kaspi/get_sells_info/<int:shop_id>", SellsInfoView.as_view(), name="kaspi-sells-info"),
    path("metrics", PrometheusView.as_view(), name="prometheus-metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Errors are JSON, like the API's own (the admin keeps its HTML 404 page).
handler400 = "rest_framework.exceptions.bad_request"
handler404 = "config.errors.not_found"
handler500 = "rest_framework.exceptions.server_error"
