"""App config for pipelines."""

from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"

    def ready(self):
        from pipelines import dashboard, history, webhooks

        webhooks.connect()
        history.connect()
        dashboard.register()
