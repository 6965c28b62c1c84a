"""App config for the kernel; registers the housekeeping schedule after migrate."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    name = "d2d.kernel"
    label = "kernel"
    verbose_name = "Platform"

    def ready(self):
        from d2d.kernel import forking, schedules, sqlite

        forking.install()
        sqlite.install()
        from d2d.kernel.api import schema  # noqa: F401  registers the OpenAPI auth extensions

        post_migrate.connect(schedules.ensure_housekeeping_schedules, sender=self)
