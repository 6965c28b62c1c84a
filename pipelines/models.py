"""Sources, destinations, jobs, their runs (JobTask) and per-stream sync state."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.scoping import ProjectScopedQuerySet, ScopedQuerySet
from kernel.models import AllObjectsManager, AuditedModel, LiveManager, SoftDeleteModel, TrackedTask, live_unique
from pipelines.connectors.changes import position_text
from kernel.history import history_user
from pipelines.crypto import decrypt_json, encrypt_json
from pipelines.history import ConfigChangeRecord

# Live rows only / every row, each with ``for_user`` scoping.
LiveScopedManager = LiveManager.from_queryset(ProjectScopedQuerySet)
AllScopedManager = AllObjectsManager.from_queryset(ProjectScopedQuerySet)


class ConnectorConfigModel(SoftDeleteModel, AuditedModel):
    """A named connector with its config, which is stored encrypted (secrets included)."""

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=50)
    version = models.CharField(max_length=50)
    config_encrypted = models.TextField(blank=True, editable=False)

    objects = LiveScopedManager()
    all_objects = AllScopedManager()
    # Each concrete connector gets its own history table; the config's keys, not its values (pipelines/history.py).
    history = HistoricalRecords(
        inherit=True, excluded_fields=["config_encrypted"], bases=[ConfigChangeRecord], get_user=history_user
    )

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.type})"

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        # What the history compares the next save's config with (pipelines/history.py).
        instance._stored_config_encrypted = instance.__dict__.get("config_encrypted", "")
        return instance

    @property
    def config(self) -> dict:
        return decrypt_json(self.config_encrypted)

    @config.setter
    def config(self, value: dict) -> None:
        self.config_encrypted = encrypt_json(value or {})


class Source(ConnectorConfigModel):
    class Meta(ConnectorConfigModel.Meta):
        constraints = [live_unique("project", "name", name="pipelines_source_live_name")]


class Destination(ConnectorConfigModel):
    class Meta(ConnectorConfigModel.Meta):
        constraints = [live_unique("project", "name", name="pipelines_destination_live_name")]


class Job(SoftDeleteModel, AuditedModel):
    """Moves the selected streams of a source into a destination, on demand or on a schedule."""

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="jobs")
    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="jobs")
    streams_config = models.JSONField(default=dict, blank=True)
    frequency = models.CharField(max_length=100, blank=True)
    activate = models.BooleanField(default=True)
    advanced_settings = models.JSONField(
        default=dict, blank=True, help_text="OLake's advanced settings: max_discover_threads (streams inferred at once)"
    )

    objects = LiveScopedManager()
    all_objects = AllScopedManager()
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["name"]
        constraints = [live_unique("project", "name", name="pipelines_job_live_name")]

    @property
    def discover_threads(self) -> int | None:
        return (self.advanced_settings or {}).get("max_discover_threads")

    def __str__(self):
        return self.name

    @property
    def schedule_name(self) -> str:
        return f"pipelines job {self.pk}"


class JobTask(TrackedTask):
    """One run of a job: a sync, with what it moved, or a clear of what it wrote to the destination."""

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        SCHEDULE = "schedule"
        COMMAND = "command"

    class Kind(models.TextChoices):
        SYNC = "sync", "Sync"
        CLEAR = "clear", "Clear destination"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SYNC)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    rows_synced = models.BigIntegerField(default=0)
    bytes_synced = models.BigIntegerField(default=0)
    stream_stats = models.JSONField(default=dict, blank=True)


    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["job", "status"], name="pipelines_jobtask_job_status")]

    def __str__(self):
        return f"{self.job.name} run {self.pk}"


class StreamState(models.Model):
    """Where a job's stream stands: its cursor, advanced only after the rows are published.

    ``generation`` counts published increments; destinations name an increment by it, so a
    retry after a crash between publish and state save replaces that increment instead of
    adding it twice.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="stream_states")
    stream = models.CharField(max_length=400)
    cursor_field = models.CharField(max_length=200, blank=True)
    cursor_value = models.JSONField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "stream"], name="pipelines_streamstate_unique")]

    def __str__(self):
        return f"{self.job_id} {self.stream} @ {self.cursor_value}"


class ChangeCapture(models.Model):
    """A job's change data capture: its replication slot on the source and the position published so far.

    The row comes first, naming the slot before it is created, so a run killed while creating the
    slot or loading its snapshot leaves a slot its successor knows to drop. Slot names carry a
    random part: slots are per server, and two d2d installations may read one source.

    ``position`` is the commit LSN (as an integer) through which every change of the job's CDC
    streams is published in the destination. The slot is advanced to it only after it is saved,
    so changes past it are read again after a crash and changes at or below it are skipped.
    """

    job = models.OneToOneField(Job, on_delete=models.CASCADE, primary_key=True, related_name="change_capture")
    slot_name = models.CharField(max_length=63)
    position = models.BigIntegerField(
        null=True, blank=True, help_text="commit LSN published through, as an integer; empty until the initial load is published"
    )
    # Measured on the source at each published batch (PostgreSQL; None where the source cannot say):
    # how far the source's log has moved past ``position``, and how much log the slot keeps there.
    lag_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    slot_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    measured_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "change capture"

    def __str__(self):
        return f"{self.slot_name} @ {self.position_lsn}"

    @property
    def position_lsn(self) -> str:
        return position_text(self.position) if self.position is not None else "not loaded yet"


class ProjectSettings(models.Model):
    """A project's OLake settings: where alerts about failed runs go (the UI's System Settings)."""

    project = models.OneToOneField("accounts.Project", on_delete=models.CASCADE, primary_key=True, related_name="olake_settings")
    webhook_alert_url = models.URLField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "project settings"
        verbose_name_plural = "project settings"

    def __str__(self):
        return f"settings of {self.project_id}"


class ChunkedLoad(models.Model):
    """A big stream's full load, cut into chunks that threads, and idle workers, read at the same time.

    Each chunk is written to the destination as a durable part and marked done in the same step
    that releases its claim, so a run killed mid-load is resumed by its retry at the first chunk
    not done: the chunks done before the kill are neither read nor written again. The parts
    become visible together, when every chunk is done. The row belongs to one run (``task``); a
    later run finding it discards it and its parts, since the table has moved on since.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunked_loads")
    task = models.ForeignKey(JobTask, on_delete=models.CASCADE, related_name="chunked_loads")
    stream = models.CharField(max_length=400)
    stream_spec = models.JSONField(help_text="the stream as the run reads it: columns, keys, destination name")
    generation = models.PositiveIntegerField()
    parts_key = models.CharField(max_length=64, help_text="names the destination's private folder of parts")
    snapshot = models.CharField(
        max_length=200, blank=True, help_text="the source snapshot the current attempt reads in; empty when none is reading"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "chunked load"
        constraints = [models.UniqueConstraint(fields=["job", "stream"], name="pipelines_chunkedload_one_per_stream")]

    def __str__(self):
        return f"{self.stream} of job {self.job_id} (generation {self.generation})"


class LoadChunk(models.Model):
    """One range of a chunked load (its bounds are the source's: primary-key values or pages)."""

    load = models.ForeignKey(ChunkedLoad, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    bounds = models.JSONField()
    done = models.BooleanField(default=False)
    rows = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    cursor_max = models.JSONField(null=True, blank=True, help_text="the highest cursor value in the chunk, for incremental loads")
    loaded_by = models.CharField(max_length=200, blank=True, help_text="host, process and thread that loaded it")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["load", "index"]
        constraints = [models.UniqueConstraint(fields=["load", "index"], name="pipelines_loadchunk_unique")]

    def __str__(self):
        return f"chunk {self.index} of {self.load_id}"
