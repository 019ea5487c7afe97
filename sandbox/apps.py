from django.apps import AppConfig


class SandboxConfig(AppConfig):
    # No models: the app exists so `python manage.py sandbox` is found.
    name = "sandbox"
    verbose_name = "Sandbox stand-ins (Kaspi, WAHA, OpenAI)"
