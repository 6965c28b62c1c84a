"""Conversion tasks, their input assets and result files."""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from accounts.scoping import ProjectScopedQuerySet
from conversions import files
from conversions.urlimport import shown_url
from kernel.models import SoftDeleteModel, TaskStatus, TrackedTask


class Stage(models.TextChoices):
    """001's Status words. COMPLETED and FAILED are derived from the kernel status (see contract_status)."""

    CREATED = "CREATED", "Created"
    DOWNLOADING = "DOWNLOADING", "Downloading assets"
    WAITING = "WAITING", "Waiting for assets or for processing to start"
    PROCESSING = "PROCESSING", "Processing"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"


class Data2DataStatus(models.TextChoices):
    """000's status words, in the order of its lifecycle (seeds/000: registered, queued, execution, success)."""

    CREATED = "created", "Registered, waiting for its files"
    QUEUED = "queued", "Waiting for the service's resources"
    EXECUTION = "execution", "The service is processing it"
    SUCCESS = "success", "Done: the result can be downloaded"
    FAILURE = "failure", "Ended without a result (failed or cancelled)"


# The runner's statuses behind each of 000's words: a task waiting to retry waits for a worker again,
# and a cancelled task ended without a result, which 000 calls a failure.
RUN_STATUSES = {
    Data2DataStatus.CREATED: (TaskStatus.CREATED,),
    Data2DataStatus.QUEUED: (TaskStatus.QUEUED, TaskStatus.RETRYING),
    Data2DataStatus.EXECUTION: (TaskStatus.RUNNING,),
    Data2DataStatus.SUCCESS: (TaskStatus.SUCCEEDED,),
    Data2DataStatus.FAILURE: (TaskStatus.FAILED, TaskStatus.CANCELLED),
}
DATA2DATA_STATUS_OF = {run: word for word, runs in RUN_STATUSES.items() for run in runs}
# What GET /api/v1/tasks/?status= takes: 000's words, and the runner's words the field said before
# (running, retrying, succeeded, failed, cancelled), each meaning just its own status.
STATUS_FILTERS = {**RUN_STATUSES, **{run: (run,) for run in TaskStatus if run not in Data2DataStatus.values}}


class ResultType(models.TextChoices):
    JSON = "JSON"
    STREAM = "STREAM"
    WEBSITE = "WEBSITE"


class ConversionTaskQuerySet(ProjectScopedQuerySet):
    def with_contract_status(self):
        """Annotate 001's status so metrics and filters can group by it in SQL."""
        return self.annotate(
            contract_status_db=models.Case(
                models.When(status__in=[TaskStatus.FAILED, TaskStatus.CANCELLED], then=models.Value(Stage.FAILED)),
                models.When(status=TaskStatus.SUCCEEDED, then=models.Value(Stage.COMPLETED)),
                default=models.F("stage"),
                output_field=models.CharField(),
            )
        )

    def in_status(self, word: str):
        """Tasks whose status is ``word``, one of STATUS_FILTERS."""
        return self.filter(status__in=STATUS_FILTERS[word])


class LiveConversionTaskManager(models.Manager.from_queryset(ConversionTaskQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllConversionTaskManager(models.Manager.from_queryset(ConversionTaskQuerySet)):
    pass


def _site_token() -> str:
    return secrets.token_urlsafe(24)


class ConversionTask(SoftDeleteModel, TrackedTask):
    """One conversion: a service, its parameters, its inputs and, once done, its results.

    The kernel status says whether the run is queued, running or finished; ``stage``
    says where a running task is in 001's flow (downloading, waiting, processing).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CREATED)
    assets_per_batch = models.PositiveIntegerField(default=20)
    last_batch = models.BooleanField(default=False, help_text="The client said no more assets will come.")
    last_asset_at = models.DateTimeField(null=True, blank=True, help_text="When assets were last added (idle timer).")
    result_type = models.CharField(max_length=8, choices=ResultType.choices, blank=True)
    result_json = models.JSONField(null=True, blank=True)
    site_token = models.CharField(max_length=64, default=_site_token, unique=True, editable=False)
    files_purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveConversionTaskManager()
    all_objects = AllConversionTaskManager()


    @classmethod
    def sweep_scratch(cls) -> int:
        return files.sweep_ended_workdirs(cls)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"], name="conv_task_project_created")]

    def __str__(self):
        return f"{self.service} {str(self.pk)[:8]}"

    @property
    def data2data_status(self) -> str:
        """000's word for the runner's status (RUN_STATUSES)."""
        return DATA2DATA_STATUS_OF[self.status]

    @property
    def contract_status(self) -> str:
        if self.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            return Stage.FAILED
        if self.status == TaskStatus.SUCCEEDED:
            return Stage.COMPLETED
        return self.stage

    @property
    def failure_reason(self) -> str | None:
        if self.status == TaskStatus.CANCELLED:
            return "cancelled"
        if self.status == TaskStatus.FAILED:
            return self.error or "failed"
        return None

    def assets_not_downloaded(self, *, shown: int = 5) -> str:
        """Which assets the server could not download and why ("asset 2 (https://host/a.csv) failed: HTTP 404
        Not Found"), the first ``shown`` of them; blank when none failed. URLs go through shown_url, so
        credentials and query values never reach the answer."""
        failed = self.inputs.filter(status=InputAsset.Status.FAILED).order_by("position", "id")
        rows = list(failed.values_list("position", "download_url", "failure_reason")[: shown + 1])
        if not rows:
            return ""
        count = len(rows) if len(rows) <= shown else failed.count()
        described = "; ".join(
            f"asset {position} ({shown_url(url) if url else 'an upload'}) {reason}" for position, url, reason in rows[:shown]
        )
        more = f"; {count - shown} more" if count > shown else ""
        return f"{count} asset(s) not downloaded: {described}{more}"

    @property
    def storage_prefix(self) -> str:
        return f"conversions/{self.pk}"


class InputAsset(models.Model):
    """One input: uploaded, or downloaded by the server from ``download_url``."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to download"
        DOWNLOADED = "downloaded", "Ready"
        FAILED = "failed", "Failed"

    task = models.ForeignKey(ConversionTask, on_delete=models.CASCADE, related_name="inputs")
    position = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, help_text="The client's name: shown and used in results, never a path.")
    attributes = models.JSONField(default=dict, blank=True)
    download_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    failure_reason = models.TextField(blank=True)
    file = models.FileField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    downloaded_bytes = models.BigIntegerField(default=0, help_text="Bytes fetched from download_url (metrics).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["task_id", "position", "id"]

    def __str__(self):
        return self.file_name


class ResultFile(models.Model):
    """One published output; ``is_archive`` marks the ZIP of all outputs served when there are several."""

    task = models.ForeignKey(ConversionTask, on_delete=models.CASCADE, related_name="results")
    name = models.CharField(max_length=255)
    file = models.FileField(max_length=500)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.BigIntegerField(default=0)
    is_archive = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["task_id", "is_archive", "name"]

    def __str__(self):
        return self.name
