"""Per-task logs: append a line, read lines after a cursor, keep each log bounded; the status transitions beside them."""

import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from kernel.models import TaskLogLine, TaskTransition

logger = logging.getLogger("d2d.tasks")

MAX_LINE_CHARS = 4000
# Pruning is checked every PRUNE_EVERY lines, not on every append, to keep appends cheap.
PRUNE_EVERY = 200


def task_log_append(task, message: str, *, level: str = TaskLogLine.Level.INFO) -> TaskLogLine:
    if len(message) > MAX_LINE_CHARS:
        message = message[:MAX_LINE_CHARS] + " [line truncated]"
    content_type = ContentType.objects.get_for_model(task, for_concrete_model=True)
    line = TaskLogLine.objects.create(
        content_type=content_type, task_id=str(task.pk), at=timezone.now(), level=level, message=message
    )
    logger.log(logging.getLevelNamesMapping().get(level.upper(), logging.INFO), "%s %s: %s", content_type.model, task.pk, message)
    if line.id % PRUNE_EVERY == 0:
        _prune(content_type, str(task.pk))
    return line


def task_transition_record(task, status: str, *, attempt: int, message: str, at) -> TaskTransition:
    """Keep one status change (called by kernel.runner.task_transition inside its transaction)."""
    content_type = ContentType.objects.get_for_model(task, for_concrete_model=True)
    return TaskTransition.objects.create(
        content_type=content_type, task_id=str(task.pk), at=at, status=status, attempt=attempt or 0, message=message[:500]
    )


def _prune(content_type, task_id: str) -> None:
    """Keep only the newest D2D_TASK_LOG_MAX_LINES lines of one task."""
    limit = settings.D2D_TASK_LOG_MAX_LINES
    lines = TaskLogLine.objects.filter(content_type=content_type, task_id=task_id)
    boundary = lines.order_by("-id").values_list("id", flat=True)[limit : limit + 1]
    boundary_id = next(iter(boundary), None)
    if boundary_id is not None:
        lines.filter(id__lte=boundary_id).delete()


LEVEL_ORDER = [TaskLogLine.Level.DEBUG, TaskLogLine.Level.INFO, TaskLogLine.Level.WARNING, TaskLogLine.Level.ERROR]


def levels_from(minimum: str | None) -> list[str] | None:
    """The levels at or above ``minimum`` (None or an unknown name: every level)."""
    if minimum not in LEVEL_ORDER:
        return None
    return [str(level) for level in LEVEL_ORDER[LEVEL_ORDER.index(minimum) :]]


def task_log_page(
    task, *, after: int | None = None, before: int | None = None, limit: int = 200, levels: list[str] | None = None
) -> dict:
    """A page of a task's log by id cursor: newest lines when no cursor is given.

    Returns {"lines": [...], "older_cursor", "newer_cursor", "has_more_older", "has_more_newer"},
    the shape OLake's log API uses, so a client can tail a running task.
    """
    limit = max(1, min(limit, 1000))
    lines = TaskLogLine.objects.for_task(task)
    if levels is not None:
        lines = lines.filter(level__in=levels)
    if after is not None:
        page = list(lines.filter(id__gt=after).order_by("id")[: limit + 1])
        has_more_newer = len(page) > limit
        page = page[:limit]
        oldest_shown = page[0].id if page else after + 1
        has_more_older = lines.filter(id__lt=oldest_shown).exists()
    else:
        query = lines.filter(id__lt=before) if before is not None else lines
        page = list(query.order_by("-id")[: limit + 1])
        has_more_older = len(page) > limit
        page = list(reversed(page[:limit]))
        has_more_newer = bool(page) and lines.filter(id__gt=page[-1].id).exists()
    return {
        "lines": [
            {"id": line.id, "time": line.at.isoformat(), "level": line.level, "message": line.message} for line in page
        ],
        "older_cursor": page[0].id if page else before,
        "newer_cursor": page[-1].id if page else after,
        "has_more_older": has_more_older,
        "has_more_newer": has_more_newer,
    }


def task_log_text_chunks(task, *, batch: int = 2000, levels: list[str] | None = None):
    """The whole log as text lines, streamed in batches (for downloads)."""
    last_id = 0
    lines = TaskLogLine.objects.for_task(task)
    if levels is not None:
        lines = lines.filter(level__in=levels)
    while True:
        chunk = list(lines.filter(id__gt=last_id).order_by("id")[:batch])
        if not chunk:
            return
        for line in chunk:
            yield line.as_text() + "\n"
        last_id = chunk[-1].id
