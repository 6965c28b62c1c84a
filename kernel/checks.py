"""System checks of the kernel: every tracked-task model has its handler (``manage.py check``)."""

from django.apps import apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from kernel.handlers import handler_for
from kernel.models import TrackedTask


@checks.register()
def check_task_handlers(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for model in apps.get_models():
        if not issubclass(model, TrackedTask):
            continue
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        try:
            handler_for(model)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), obj=model, id="kernel.E001"))
    return errors
