from django.apps import AppConfig


class SellerConfig(AppConfig):
    name = "seller"
    verbose_name = "AI seller"

    def ready(self):
        from .ops import instrumentation  # noqa: F401  (connects the Celery task signals)
