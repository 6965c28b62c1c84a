"""Labeling tasks, their pictures, the commits users work in, the holds on pictures, and annotations."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import ProjectScopedQuerySet
from kernel.models import AuditedModel, LiveManager, SoftDeleteModel


class TaskType(models.IntegerChoices):
    ANNOTATION = 0, "Annotation"
    COLLECTION = 1, "Collection"


class LabelingTask(SoftDeleteModel, AuditedModel):
    """What a publisher asks for: annotate its pictures, or collect new ones.

    ``size`` is the work of one commit: how many pictures apply hands out (annotation)
    or how many a collector is asked for (collection). ``goal`` caps the pictures a
    collection task wants in all; blank means no cap.
    """

    Type = TaskType

    project = models.ForeignKey("accounts.Project", on_delete=models.CASCADE, related_name="labeling_tasks")
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="labeling_tasks"
    )
    type = models.PositiveSmallIntegerField(choices=TaskType.choices, default=TaskType.ANNOTATION)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Sanitized HTML.")
    size = models.PositiveIntegerField(default=10, help_text="Pictures per commit.")
    goal = models.PositiveIntegerField(null=True, blank=True, help_text="Collection: pictures wanted in all.")
    start_time = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    formatter = models.JSONField(default=dict, blank=True, help_text="{tags: [{name, description, attributes}]}")

    objects = LiveManager.from_queryset(ProjectScopedQuerySet)()

    class Meta:
        ordering = ["id"]
        verbose_name = "labeling task"

    def __str__(self):
        return f"#{self.pk} {self.name}"

    @property
    def is_annotation(self) -> bool:
        return self.type == TaskType.ANNOTATION


def picture_upload_to(picture: "Picture", filename: str) -> str:
    # Stored names are ours (a uuid): a client's file name never reaches a storage path.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"labeling/tasks/{picture.task_id}/{uuid.uuid4().hex}{suffix}"


class PictureSource(models.TextChoices):
    UPLOAD = "upload", "Uploaded by the publisher"
    URL = "url", "Imported from a URL"
    COLLECTED = "collected", "Collected by a commit"


class PictureQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(task__in=LabelingTask.objects.for_user(user).values("pk"))

    def viewable_by(self, user):
        """for_user, less the pictures other members collected in commits not yet submitted.

        A collected picture is the collector's work in progress: its commit's author and the
        project's editors (who review commits) see it at once, other members once it counts.
        """
        visible = self.for_user(user)
        if user.is_superuser:
            return visible
        editor_tasks = LabelingTask.objects.for_user(user, role=Role.EDITOR).values("pk")
        return visible.filter(
            models.Q(commit__isnull=True)
            | models.Q(commit__status__in=COUNTED_STATUSES)
            | models.Q(commit__user=user)
            | models.Q(task__in=editor_tasks)
        )


class Picture(models.Model):
    """One file of a task, kept in the default storage and served by picture_file (access-checked)."""

    Source = PictureSource

    task = models.ForeignKey(LabelingTask, on_delete=models.CASCADE, related_name="pictures")
    file = models.FileField(upload_to=picture_upload_to, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    byte_size = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=PictureSource.choices, default=PictureSource.UPLOAD)
    source_url = models.URLField(max_length=2000, blank=True)
    commit = models.ForeignKey(
        "Commit", null=True, blank=True, on_delete=models.CASCADE, related_name="collected_pictures"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PictureQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["task", "id"], name="labeling_picture_task")]

    def __str__(self):
        return f"picture {self.pk} of task {self.task_id}"

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.file.name).name


class CommitStatus(models.TextChoices):
    OPEN = "open", "Open (pictures held)"
    UPLOADED = "uploaded", "Uploaded, waiting for review"
    EXPIRED = "expired", "Expired"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


# Commits whose work counts toward a task's progress (a rejected commit's work goes back to the pool).
COUNTED_STATUSES = (CommitStatus.UPLOADED, CommitStatus.ACCEPTED)


class CommitQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(task__in=LabelingTask.objects.for_user(user).values("pk"))

    def due(self, now=None):
        return self.filter(status=CommitStatus.OPEN, expires_at__lte=now or timezone.now())


class Commit(models.Model):
    """One user's share of a task: the pictures handed out by apply, or a quota of pictures to collect."""

    Status = CommitStatus

    task = models.ForeignKey(LabelingTask, on_delete=models.CASCADE, related_name="commits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labeling_commits")
    status = models.CharField(max_length=16, choices=CommitStatus.choices, default=CommitStatus.OPEN, db_index=True)
    size = models.PositiveIntegerField(default=0, help_text="Pictures handed out, or the collection quota.")
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    expires_at = models.DateTimeField()
    uploaded_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)

    objects = CommitQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # 003: "you have unfinished commit of this task"; the database holds the line under races.
            models.UniqueConstraint(
                fields=["task", "user"], condition=models.Q(status="open"), name="labeling_commit_one_open"
            )
        ]

    def __str__(self):
        return f"commit {self.pk} of {self.user} on task {self.task_id} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return self.status == CommitStatus.EXPIRED or (
            self.status == CommitStatus.OPEN and self.expires_at <= timezone.now()
        )


class PictureHold(models.Model):
    """A lock row (as Label Studio's task locks): a picture handed to a commit, until upload or expiry.

    Rows stay after release as the record of what each commit was given; only an
    active row holds, and the partial unique index lets a picture have one at a time.
    """

    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="holds")
    picture = models.ForeignKey(Picture, on_delete=models.CASCADE, related_name="holds")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["picture"], condition=models.Q(active=True), name="labeling_hold_one_active"),
            models.UniqueConstraint(fields=["commit", "picture"], name="labeling_hold_once_per_commit"),
        ]

    def __str__(self):
        return f"picture {self.picture_id} held by commit {self.commit_id}{'' if self.active else ' (released)'}"


class Annotation(models.Model):
    """One picture's result in one commit, stored exactly as sent (JSON or XML text)."""

    picture = models.ForeignKey(Picture, on_delete=models.CASCADE, related_name="annotations")
    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="annotations")
    annotation_json = models.TextField()
    parsed = models.JSONField(null=True, blank=True, editable=False, help_text="The text read as JSON, if it is JSON.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["commit", "picture"], name="labeling_annotation_once")]

    def __str__(self):
        return f"annotation of picture {self.picture_id} in commit {self.commit_id}"
