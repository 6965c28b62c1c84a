"""Dashboard selectors of compute: compute jobs by status, queue, running, failures and expired leases."""

from datetime import datetime

from compute.models import ComputeJob
from kernel.dashboard import Section, dashboard_register, tracked_task_section


def runs_section(request, now: datetime) -> Section | None:
    return tracked_task_section(request, now, model=ComputeJob, title="Compute jobs")


def register() -> None:
    dashboard_register("compute.runs", runs_section, order=40)
