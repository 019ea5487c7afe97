from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "WhatsApp messaging"

    def ready(self):
        from . import checks  # noqa: F401  (registers the start-up checks)
