"""Domain errors raised by services; each contract's exception handler turns them into its own body."""


class DomainError(Exception):
    """A request that the domain refuses; ``status`` is the HTTP status a view should answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TaskAlreadyQueued(Conflict):
    code = "task_already_queued"


class TaskCancelled(Exception):
    """Raised inside a running task when a cancel was requested; the runner marks it CANCELLED."""


class TaskFailed(Exception):
    """Raised inside a running task for a failure another attempt cannot fix (bad input, an algorithm's error).

    The runner marks the task FAILED at once with the message as its error; any other exception
    is retried up to the task's maximum attempts, and so is a worker that died.
    """


class LeaseLost(Exception):
    """Raised inside a running task whose attempt no longer holds the lease (it lapsed, or a
    successor took it): the attempt stops at once and writes nothing more."""
