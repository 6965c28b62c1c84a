"""000's task list (GET /api/v1/tasks/): its filters as one queryset, whose count and page are compiled once."""

from django.contrib.auth import get_user_model

from conversions.lifecycle import visible_tasks
from conversions.models import ConversionTask
from kernel.statements import Statement

User = get_user_model()


def _tasks(user, filters: dict):
    """The tasks the user sees that match the filters, newest first: the one place of the rule."""
    tasks = visible_tasks(user).with_contract_status()
    if "status" in filters:
        tasks = tasks.in_status(filters["status"])
    if "stage" in filters:
        tasks = tasks.filter(contract_status_db=filters["stage"])
    if "service" in filters:
        tasks = tasks.filter(service=filters["service"])
    if "created_after" in filters:
        tasks = tasks.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        tasks = tasks.filter(created_at__lt=filters["created_before"])
    return tasks.order_by("-created_at")


def _compiled_tasks(shape, user_id, stage, service):
    superuser, status, by_stage, by_service = shape
    filters = {"status": status} if status else {}
    if by_stage:
        filters["stage"] = stage
    if by_service:
        filters["service"] = service
    return _tasks(User(pk=user_id, is_superuser=superuser), filters)


# Compiled once per database and shape: superuser or not, the status word (one of a few, it picks
# the IN list), whether stage and service filter; their values are bound.
_TASKS = Statement(ConversionTask, _compiled_tasks, user_id=int, stage=str, service=str)


def task_page(user, filters: dict) -> tuple[int, list]:
    """(how many tasks match, the page of ``filters["limit"]`` from ``filters["offset"]``)."""
    offset, limit = filters["offset"], filters["limit"]
    if not user or not user.is_authenticated or "created_after" in filters or "created_before" in filters:
        tasks = _tasks(user, filters)  # a time bound is not a statement slot: the ORM builds this one
        return tasks.count(), list(tasks[offset : offset + limit])
    shape = (bool(user.is_superuser), filters.get("status"), "stage" in filters, "service" in filters)
    values = {"shape": shape, "user_id": user.pk, "stage": filters.get("stage", ""), "service": filters.get("service", "")}
    return _TASKS.count(**values), _TASKS.all(page=(limit, offset), **values)
