"""003's response shapes for tasks, commits and pictures."""

from labeling import conf
from labeling.models import Commit, LabelingTask, Picture, TaskType
from labeling.pictures import picture_url
from labeling.selectors import Progress
from labeling.timefmt import format_time


def base_url(request) -> str:
    """D2D_PUBLIC_URL when set (behind a proxy), else the host the client used."""
    return conf.public_url() or f"{request.scheme}://{request.get_host()}"


def task_json(task: LabelingTask, *, base: str, progress: Progress, pictures: list[Picture], with_pictures: bool) -> dict:
    """003's task fields, plus the project, goal and progress (which PATCH never changes)."""
    urls = [picture_url(picture, base=base) for picture in pictures]
    body = {
        "id": task.pk,
        "type": task.type,
        "name": task.name,
        "description": task.description,
        "size": task.size,
        "goal": task.goal,
        "start_time": format_time(task.start_time),
        "deadline": format_time(task.deadline),
        "formatter": task.formatter,
        "user_id": task.publisher_id,
        "project": task.project_id,
        "cover": urls[0] if urls else None,
        "progress": progress.as_json(),
        "created_at": format_time(task.created_at),
    }
    if with_pictures:
        body["pictures"] = urls
    return body


def commit_json(commit: Commit) -> dict:
    return {
        "user_id": commit.user_id,
        "task_id": commit.task_id,
        "commit_id": commit.pk,
        "status": commit.status,
        "size": commit.size,
        "created_at": format_time(commit.created_at),
        "expires_at": format_time(commit.expires_at),
        "uploaded_at": format_time(commit.uploaded_at),
    }


def apply_json(commit: Commit, pictures: list[Picture], *, base: str) -> dict:
    """003's apply answer; collection commits carry commit_id too, as the upload path needs it."""
    body = {
        "commit_id": commit.pk,
        "size": commit.size,
        "task_id": commit.task_id,
        "type": commit.task.type,
        "expires_at": format_time(commit.expires_at),
    }
    if commit.task.type == TaskType.ANNOTATION:
        body["pictures"] = [picture_url(picture, base=base) for picture in pictures]
    return body


def picture_json(picture: Picture, *, base: str) -> dict:
    return {
        "id": picture.pk,
        "url": picture_url(picture, base=base),
        "name": picture.original_name,
        "source": picture.source,
        "source_url": picture.source_url or None,
        "content_type": picture.content_type,
        "width": picture.width,
        "height": picture.height,
        "bytes": picture.byte_size,
        "commit_id": picture.commit_id,
        "done": getattr(picture, "is_done", None),
        "held": getattr(picture, "is_held", None),
        "created_at": format_time(picture.created_at),
    }
