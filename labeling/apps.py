"""App config for labeling."""

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"

    def ready(self):
        from labeling import dashboard

        dashboard.register()
