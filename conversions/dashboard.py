"""Dashboard selectors of conversions: their runs by status, queue, running, failures and expired leases."""

from datetime import datetime

from conversions.models import ConversionTask
from kernel.dashboard import Section, dashboard_register, tracked_task_section


def runs_section(request, now: datetime) -> Section | None:
    return tracked_task_section(request, now, model=ConversionTask, title="Conversions")


def register() -> None:
    dashboard_register("conversions.runs", runs_section, order=30)
