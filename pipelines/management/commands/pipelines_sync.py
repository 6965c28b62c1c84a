"""Run one sync of a job in the foreground, with a progress bar and its log on the terminal."""

import logging

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kernel.errors import DomainError
from kernel.models import TaskLogLine, TaskStatus
from kernel.notify import task_changed
from kernel.runner import execute, task_transition
from pipelines.models import Job, JobTask
from pipelines.selectors import by_ref
from pipelines.services import job_sync_start


class _TaskLogHandler(logging.Handler):
    """Prints the kernel's log records of one task above the progress bar."""

    def __init__(self, task_id: str):
        super().__init__()
        self.task_id = task_id

    def emit(self, record):
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 3 and args[0] == "jobtask" and str(args[1]) == self.task_id:
            tqdm.write(f"{record.levelname:7} {args[2]}")


class Command(BaseCommand):
    help = "Sync a job now, in this process (JOB is its id or name); exits non-zero unless the run succeeds."

    def add_arguments(self, parser):
        parser.add_argument("job")
        parser.add_argument("--project", help="the job's project, when its name is not unique")
        parser.add_argument("--attempts", type=int, default=1, help="attempts before giving up (default 1)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")

    def handle(self, *args, job, project, attempts, no_progress, **options):
        job = by_ref(Job, job, project)
        try:
            task = job_sync_start(job=job, trigger=JobTask.Trigger.COMMAND, publish=False)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        JobTask.objects.filter(pk=task.pk).update(max_attempts=max(1, attempts))
        self.stdout.write(f"job {job.name} ({job.source.name} -> {job.destination.name}): run {task.pk}")

        handler = _TaskLogHandler(str(task.pk))
        tasks_logger = logging.getLogger("d2d.tasks")
        tasks_logger.addHandler(handler)
        previous_propagate, tasks_logger.propagate = tasks_logger.propagate, False
        bar = tqdm(unit=" rows", unit_scale=True, disable=no_progress, dynamic_ncols=True)

        def on_change(sender, task, **kwargs):
            if str(task.pk) == str(handler.task_id):
                bar.update(max(0, getattr(task, "rows_synced", 0) - bar.n))
                if task.status_text:
                    bar.set_description(task.status_text.split(":")[0], refresh=False)

        task_changed.connect(on_change, sender=JobTask, weak=False)
        try:
            execute(JobTask._meta.label, str(task.pk))
        except KeyboardInterrupt:
            task.refresh_from_db()
            task_transition(task, TaskStatus.CANCELLED, message="interrupted in the terminal", level=TaskLogLine.Level.WARNING)
        finally:
            task_changed.disconnect(on_change, sender=JobTask)
            tasks_logger.removeHandler(handler)
            tasks_logger.propagate = previous_propagate
            bar.close()
        task.refresh_from_db()
        summary = f"run {task.pk} {task.status}: {task.rows_synced:,} rows, {task.bytes_synced:,} bytes"
        if task.status != TaskStatus.SUCCEEDED:
            raise CommandError(f"{summary}. {task.error}".strip())
        self.stdout.write(self.style.SUCCESS(summary))
