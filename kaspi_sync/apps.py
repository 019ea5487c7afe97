from django.apps import AppConfig


class KaspiSyncConfig(AppConfig):
    name = "kaspi_sync"
    verbose_name = "Kaspi shops and orders"
