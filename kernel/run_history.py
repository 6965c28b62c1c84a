"""A run's timeline for people: queued, each attempt started and ended, finished, with how long each took."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel.models import FINISHED_STATUSES, TaskStatus, TaskTransition, TrackedTask


@dataclass
class HistoryRow:
    event: str
    at: datetime
    took: timedelta | None  # the time since the event this one ends or follows (queued -> started: the wait)
    note: str

    def as_json(self) -> dict:
        return {
            "event": self.event,
            "at": self.at.isoformat(),
            "took": duration_text(self.took),
            "note": self.note,
        }


def duration_text(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = max(0.0, delta.total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def task_history(task: TrackedTask) -> list[HistoryRow]:
    """The timeline from the task's status transitions; from its time fields for runs older than those."""
    transitions = list(TaskTransition.objects.for_task(task).order_by("id"))
    if not transitions:
        return _from_fields(task)
    rows = [HistoryRow("created", task.created_at, None, "")]
    previous_at = task.created_at
    attempt_started: datetime | None = None
    attempt_number = 0
    for change in transitions:
        status = change.status
        if status == TaskStatus.QUEUED:
            rows.append(HistoryRow("queued", change.at, change.at - previous_at, change.message))
        elif status == TaskStatus.RUNNING:
            if attempt_started is not None:
                # The previous attempt never reported an end: its worker died; its successor noticed here.
                rows.append(
                    HistoryRow(f"attempt {attempt_number} stopped", change.at, change.at - attempt_started, "worker stopped without finishing")
                )
            attempt_number = change.attempt or attempt_number + 1
            rows.append(HistoryRow(f"attempt {attempt_number} started", change.at, change.at - previous_at, change.message))
            attempt_started = change.at
        else:
            if attempt_started is not None:
                ended = "ended" if status in FINISHED_STATUSES else "failed"
                rows.append(HistoryRow(f"attempt {attempt_number} {ended}", change.at, change.at - attempt_started, ""))
                attempt_started = None
            event = "waiting to retry" if status == TaskStatus.RETRYING else status
            took = change.at - task.created_at if status in FINISHED_STATUSES else None
            rows.append(HistoryRow(str(event), change.at, took, change.message))
        previous_at = change.at
    return rows


def _from_fields(task: TrackedTask) -> list[HistoryRow]:
    rows = [HistoryRow("created", task.created_at, None, "")]
    if task.queued_at:
        rows.append(HistoryRow("queued", task.queued_at, task.queued_at - task.created_at, ""))
    if task.started_at:
        rows.append(HistoryRow("started", task.started_at, task.started_at - (task.queued_at or task.created_at), f"{task.attempts} attempt(s)"))
    if task.finished_at:
        rows.append(HistoryRow(task.status, task.finished_at, task.finished_at - (task.started_at or task.created_at), ""))
    return rows
