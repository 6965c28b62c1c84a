"""003's error bodies: each carries the title its document shows, rendered by labeling's views."""

from kernel.errors import DomainError, NotFound, PermissionDenied


class JsonError(DomainError):
    """A missing or malformed field: 003's {"status": 400, "title": "json error", ...}."""

    title = "json error"


class CreateTaskFail(DomainError):
    # 003 shows this title (with its trailing space) when a task has no name.
    title = "create task fail "


class NoSuchTask(NotFound):
    title = "No such task"

    def __init__(self, message: str = "No such task", **kwargs):
        super().__init__(message, **kwargs)


class NoSuchProject(NotFound):
    title = "No such project"


class NoSuchCommit(NotFound):
    title = "No such commit"


class FileNotFound(NotFound):
    title = "File not found"


class AccessDenied(PermissionDenied):
    """Rendered as 003's Spring-style 403 body whatever the message."""


class UnfinishedCommit(DomainError):
    title = "you have unfinished commit of this task "


class TaskNotOpen(DomainError):
    title = "task not open"


class NoPicturesLeft(DomainError):
    title = "no pictures left"


class CommitNotOpen(DomainError):
    title = "commit not open"


class AnnotationError(DomainError):
    title = "annotation error"


class PictureError(DomainError):
    title = "picture error"


class BadPictureUrl(DomainError):
    title = "bad picture url"
