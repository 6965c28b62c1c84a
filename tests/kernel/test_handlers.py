"""Task handlers are classes registered once: a missing, doubled or misdeclared one fails at start-up."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from compute.models import ComputeJob
from compute.tasks import ComputeJobHandler
from conversions.models import ConversionTask
from conversions.tasks import ConversionHandler
from kernel import handlers
from kernel.checks import check_task_handlers
from kernel.handlers import TaskHandler, handler_for
from kernel.models import PlatformTask
from kernel.runner import tracked_task_models
from kernel.tasks import PlatformTaskHandler
from pipelines.models import JobTask
from pipelines.tasks import JobTaskHandler
from tests.probe.models import ProbeTask
from tests.probe.tasks import ProbeHandler


def test_every_tracked_task_model_has_its_handler():
    assert {model: handler_for(model) for model in tracked_task_models()} == {
        PlatformTask: PlatformTaskHandler,
        JobTask: JobTaskHandler,
        ConversionTask: ConversionHandler,
        ComputeJob: ComputeJobHandler,
        ProbeTask: ProbeHandler,
    }
    assert check_task_handlers() == []


def test_the_system_check_names_a_model_without_a_handler(monkeypatch):
    monkeypatch.delitem(handlers._handlers, ProbeTask._meta.label)
    errors = check_task_handlers()
    assert [(error.id, error.obj) for error in errors] == [("kernel.E001", ProbeTask)]
    assert "define one in tests.probe.tasks" in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="no TaskHandler runs probe.ProbeTask"):
        handler_for(ProbeTask)


def test_a_second_handler_for_one_model_is_refused():
    with pytest.raises(ImproperlyConfigured, match="probe.ProbeTask has two handlers"):

        class AnotherProbeHandler(TaskHandler):
            model = ProbeTask

    assert handler_for(ProbeTask) is ProbeHandler


@pytest.mark.parametrize("model", [get_user_model(), "probe.ProbeTask", None.__class__])
def test_a_handler_must_name_a_concrete_tracked_task_model(model):
    with pytest.raises(ImproperlyConfigured, match="must be a concrete TrackedTask model"):
        type("Misdeclared", (TaskHandler,), {"model": model})


def test_a_base_without_a_model_registers_nothing():
    before = dict(handlers._handlers)

    class StagedHandler(TaskHandler):
        """An intermediate base for handlers that share steps."""

    assert handlers._handlers == before


def test_a_handler_without_run_is_refused_when_defined(monkeypatch):
    monkeypatch.delitem(handlers._handlers, ProbeTask._meta.label)  # put back after the test
    with pytest.raises(ImproperlyConfigured, match="names probe.ProbeTask but defines no run"):

        class Forgetful(TaskHandler):
            model = ProbeTask

    assert ProbeTask._meta.label not in handlers._handlers, "nothing registered"
