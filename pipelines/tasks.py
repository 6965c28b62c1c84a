"""django-q2 entry points of pipelines: thin wrappers over services."""

import logging

from d2d.kernel.errors import Conflict
from pipelines.models import Job, JobTask
from pipelines.services import job_sync_start

logger = logging.getLogger(__name__)


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
