"""The handler of the platform's own tracked tasks (PlatformTask): self-check and log pruning."""

import time
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from kernel.handlers import TaskHandler
from kernel.models import FINISHED_STATUSES, PlatformTask, TaskLogLine
from kernel.runner import TaskRun, tracked_task_models


class PlatformTaskHandler(TaskHandler):
    """Runs the task's kind and stores what it found as the task's result."""

    model = PlatformTask

    def run(self) -> None:
        kinds = {PlatformTask.Kind.SELFCHECK: _selfcheck, PlatformTask.Kind.PRUNE_LOGS: _prune_logs}
        self.task.result = kinds[self.task.kind](self.task_run, self.task.params or {})
        PlatformTask.objects.filter(pk=self.task.pk).update(result=self.task.result)


def _selfcheck(run: TaskRun, params: dict) -> dict:
    """Prove the worker can reach the database and storage; optionally take some seconds doing it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    run.log(f"database {connection.vendor} answers")
    storage = storages["default"]
    name = storage.save(f"selfcheck/{run.task.pk}.txt", ContentFile(b"d2d selfcheck"))
    with storage.open(name) as handle:
        read_back = handle.read()
    storage.delete(name)
    run.log(f"storage {type(storage).__name__} wrote, read and deleted {len(read_back)} bytes")
    seconds = max(0, min(int(params.get("seconds", 0)), 3600))
    for second in range(seconds):
        time.sleep(1)
        run.progress(100 * (second + 1) / seconds, f"waited {second + 1} of {seconds} s")
    return {"database": connection.vendor, "storage": type(storage).__name__, "waited_seconds": seconds}


def _prune_logs(run: TaskRun, params: dict) -> dict:
    """Delete log lines of tasks that finished more than ``days`` days ago."""
    days = max(1, int(params.get("days", 30)))
    before = timezone.now() - timedelta(days=days)
    deleted = 0
    for model in tracked_task_models():
        content_type = ContentType.objects.get_for_model(model)
        old = model._base_manager.filter(status__in=FINISHED_STATUSES, finished_at__lt=before)
        ids = [str(pk) for pk in old.values_list("pk", flat=True).iterator()]
        for start in range(0, len(ids), 500):
            count, _ = TaskLogLine.objects.filter(content_type=content_type, task_id__in=ids[start : start + 500]).delete()
            deleted += count
    run.log(f"deleted {deleted} log lines of tasks finished before {before:%Y-%m-%d}")
    return {"deleted_lines": deleted}
