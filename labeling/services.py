"""What labeling does: publish tasks and pictures, hand out work, take results, expire and review commits."""

from datetime import timedelta
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import Project, Role
from accounts.scoping import project_for_user
from kernel.errors import PermissionDenied
from labeling import conf, fetch, selectors
from labeling.errors import (
    AccessDenied,
    AnnotationError,
    CommitNotOpen,
    JsonError,
    NoPicturesLeft,
    NoSuchProject,
    PictureError,
    TaskNotOpen,
    UnfinishedCommit,
)
from labeling.formatter import annotation_check, annotation_read, description_clean, formatter_clean
from labeling.models import Annotation, Commit, CommitStatus, LabelingTask, Picture, PictureHold, PictureSource, TaskType
from labeling.pictures import content_file, picture_id_from_url, picture_prepare, pictures_store

# Fields a PATCH may change. progress and labels (the formatter's tags) never change this way (003).
EDITABLE_FIELDS = ("name", "description", "size", "goal", "start_time", "deadline", "type")
APPLY_ATTEMPTS = 5


def task_project(*, user, project_id: str | None) -> Project:
    """The project a new task goes to: the one named, else D2D_LABELING_DEFAULT_PROJECT; editors only."""
    project_id = project_id or conf.default_project()
    try:
        return project_for_user(user, project_id, role=Role.EDITOR)
    except Http404:
        raise NoSuchProject(f"No such project: {project_id}") from None
    except PermissionDenied as exc:
        raise AccessDenied(exc.message) from None


def task_create(
    *,
    user,
    project: Project,
    type: int,
    name: str,
    description: str = "",
    size: int = 10,
    goal: int | None = None,
    start_time=None,
    deadline=None,
    formatter=None,
) -> LabelingTask:
    _times_check(start_time, deadline)
    return LabelingTask.objects.create(
        project=project,
        publisher=user,
        created_by=user,
        updated_by=user,
        type=type,
        name=name,
        description=description_clean(description),
        size=size,
        goal=goal,
        start_time=start_time,
        deadline=deadline,
        formatter=formatter_clean(formatter),
    )


def task_update(*, task: LabelingTask, by, changes: dict) -> LabelingTask:
    """Change only the fields given; the type is fixed once work has been handed out."""
    changes = {key: value for key, value in changes.items() if key in EDITABLE_FIELDS}
    if "type" in changes and changes["type"] != task.type and task.commits.exists():
        raise JsonError("type can not change once the task has commits")
    if "description" in changes:
        changes["description"] = description_clean(changes["description"])
    for field, value in changes.items():
        setattr(task, field, value)
    _times_check(task.start_time, task.deadline)
    task.updated_by = by
    task.save(update_fields=[*changes, "updated_by", "updated_at"])
    return task


def _times_check(start_time, deadline) -> None:
    if start_time and deadline and deadline < start_time:
        raise JsonError("deadline is before start_time")


def pictures_upload(*, task: LabelingTask, user, files) -> list[Picture]:
    """The publisher's own pictures, all or none: one bad file stores nothing."""
    _count_check(files)
    prepared = [
        picture_prepare(task=task, handle=upload, name=upload.name, source=PictureSource.UPLOAD, user=user)
        for upload in files
    ]
    with transaction.atomic():
        return pictures_store(prepared)


def pictures_import(*, task: LabelingTask, user, urls: list[str]) -> list[Picture]:
    """Download pictures from http(s) URLs that resolve to public addresses only (see labeling.fetch)."""
    _count_check(urls, what="urls")
    downloads = []
    for url in urls:
        content, _content_type, final_url = fetch.fetch(url)
        name = PurePosixPath(unquote(urlsplit(final_url).path)).name or "picture"
        downloads.append((content, name, url))
    prepared = [
        picture_prepare(
            task=task, handle=content_file(content, name), name=name, source=PictureSource.URL, user=user, source_url=url
        )
        for content, name, url in downloads
    ]
    with transaction.atomic():
        return pictures_store(prepared)


def pictures_delete(*, pictures) -> int:
    """Remove pictures and, once the rows are gone for good, their files from storage."""
    pictures = list(pictures)
    names = [(picture.file.storage, picture.file.name) for picture in pictures if picture.file.name]
    with transaction.atomic():
        count, _ = Picture.objects.filter(pk__in=[picture.pk for picture in pictures]).delete()
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])
    return count


def holds_release(*, holds) -> int:
    """Hand held pictures back to the pool now; their commit can no longer upload a result for them."""
    return holds.filter(active=True).update(active=False, released_at=timezone.now())


def _count_check(items, *, what: str = "file") -> None:
    if not items:
        raise JsonError(f"{what} can not be null")
    limit = conf.max_files_per_request()
    if len(items) > limit:
        raise PictureError(f"at most {limit} pictures per request")


def commits_expire(*, task: LabelingTask | None = None, now=None) -> int:
    """Open commits past their time become expired and their pictures go back to the pool."""
    now = now or timezone.now()
    due = Commit.objects.due(now)
    if task is not None:
        due = due.filter(task=task)
    with transaction.atomic():
        ids = list(due.values_list("pk", flat=True))
        if not ids:
            return 0
        count = Commit.objects.filter(pk__in=ids, status=CommitStatus.OPEN).update(status=CommitStatus.EXPIRED)
        PictureHold.objects.filter(commit_id__in=ids, active=True).update(active=False, released_at=now)
    return count


def task_apply(*, task: LabelingTask, user) -> tuple[Commit, list[Picture]]:
    """A new commit for the caller: pictures held for it (annotation) or a quota to collect (collection).

    Concurrent callers each get different pictures: candidates are locked with
    SKIP LOCKED (PostgreSQL), and the partial unique index on active holds refuses a
    picture another transaction took after this one's snapshot; then we try again.
    """
    now = timezone.now()
    if task.start_time and now < task.start_time:
        raise TaskNotOpen(f"task {task.pk} starts at {task.start_time.isoformat()}")
    if task.deadline and now > task.deadline:
        raise TaskNotOpen(f"task {task.pk} ended at {task.deadline.isoformat()}")
    commits_expire(task=task, now=now)
    for attempt in range(APPLY_ATTEMPTS):
        try:
            with transaction.atomic():
                _unfinished_check(task, user)
                if task.type == TaskType.COLLECTION:
                    return _apply_collection(task, user, now), []
                return _apply_annotation(task, user, now)
        except IntegrityError:
            if attempt == APPLY_ATTEMPTS - 1:
                raise
            _unfinished_check(task, user)  # the same user applying twice at once lands here
    raise AssertionError("unreachable")


def _unfinished_check(task: LabelingTask, user) -> None:
    commit = Commit.objects.filter(task=task, user=user, status=CommitStatus.OPEN).select_related("task").first()
    if commit is not None:
        rest = selectors.commit_rest(commit)
        raise UnfinishedCommit(f"commit_id: {commit.pk}, rest: {rest} entries, user_id: {user.pk} task_id: {task.pk}")


def _new_commit(task, user, now, size) -> Commit:
    return Commit.objects.create(
        task=task, user=user, size=size, created_at=now, expires_at=now + timedelta(seconds=conf.commit_ttl_seconds())
    )


def _apply_annotation(task: LabelingTask, user, now) -> tuple[Commit, list[Picture]]:
    candidates = selectors.pool(task)
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    pictures = list(candidates[: task.size])
    if not pictures:
        raise NoPicturesLeft(f"every picture of task {task.pk} is annotated or held by another commit")
    commit = _new_commit(task, user, now, len(pictures))
    PictureHold.objects.bulk_create([PictureHold(commit=commit, picture=picture, created_at=now) for picture in pictures])
    return commit, pictures


def _apply_collection(task: LabelingTask, user, now) -> Commit:
    quota = task.size
    if task.goal is not None:
        # One collector at a time counts what is left, so quotas never add up past the goal.
        LabelingTask.objects.select_for_update().filter(pk=task.pk).first()
        left = task.goal - selectors.done_pictures(task).count() - selectors.outstanding_quota(task, now=now)
        quota = min(quota, left)
    if quota <= 0:
        raise NoPicturesLeft(f"task {task.pk} has collected or promised all {task.goal} pictures it wants")
    return _new_commit(task, user, now, quota)


def _open_check(commit: Commit) -> None:
    # An overdue commit is refused even before anything marks it expired: its pictures may
    # already be in someone else's hands.
    if commit.is_expired:
        raise CommitNotOpen(f"commit {commit.pk} expired at {commit.expires_at.isoformat()}; apply for the task again")
    if commit.status != CommitStatus.OPEN:
        raise CommitNotOpen(f"commit {commit.pk} is {commit.status}; apply for the task again")


def commit_upload_annotations(*, commit: Commit, results: list[dict]) -> list[Annotation]:
    """Store each picture's result as sent, checked against the formatter when it is JSON; close the commit.

    Pictures of the commit without a result go back to the pool with the others' holds released.
    """
    task = commit.task
    if task.type != TaskType.ANNOTATION:
        raise JsonError(f"task {task.pk} is a collection task: upload pictures to /api/commits/pictures/{commit.pk}")
    with transaction.atomic():
        commit = Commit.objects.select_for_update().select_related("task").get(pk=commit.pk)
        _open_check(commit)
        held = set(commit.holds.filter(active=True).values_list("picture_id", flat=True))
        annotations, seen = [], set()
        for index, item in enumerate(results):
            where = f"result[{index}]"
            if not isinstance(item, dict):
                raise AnnotationError(f"{where} must be {{picture_url, annotation_json}}")
            picture_id = picture_id_from_url(item.get("picture_url") or item.get("picture_id"))
            if picture_id is None or picture_id not in held:
                raise AnnotationError(f"{where}: {item.get('picture_url')!r} is not a picture of commit {commit.pk}")
            if picture_id in seen:
                raise AnnotationError(f"{where}: picture {picture_id} appears twice")
            seen.add(picture_id)
            if "annotation_json" not in item or item["annotation_json"] is None:
                raise AnnotationError(f"{where}: annotation_json can not be null")
            text, parsed = annotation_read(item["annotation_json"])
            annotation_check(parsed, task.formatter, where=where)
            annotations.append(Annotation(commit=commit, picture_id=picture_id, annotation_json=text, parsed=parsed))
        Annotation.objects.bulk_create(annotations)
        _close(commit)
    return annotations


def commit_upload_pictures(*, commit: Commit, user, files) -> list[Picture]:
    """Collected pictures for a collection commit; the commit closes when its quota is met."""
    task = commit.task
    if task.type != TaskType.COLLECTION:
        raise JsonError(f"task {task.pk} is an annotation task: upload results to /api/commits/")
    _count_check(files)
    prepared = [
        picture_prepare(task=task, handle=upload, name=upload.name, source=PictureSource.COLLECTED, user=user, commit=commit)
        for upload in files
    ]
    with transaction.atomic():
        commit = Commit.objects.select_for_update().select_related("task").get(pk=commit.pk)
        _open_check(commit)
        have = commit.collected_pictures.count()
        if have + len(files) > commit.size:
            raise PictureError(f"commit {commit.pk} asks for {commit.size} pictures; {have} already uploaded")
        pictures = pictures_store(prepared)
        if have + len(pictures) >= commit.size:
            _close(commit)
    return pictures


def commit_finish(*, commit: Commit) -> Commit:
    """Submit a collection commit before its quota is met (POST /api/commits/ with task_type 1)."""
    with transaction.atomic():
        commit = Commit.objects.select_for_update().select_related("task").get(pk=commit.pk)
        _open_check(commit)
        if not commit.collected_pictures.exists():
            raise JsonError(f"commit {commit.pk} has no pictures yet: upload them to /api/commits/pictures/{commit.pk}")
        _close(commit)
    return commit


def _close(commit: Commit) -> None:
    now = timezone.now()
    commit.status = CommitStatus.UPLOADED
    commit.uploaded_at = now
    commit.save(update_fields=["status", "uploaded_at"])
    commit.holds.filter(active=True).update(active=False, released_at=now)


def commit_review(*, commit: Commit, accept: bool, by, note: str = "") -> Commit:
    """Accept or reject an uploaded commit; a rejected commit's pictures are to be done again."""
    with transaction.atomic():
        commit = Commit.objects.select_for_update().get(pk=commit.pk)
        if commit.status not in (CommitStatus.UPLOADED, CommitStatus.ACCEPTED, CommitStatus.REJECTED):
            raise CommitNotOpen(f"commit {commit.pk} is {commit.status}; only uploaded commits are reviewed")
        commit.status = CommitStatus.ACCEPTED if accept else CommitStatus.REJECTED
        commit.reviewed_at = timezone.now()
        commit.reviewed_by = by
        commit.review_note = note
        commit.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_note"])
    return commit
