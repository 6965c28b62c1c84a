"""Datasets and algorithms (DID documents), orders, per-address nonces and compute jobs."""

import uuid

from django.db import models
from django.utils import timezone

from accounts.scoping import ProjectScopedQuerySet
from kernel.models import AuditedModel, LiveManager, SoftDeleteModel, TaskStatus, TrackedTask, live_unique
from kernel.scratch import remove_folders_of_ended_runs, work_root

ScopedLiveManager = LiveManager.from_queryset(ProjectScopedQuerySet)


class ServiceType(models.TextChoices):
    ACCESS = "access", "Access (download)"
    COMPUTE = "compute", "Compute to data"


class Dataset(SoftDeleteModel, AuditedModel):
    """A published asset: its DID document, services and a files list whose URLs are stored only encrypted.

    ``services`` is a list of {"index", "type", "price", "timeout", "allowRawAlgorithm",
    "trustedAlgorithms"}; ``files`` keeps what consumers may see (index, contentType, size);
    the URLs live only inside ``encrypted_files``, which only the provider can decrypt.
    """

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="compute_datasets")
    did = models.CharField("DID", max_length=200)
    name = models.CharField(max_length=300)
    metadata = models.JSONField(default=dict, blank=True, help_text="The DDO's metadata section (name, author, license…).")
    publisher_address = models.CharField(max_length=42, blank=True)
    datatoken_address = models.CharField(max_length=42, help_text="ERC-20 datatoken consumers pay with.")
    services = models.JSONField(default=list)
    files = models.JSONField(default=list, blank=True, help_text="Public file facts; never URLs.")
    encrypted_files = models.TextField(help_text="ECIES-encrypted JSON list of file objects (with their URLs).")

    objects = ScopedLiveManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [live_unique("did", name="compute_dataset_live_did")]

    def __str__(self):
        return f"{self.name} ({self.did})"

    def service(self, index) -> dict | None:
        return next((service for service in self.services if str(service.get("index")) == str(index)), None)


class Algorithm(SoftDeleteModel, AuditedModel):
    """A published algorithm: its code and the container facts Ocean describes it with."""

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="compute_algorithms")
    did = models.CharField("DID", max_length=200)
    name = models.CharField(max_length=300)
    entrypoint = models.CharField(max_length=300, default="python3 $ALGO", help_text="$ALGO is the code's path.")
    image = models.CharField(max_length=200, blank=True, help_text="Recorded for Ocean clients; d2d runs host runtimes.")
    tag = models.CharField(max_length=100, blank=True)
    code = models.TextField()

    objects = ScopedLiveManager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [live_unique("did", name="compute_algorithm_live_did")]

    def __str__(self):
        return f"{self.name} ({self.did})"


class Order(models.Model):
    """A quote from initialize and, once verified, the consumer's payment for one service of a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="orders")
    service_index = models.CharField(max_length=32)
    service_type = models.CharField(max_length=16, choices=ServiceType.choices)
    consumer_address = models.CharField(max_length=42, db_index=True)
    provider_address = models.CharField(max_length=42)
    datatoken_address = models.CharField(max_length=42)
    num_tokens = models.DecimalField(max_digits=40, decimal_places=18)
    tx_id = models.CharField("transaction id", max_length=100, null=True, blank=True, unique=True)
    paid = models.BooleanField(default=False, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["dataset", "consumer_address", "service_index"], name="compute_order_lookup")]

    def __str__(self):
        state = "paid" if self.paid else "quoted"
        return f"{self.consumer_address[:10]}… {self.service_type} of {self.dataset.did} ({state})"


class Nonce(models.Model):
    """The last nonce accepted from an address; a signed call must carry a greater one."""

    address = models.CharField(max_length=42, unique=True)
    value = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["address"]

    def __str__(self):
        return f"{self.address}: {self.value}"


class OceanStatus(models.IntegerChoices):
    STARTED = 1, "Job started"
    CONFIGURING = 2, "Configuring volumes"
    RUNNING = 3, "Running algorithm"
    FILTERING = 4, "Filtering results"
    PUBLISHING = 5, "Publishing results"
    COMPLETED = 6, "Job completed"
    STOPPED = 7, "Job stopped"
    DELETED = 8, "Job deleted successfully"


WORKDIR_PREFIX = "compute-"  # a job's scratch folder is work_root()/compute-<jobId>/


def new_job_id() -> str:
    return uuid.uuid4().hex


class ComputeJob(TrackedTask):
    """An algorithm run over a dataset's files in the sandbox, on the kernel's task runner."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.CharField("jobId", max_length=64, unique=True, default=new_job_id)
    owner_address = models.CharField(max_length=42, db_index=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="compute_jobs")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="compute_jobs")
    algorithm = models.ForeignKey(Algorithm, null=True, blank=True, on_delete=models.PROTECT, related_name="compute_jobs")
    algorithm_meta = models.JSONField(default=dict, blank=True, help_text="Raw algorithm: rawcode and container.")
    output = models.JSONField(default=dict, blank=True)
    stage = models.PositiveSmallIntegerField(choices=OceanStatus.choices, default=OceanStatus.STARTED)
    results = models.JSONField(default=list, blank=True, help_text="[{index, filename, size, path}] in storage.")
    log_path = models.CharField(max_length=500, blank=True, help_text="The algorithm's stdout and stderr in storage.")
    stop_reason = models.CharField(max_length=500, blank=True)
    sandbox_pid = models.PositiveIntegerField(null=True, blank=True, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True, help_text="Results deleted by the owner (status 8).")


    @classmethod
    def sweep_scratch(cls) -> int:
        """Remove job folders no attempt is using (the job ended, or is gone); returns how many.

        The kernel's hourly sweep calls this on every tracked-task model, so it lives here and
        needs only the kernel's scratch helpers and the folder name compute.execution uses.
        """
        folders = {
            folder.name.removeprefix(WORKDIR_PREFIX): [folder]
            for folder in work_root().glob(f"{WORKDIR_PREFIX}*")
            if folder.is_dir()
        }
        return remove_folders_of_ended_runs(cls, folders, field="job_id")

    @property
    def workdir_name(self) -> str:
        """The job's scratch folder under the kernel's work root; its attempts work in folders inside it."""
        return f"{WORKDIR_PREFIX}{self.job_id}"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"compute {self.job_id[:12]} on {self.dataset_id}"

    @property
    def document_id(self) -> str:
        return self.dataset.did

    @property
    def ocean_status(self) -> int:
        """TrackedTask status in 002's codes: 1..5 while it runs, 6 done, 7 stopped or failed, 8 deleted."""
        if self.removed_at:
            return OceanStatus.DELETED
        if self.status == TaskStatus.SUCCEEDED:
            return OceanStatus.COMPLETED
        if self.status in (TaskStatus.CANCELLED, TaskStatus.FAILED) or self.cancel_requested:
            return OceanStatus.STOPPED
        if self.status == TaskStatus.RUNNING:
            return self.stage
        return OceanStatus.STARTED

    @property
    def ocean_status_text(self) -> str:
        """Exactly 002's description of the status code; why a job stopped is in ocean_status_reason."""
        return OceanStatus(self.ocean_status).label

    @property
    def ocean_status_reason(self) -> str:
        """Why a job stopped (status 7): a limit, the owner, or a failure of the provider; blank otherwise."""
        if self.ocean_status != OceanStatus.STOPPED:
            return ""
        if self.stop_reason:
            return self.stop_reason
        if self.status == TaskStatus.FAILED:
            return "the provider failed to run it (its staff see why in the job's log)"
        return ""
