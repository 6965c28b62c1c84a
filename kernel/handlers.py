"""Task handlers: what a worker runs for each kind of tracked task, registered once, by class.

A handler subclasses TaskHandler, names the tracked-task model it runs and implements ``run()``
(as NetBox's JobRunner does). Defining the subclass registers it. The kernel imports every
installed app's ``tasks`` module when the process starts (as the admin autodiscovers ``admin``
modules), so a renamed or missing handler stops the process and ``manage.py check`` at start-up,
never a worker when it picks up a run; the run itself only stores its model's label.
"""

from abc import ABC, abstractmethod

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from kernel.models import TrackedTask

HANDLER_MODULE = "tasks"

_handlers: dict[str, type["TaskHandler"]] = {}


class TaskHandler(ABC):
    """Base of every handler: one instance per attempt, holding the run and its task."""

    model: type[TrackedTask]  # set by each concrete handler; an intermediate base leaves it unset

    def __init__(self, task_run):
        self.task_run = task_run  # kernel.runner.TaskRun: progress, log, check_cancelled, attempt
        self.task = task_run.task

    @abstractmethod
    def run(self) -> None:
        """Do the attempt's work; raise TaskFailed for a failure no retry can fix."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model")
        if model is None:
            return
        if not (isinstance(model, type) and issubclass(model, TrackedTask)) or model._meta.abstract:
            raise ImproperlyConfigured(f"{cls.__qualname__}.model must be a concrete TrackedTask model, not {model!r}")
        label = model._meta.label
        registered = _handlers.get(label)
        if registered is not None and _name(registered) != _name(cls):
            raise ImproperlyConfigured(f"{label} has two handlers: {_name(registered)} and {_name(cls)}")
        if getattr(cls.run, "__isabstractmethod__", False):
            raise ImproperlyConfigured(f"{cls.__qualname__} names {label} but defines no run()")
        _handlers[label] = cls


def _name(handler: type) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def handler_for(model: type[TrackedTask]) -> type[TaskHandler]:
    try:
        return _handlers[model._meta.label]
    except KeyError:
        raise ImproperlyConfigured(
            f"no TaskHandler runs {model._meta.label}: define one in {model._meta.app_config.name}.{HANDLER_MODULE}"
        ) from None


def discover_handlers() -> None:
    """Import each installed app's ``tasks`` module, which registers the handlers it defines."""
    autodiscover_modules(HANDLER_MODULE)
