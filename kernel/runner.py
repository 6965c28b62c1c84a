"""The tracked-task runner: enqueue after commit, run under a lease, count every attempt.

django-q2 delivers messages; it does not decide whether a run may start. That is
decided here, from the run's own row, because django-q2 never counts an attempt
whose worker was killed (its issue 327) and its Redis broker can lose a message:

* ``task_enqueue`` marks the run QUEUED under a row lock (a second enqueue is
  refused) and publishes the message only after the transaction commits.
* ``execute`` is what a worker runs. It takes a lease on the row, counts the
  attempt *before* running (so a SIGKILLed attempt has already counted), renews
  the lease from a heartbeat thread, and finishes, retries or fails the run.
  A redelivered message finds a live lease and leaves; a finished run is left alone.
* ``recover_stale_tasks`` (scheduled every minute) republishes runs whose lease
  expired, which is how a killed attempt gets its successor on any broker.
"""

import logging
import threading
import uuid
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from kernel.errors import LeaseLost, TaskAlreadyQueued, TaskCancelled, TaskFailed
from kernel.handlers import handler_for
from kernel.logs import task_log_append, task_transition_record
from kernel.models import ACTIVE_STATUSES, FINISHED_STATUSES, TaskLogLine, TaskStatus, TrackedTask
from kernel.notify import notify_task_changed

logger = logging.getLogger(__name__)
Level = TaskLogLine.Level


def tracked_task_models() -> list[type[TrackedTask]]:
    return [model for model in apps.get_models() if issubclass(model, TrackedTask)]


def _rows(model):
    # Tracked tasks are never soft-deleted, but go through the base manager to be sure of seeing every row.
    return model._base_manager


def task_transition(
    task: TrackedTask,
    status: str,
    *,
    message: str | None = None,
    level: str = Level.INFO,
    holding_lease=None,
    **fields,
) -> bool:
    """The one way a task's status changes: write the row, the log line, and notify listeners.

    With ``holding_lease`` the write only happens while that lease still holds, so an
    attempt that lost its lease cannot overwrite its successor. Returns whether it wrote.
    """
    now = timezone.now()
    fields["status"] = status
    if status in FINISHED_STATUSES:
        fields.setdefault("finished_at", now)
        fields.setdefault("lease_token", None)
        fields.setdefault("lease_expires_at", None)
    if status == TaskStatus.SUCCEEDED:
        fields.setdefault("progress", 100)
    rows = _rows(type(task)).filter(pk=task.pk)
    if holding_lease is not None:
        rows = rows.filter(lease_token=holding_lease)
    # The status and its log line commit together: a worker killed between two autocommits left a
    # run succeeded with no "succeeded" line (the crash-safety test caught one in fifty).
    with transaction.atomic():
        if not rows.update(**fields):
            return False
        text = message or f"status: {status}"
        task_log_append(task, text, level=level)
        task_transition_record(task, status, attempt=fields.get("attempts", task.attempts), message=text, at=now)
    for name, value in fields.items():
        setattr(task, name, value)
    notify_task_changed(task)
    return True


def task_enqueue(task: TrackedTask, *, reset_attempts: bool = True, message: str = "queued") -> TrackedTask:
    """Queue ``task`` to run once the surrounding transaction commits; refuse a double enqueue."""
    model = type(task)
    with transaction.atomic():
        locked = _rows(model).select_for_update().get(pk=task.pk)
        if locked.status in ACTIVE_STATUSES:
            raise TaskAlreadyQueued(f"{model._meta.verbose_name} {task.pk} is already {locked.status}")
        extra = {"attempts": 0, "started_at": None} if reset_attempts else {}
        task_transition(
            locked,
            TaskStatus.QUEUED,
            message=message,
            queued_at=timezone.now(),
            finished_at=None,
            cancel_requested=False,
            error="",
            progress=0,
            **extra,
        )
        transaction.on_commit(lambda: _publish(model, locked.pk))
    for name in ("status", "queued_at", "attempts", "error", "progress", "finished_at", "cancel_requested"):
        setattr(task, name, getattr(locked, name))
    return task


def _publish(model, pk, *, delay_seconds: int = 0) -> None:
    from django_q.models import Schedule
    from django_q.tasks import async_task, schedule

    label = model._meta.label
    name = f"{label}:{pk}"
    if delay_seconds > 0:
        schedule(
            "kernel.runner.execute",
            label,
            str(pk),
            name=f"retry {name} {uuid.uuid4().hex[:8]}",
            schedule_type=Schedule.ONCE,
            repeats=1,
            next_run=timezone.now() + timedelta(seconds=delay_seconds),
        )
        return
    message_id = async_task("kernel.runner.execute", label, str(pk), task_name=name, group=label)
    _rows(model).filter(pk=pk).update(queue_message_id=str(message_id)[:64])


def task_cancel(task: TrackedTask, *, reason: str = "cancelled by request") -> TrackedTask:
    """Cancel now if it has not started; otherwise ask the running attempt to stop."""
    with transaction.atomic():
        locked = _rows(type(task)).select_for_update().get(pk=task.pk)
        if locked.is_finished:
            return locked
        if locked.status == TaskStatus.RUNNING:
            _rows(type(task)).filter(pk=task.pk).update(cancel_requested=True)
            locked.cancel_requested = True
            task_log_append(locked, f"cancel requested: {reason}", level=Level.WARNING)
        else:
            task_transition(locked, TaskStatus.CANCELLED, message=reason, level=Level.WARNING, cancel_requested=True)
    return locked


class TaskRun:
    """What a handler gets: its task, and the calls to report progress, log and notice a cancel."""

    CANCEL_CHECK_SECONDS = 1.0

    def __init__(self, task: TrackedTask, lease_token, heartbeat: "_Heartbeat | None" = None):
        self.task = task
        self.lease_token = lease_token
        self.heartbeat = heartbeat
        self._last_cancel_check = 0.0

    @property
    def attempt(self) -> int:
        return self.task.attempts

    def log(self, message: str, level: str = Level.INFO) -> None:
        task_log_append(self.task, message, level=level)

    def progress(self, percent: float, text: str | None = None) -> None:
        """Record progress (0..100) and an optional status text; raises TaskCancelled if asked to stop."""
        fields = {"progress": max(0, min(100, int(percent)))}
        if text is not None:
            fields["status_text"] = text[:500]
        rows = _rows(type(self.task)).filter(pk=self.task.pk, lease_token=self.lease_token)
        if not rows.update(**fields):
            raise LeaseLost()
        for name, value in fields.items():
            setattr(self.task, name, value)
        notify_task_changed(self.task)
        self.check_cancelled()

    def check_cancelled(self, *, force: bool = False) -> None:
        """Raise TaskCancelled when a cancel was asked for, LeaseLost when this attempt lost its lease."""
        if self.heartbeat is not None and self.heartbeat.lost.is_set():
            raise LeaseLost()
        now = timezone.now().timestamp()
        if not force and now - self._last_cancel_check < self.CANCEL_CHECK_SECONDS:
            return
        self._last_cancel_check = now
        state = _rows(type(self.task)).filter(pk=self.task.pk).values_list("cancel_requested", "lease_token").first()
        if state is None or state[1] != self.lease_token:
            raise LeaseLost()
        if state[0]:
            raise TaskCancelled()


class _Heartbeat(threading.Thread):
    """Renews the lease while the handler runs; a dead worker stops renewing and the lease lapses."""

    def __init__(self, model, pk, token, lease_seconds: int):
        super().__init__(daemon=True, name=f"lease-{pk}")
        self.model, self.pk, self.token, self.lease_seconds = model, pk, token, lease_seconds
        self.stopped = threading.Event()
        self.lost = threading.Event()  # the handler sees it through TaskRun.check_cancelled

    def run(self):
        try:
            while not self.stopped.wait(max(0.5, self.lease_seconds / 3)):
                if not self._renew():
                    self.lost.set()
                    logger.warning("%s %s lost its lease; the attempt stops", self.model._meta.label, self.pk)
                    return
        finally:
            connection.close()

    def _renew(self) -> bool:
        """Extend the lease; a database error (SQLite busy, a failover) is retried at the next beat."""
        expires = timezone.now() + timedelta(seconds=self.lease_seconds)
        try:
            return bool(_rows(self.model).filter(pk=self.pk, lease_token=self.token).update(lease_expires_at=expires))
        except DatabaseError as exc:
            logger.warning("%s %s: lease renewal failed, retrying: %s", self.model._meta.label, self.pk, exc)
            connection.close()
            return True

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


def _claim(model, pk, token) -> TrackedTask | None:
    """Take the lease and count the attempt, or return None when this delivery must not run."""
    now = timezone.now()
    lease = timedelta(seconds=settings.D2D_TASK_LEASE_SECONDS)
    with transaction.atomic():
        task = _rows(model).select_for_update().filter(pk=pk).first()
        if task is None:
            logger.warning("%s %s no longer exists; message dropped", model._meta.label, pk)
            return None
        if task.is_finished or task.status == TaskStatus.CREATED:
            return None
        if task.status == TaskStatus.RUNNING:
            if task.lease_expires_at and task.lease_expires_at > now:
                return None  # a live attempt holds it: this is a redelivery
            task_log_append(
                task,
                f"attempt {task.attempts} stopped without finishing (worker killed or over the time limit)",
                level=Level.ERROR,
            )
        if task.cancel_requested:
            task_transition(task, TaskStatus.CANCELLED, message="cancelled before the next attempt", level=Level.WARNING)
            return None
        limit = task.effective_max_attempts()
        if task.attempts >= limit:
            task_transition(
                task,
                TaskStatus.FAILED,
                message=f"failed: gave up after {task.attempts} of {limit} attempts",
                level=Level.ERROR,
                error=task.error or f"the worker stopped during attempt {task.attempts} and no attempts are left",
            )
            return None
        task_transition(
            task,
            TaskStatus.RUNNING,
            message=f"attempt {task.attempts + 1} of {limit} started",
            attempts=task.attempts + 1,
            started_at=task.started_at or now,
            lease_token=token,
            lease_expires_at=now + lease,
        )
        return task


def execute(label: str, pk: str) -> str:
    """The django-q2 entry point for every tracked task."""
    close_old_connections()
    model = apps.get_model(label)
    token = uuid.uuid4()
    task = _claim(model, pk, token)
    if task is None:
        return "skipped"
    heartbeat = _Heartbeat(model, task.pk, token, settings.D2D_TASK_LEASE_SECONDS)
    heartbeat.start()
    run = TaskRun(task, token, heartbeat)
    try:
        handler_for(model)(run).run()
    except LeaseLost:
        # Its successor owns the task now (or will, once recovery republishes it): write nothing.
        logger.warning("%s %s attempt %s stopped: lease lost", model._meta.label, pk, task.attempts)
        return "lease lost"
    except TaskCancelled:
        task_transition(task, TaskStatus.CANCELLED, message="cancelled while running", level=Level.WARNING, holding_lease=token)
        return "cancelled"
    except TaskFailed as exc:
        message = str(exc) or type(exc).__name__
        task_transition(task, TaskStatus.FAILED, message=f"failed: {message}", level=Level.ERROR, holding_lease=token, error=message)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - any failure of user-facing work is recorded, with its cause
        return _after_failure(task, token, exc)
    finally:
        heartbeat.stop()
    if not task_transition(task, TaskStatus.SUCCEEDED, message="succeeded", holding_lease=token):
        return "lease lost"  # finished after its lease lapsed: the successor's outcome stands
    return "succeeded"


def _after_failure(task: TrackedTask, token, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"
    logger.info("%s %s attempt %s failed: %s", task._meta.label, task.pk, task.attempts, error, exc_info=exc)
    limit = task.effective_max_attempts()
    if task.attempts < limit:
        delay = min(settings.D2D_TASK_RETRY_BACKOFF * 2 ** (task.attempts - 1), 600)
        wrote = task_transition(
            task,
            TaskStatus.RETRYING,
            message=f"attempt {task.attempts} failed: {error}; retrying" + (f" in {delay}s" if delay else ""),
            level=Level.ERROR,
            holding_lease=token,
            error=error,
            queued_at=timezone.now(),
            lease_expires_at=None,
        )
        if wrote:
            _publish(type(task), task.pk, delay_seconds=delay)
        return "retrying"
    task_transition(
        task,
        TaskStatus.FAILED,
        message=f"attempt {task.attempts} of {limit} failed: {error}",
        level=Level.ERROR,
        holding_lease=token,
        error=error,
    )
    return "failed"


def recover_stale_tasks() -> int:
    """Republish runs whose worker died (lease expired) or whose message was lost; returns how many."""
    now = timezone.now()
    requeue_before = now - timedelta(seconds=settings.D2D_TASK_REQUEUE_SECONDS)
    count = 0
    for model in tracked_task_models():
        rows = _rows(model)
        stale = rows.filter(status=TaskStatus.RUNNING, lease_expires_at__lt=now)
        lost = rows.filter(status__in=[TaskStatus.QUEUED, TaskStatus.RETRYING], queued_at__lt=requeue_before)
        for pk in list(stale.values_list("pk", flat=True)) + list(lost.values_list("pk", flat=True)):
            _publish(model, pk)
            count += 1
    return count


def sweep_scratch_folders() -> int:
    """The hourly housekeeping: each tracked-task model removes its ended runs' scratch folders."""
    return sum(model.sweep_scratch() for model in tracked_task_models())
