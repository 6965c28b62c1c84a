"""Reads that span relations: scoped lookups, the pool of pictures still to do, and progress."""

from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce

from accounts.models import Role
from accounts.scoping import membership_of
from labeling.errors import AccessDenied, NoSuchCommit, NoSuchTask
from labeling.models import (
    COUNTED_STATUSES,
    Annotation,
    Commit,
    CommitStatus,
    LabelingTask,
    Picture,
    PictureHold,
    PictureSource,
    TaskType,
)

PREVIEW_PICTURES = 10


def user_can(user, task: LabelingTask, role: str) -> bool:
    if user.is_superuser:
        return True
    membership = membership_of(user, task.project)
    return membership is not None and membership.allows(role)


def task_get_for_user(user, task_id, *, role: str | None = None) -> LabelingTask:
    """The task if the user is in its project (else 404, as if it did not exist), with ``role`` (else 403)."""
    task = LabelingTask.objects.for_user(user).filter(pk=task_id).select_related("project").first()
    if task is None:
        raise NoSuchTask()
    if role and not user_can(user, task, role):
        raise AccessDenied(f"this needs the {role} role in project {task.project_id}")
    return task


def commit_get_for_user(user, commit_id) -> Commit:
    """A commit of a task the user can see; only its author works in it (others: 403)."""
    commit = Commit.objects.for_user(user).filter(pk=commit_id).select_related("task", "task__project").first()
    if commit is None:
        raise NoSuchCommit(f"No such commit: {commit_id}")
    if commit.user_id != user.pk:
        raise AccessDenied("this commit belongs to another user")
    return commit


def visible_pictures(task_ids) -> QuerySet:
    """Pictures a task shows: the publisher's, and collected ones once their commit is submitted."""
    return Picture.objects.filter(task_id__in=task_ids).filter(
        Q(commit__isnull=True) | Q(commit__status__in=COUNTED_STATUSES)
    )


def pictures_with_state(task: LabelingTask) -> QuerySet:
    """The task's pictures, each marked done (a counted result) and held (by an open commit)."""
    counted = Annotation.objects.filter(picture=OuterRef("pk"), commit__status__in=COUNTED_STATUSES)
    held = PictureHold.objects.filter(picture=OuterRef("pk"), active=True)
    return visible_pictures([task.pk]).annotate(is_done=Exists(counted), is_held=Exists(held)).order_by("id")


def tasks_for_listing(user, *, project_id: str | None = None, task_type: int | None = None) -> QuerySet:
    tasks = LabelingTask.objects.for_user(user).select_related("project")
    if project_id:
        tasks = tasks.filter(project_id=project_id)
    if task_type is not None:
        tasks = tasks.filter(type=task_type)
    return tasks.order_by("id")


def with_previews(tasks: list[LabelingTask]) -> list[LabelingTask]:
    """Up to ten pictures per task in one query (a sliced prefetch is a window function)."""
    previews = visible_pictures([task.pk for task in tasks]).order_by("id")[:PREVIEW_PICTURES]
    prefetch_related_objects(tasks, Prefetch("pictures", queryset=previews, to_attr="preview_pictures"))
    return tasks


def done_pictures(task: LabelingTask) -> QuerySet:
    """Annotated (in a submitted commit that was not rejected), or collected by such a commit."""
    if task.type == TaskType.COLLECTION:
        return Picture.objects.filter(task=task, source=PictureSource.COLLECTED, commit__status__in=COUNTED_STATUSES)
    counted = Annotation.objects.filter(picture=OuterRef("pk"), commit__status__in=COUNTED_STATUSES)
    return Picture.objects.filter(task=task).exclude(source=PictureSource.COLLECTED).filter(Exists(counted))


def pool(task: LabelingTask) -> QuerySet:
    """Pictures apply may hand out: not done and not held by an open commit."""
    counted = Annotation.objects.filter(picture=OuterRef("pk"), commit__status__in=COUNTED_STATUSES)
    held = PictureHold.objects.filter(picture=OuterRef("pk"), active=True)
    return (
        Picture.objects.filter(task=task)
        .exclude(source=PictureSource.COLLECTED)
        .filter(~Exists(counted), ~Exists(held))
        .order_by("id")
    )


@dataclass
class Progress:
    done: int
    total: int | None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None if self.total is None else 0
        return min(100, round(100 * self.done / self.total))

    def as_json(self) -> dict:
        return {"done": self.done, "total": self.total, "percent": self.percent}


def task_progress(task: LabelingTask) -> Progress:
    done = done_pictures(task).count()
    if task.type == TaskType.COLLECTION:
        return Progress(done, task.goal)
    total = Picture.objects.filter(task=task).exclude(source=PictureSource.COLLECTED).count()
    return Progress(done, total)


def tasks_progress(tasks: list[LabelingTask]) -> dict[int, Progress]:
    """Progress of a page of tasks in two queries instead of two per task."""
    ids = [task.pk for task in tasks]
    counted = Annotation.objects.filter(picture=OuterRef("pk"), commit__status__in=COUNTED_STATUSES)
    rows = (
        Picture.objects.filter(task_id__in=ids)
        .values("task_id")
        .annotate(
            own=Count("pk", filter=~Q(source=PictureSource.COLLECTED)),
            annotated=Count("pk", filter=~Q(source=PictureSource.COLLECTED) & Q(Exists(counted))),
            collected=Count("pk", filter=Q(source=PictureSource.COLLECTED, commit__status__in=COUNTED_STATUSES)),
        )
    )
    by_task = {row["task_id"]: row for row in rows}
    result = {}
    for task in tasks:
        row = by_task.get(task.pk, {"own": 0, "annotated": 0, "collected": 0})
        if task.type == TaskType.COLLECTION:
            result[task.pk] = Progress(row["collected"], task.goal)
        else:
            result[task.pk] = Progress(row["annotated"], row["own"])
    return result


def _count_of(pictures: QuerySet) -> Subquery:
    counted = pictures.order_by().values("task_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_progress_counts(tasks: QuerySet) -> QuerySet:
    """Tasks annotated with what progress needs, read by progress_from_counts (lists without N+1)."""
    counted = Annotation.objects.filter(picture=OuterRef("pk"), commit__status__in=COUNTED_STATUSES)
    own = Picture.objects.filter(task=OuterRef("pk")).exclude(source=PictureSource.COLLECTED)
    collected = Picture.objects.filter(
        task=OuterRef("pk"), source=PictureSource.COLLECTED, commit__status__in=COUNTED_STATUSES
    )
    return tasks.annotate(
        own_count=_count_of(own),
        annotated_count=_count_of(own.filter(Exists(counted))),
        collected_count=_count_of(collected),
    )


def progress_from_counts(task: LabelingTask) -> Progress:
    if task.type == TaskType.COLLECTION:
        return Progress(task.collected_count, task.goal)
    return Progress(task.annotated_count, task.own_count)


def commit_rest(commit: Commit) -> int:
    """What is left to do in a commit: held pictures without a result, or the quota not yet collected."""
    if commit.task.type == TaskType.COLLECTION:
        return max(0, commit.size - commit.collected_pictures.count())
    annotated = Annotation.objects.filter(commit=commit, picture=OuterRef("picture"))
    return commit.holds.filter(active=True).exclude(Exists(annotated)).count()


def commits_for_listing(user, *, user_id: int | None = None, task_id: int | None = None) -> QuerySet:
    """Editors see every commit of their projects' tasks; other members see their own."""
    commits = Commit.objects.for_user(user)
    if not user.is_superuser:
        editor_tasks = LabelingTask.objects.for_user(user, role=Role.EDITOR).values("pk")
        commits = commits.filter(Q(user=user) | Q(task__in=editor_tasks))
    if user_id is not None:
        commits = commits.filter(user_id=user_id)
    if task_id is not None:
        commits = commits.filter(task_id=task_id)
    return commits.order_by("id")


def outstanding_quota(task: LabelingTask, *, now) -> int:
    """Pictures promised to open collection commits and not yet collected."""
    open_commits = Commit.objects.filter(task=task, status=CommitStatus.OPEN, expires_at__gt=now)
    collected = (
        Picture.objects.filter(commit=OuterRef("pk")).values("commit").annotate(n=Count("pk")).values("n")
    )
    rows = open_commits.annotate(
        got=Coalesce(Subquery(collected, output_field=IntegerField()), Value(0))
    ).values_list("size", "got")
    return sum(max(0, size - got) for size, got in rows)
