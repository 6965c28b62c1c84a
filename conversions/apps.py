"""App config for conversions."""

from django.apps import AppConfig


class ConversionsConfig(AppConfig):
    name = "conversions"

    def ready(self):
        from conversions import dashboard

        dashboard.register()
