"""What workers run for pipelines: the handler of job runs, and the function a job's schedule fires.

A run is a sync (pipelines.sync) or a clear of the destination (pipelines.clearing), by its kind.
"""

import logging

from kernel.errors import Conflict
from kernel.handlers import TaskHandler
from pipelines.clearing import run_clear_task
from pipelines.models import Job, JobTask
from pipelines.services import job_sync_start
from pipelines.sync import run_sync_task

logger = logging.getLogger(__name__)


class JobTaskHandler(TaskHandler):
    model = JobTask

    def run(self) -> None:
        if self.task.kind == JobTask.Kind.CLEAR:
            run_clear_task(self.task_run)
        else:
            run_sync_task(self.task_run)


def job_sync_scheduled(job_id: int) -> str:
    """What a job's schedule runs: start a sync, or skip this tick while the previous run goes on."""
    job = Job.objects.filter(pk=job_id, activate=True).first()
    if job is None:
        return "skipped: job deleted or inactive"
    try:
        task = job_sync_start(job=job, trigger=JobTask.Trigger.SCHEDULE)
    except Conflict as exc:
        logger.info("scheduled sync of job %s skipped: %s", job_id, exc)
        return f"skipped: {exc}"
    return f"queued run {task.pk}"
