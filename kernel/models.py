"""Abstract bases every app builds on, plus the task log and the platform's own tasks."""

import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class SoftDeleteQuerySet(models.QuerySet):
    def delete(self, *, by=None):
        """Soft-delete every row; returns the count like QuerySet.update.

        Models that keep a change history (django-simple-history) are deleted row by row, since
        an UPDATE of many rows at once would leave no record of who deleted them.
        """
        if getattr(self.model._meta, "simple_history_manager_attribute", None):
            rows = list(self)
            for row in rows:
                row.delete(by=by)
            return len(rows)
        return self.update(deleted_at=timezone.now(), deleted_by=by)

    def hard_delete(self):
        return super().delete()

    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def dead(self):
        return self.filter(deleted_at__isnull=False)


class LiveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """The default manager: deleted rows do not exist for ordinary code."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllObjectsManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    pass


class SoftDeleteModel(models.Model):
    """Rows are hidden, not removed, so a mistaken delete can be restored from the admin.

    Subclasses that need unique names declare them with ``live_unique(...)`` so a
    deleted name can be used again.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = LiveManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, *, by=None, using=None, keep_parents=False):
        self.deleted_at = timezone.now()
        self.deleted_by = by
        self.save(update_fields=["deleted_at", "deleted_by"])

    def hard_delete(self, using=None, keep_parents=False):
        return super().delete(using=using, keep_parents=keep_parents)

    def restore(self):
        self.deleted_at = None
        self.deleted_by = None
        self.save(update_fields=["deleted_at", "deleted_by"])


def live_unique(*fields: str, name: str) -> models.UniqueConstraint:
    """A unique constraint that only binds rows which are not soft-deleted."""
    return models.UniqueConstraint(fields=list(fields), condition=models.Q(deleted_at__isnull=True), name=name)


class AuditedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        abstract = True


class TaskStatus(models.TextChoices):
    CREATED = "created", "Created"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Waiting to retry"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.RETRYING)
FINISHED_STATUSES = (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class TrackedTask(models.Model):
    """One background run: a sync, a conversion, a compute job.

    Only kernel.runner changes status: it owns the lease (so a redelivered
    message never runs beside a live attempt) and the attempt count (which
    includes attempts whose worker was killed).
    """

    Status = TaskStatus

    # The project model is configuration, as the user model is, so the kernel names no app.
    project = models.ForeignKey(
        settings.D2D_PROJECT_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="%(app_label)s_%(class)s_set"
    )
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.CREATED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    status_text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=0, help_text="0 means the D2D_TASK_MAX_ATTEMPTS setting.")
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    queue_message_id = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def runtime_seconds(self) -> int | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))

    def effective_max_attempts(self) -> int:
        return self.max_attempts or settings.D2D_TASK_MAX_ATTEMPTS

    @classmethod
    def sweep_scratch(cls) -> int:
        """Remove local scratch folders of runs that ended; returns how many.

        A run's next attempt removes what a killed attempt left; this catches the runs that
        get no next attempt (the last one killed, cancelled or deleted meanwhile). Models
        whose handlers keep scratch folders override it; the kernel calls it hourly.
        """
        return 0

    def log_lines(self):
        return TaskLogLine.objects.for_task(self)

    def transitions(self):
        return TaskTransition.objects.for_task(self)


class TaskLogLineQuerySet(models.QuerySet):
    def for_task(self, task):
        content_type = ContentType.objects.get_for_model(task, for_concrete_model=True)
        return self.filter(content_type=content_type, task_id=str(task.pk))


class TaskLogLine(models.Model):
    """A timestamped, levelled line of one task's log, readable while the task runs."""

    class Level(models.TextChoices):
        DEBUG = "debug"
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    id = models.BigAutoField(primary_key=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    task_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()

    objects = TaskLogLineQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["content_type", "task_id", "id"], name="tasklog_task_cursor")]
        ordering = ["id"]
        verbose_name = "task log line"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.level.upper()} {self.message[:80]}"

    def as_text(self) -> str:
        return f"{self.at.isoformat()} {self.level.upper():7} {self.message}"


class TaskTransitionQuerySet(models.QuerySet):
    def for_task(self, task):
        content_type = ContentType.objects.get_for_model(task, for_concrete_model=True)
        return self.filter(content_type=content_type, task_id=str(task.pk))


class TaskTransition(models.Model):
    """One status change of a tracked task, kept apart from its log so a run's history outlives log pruning.

    Written by kernel.runner.task_transition, the one place a status changes; the admin builds a run's
    timeline (queued, each attempt started and ended, finished) from these rows.
    """

    id = models.BigAutoField(primary_key=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    task_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=TaskStatus.choices)
    attempt = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)

    objects = TaskTransitionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["content_type", "task_id", "id"], name="tasktransition_task")]
        ordering = ["id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status}"


class PlatformTask(TrackedTask):
    """Operations the platform runs on itself: a self-check of database, storage and worker."""

    class Kind(models.TextChoices):
        SELFCHECK = "selfcheck", "Self-check (database, storage, worker)"
        PRUNE_LOGS = "prune_logs", "Prune logs of finished tasks"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.SELFCHECK)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {str(self.pk)[:8]}"
