from django.apps import AppConfig


class SellerConfig(AppConfig):
    name = "seller"
    verbose_name = "AI seller"
