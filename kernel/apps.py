"""App config for the kernel: process hooks, the task handlers of every app, housekeeping schedules, dashboard sections."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    name = "kernel"
    label = "kernel"
    verbose_name = "Platform"

    def ready(self):
        from kernel import checks, dashboard, forking, handlers, schedules, sqlite  # noqa: F401  checks registers itself

        forking.install()
        sqlite.install()
        handlers.discover_handlers()
        post_migrate.connect(schedules.ensure_housekeeping_schedules, sender=self)
        dashboard.register_kernel_sections()
