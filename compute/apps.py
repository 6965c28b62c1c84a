"""App config for compute."""

from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "compute"

    def ready(self):
        from compute import dashboard

        dashboard.register()
