"""What clients do to conversion tasks: register, add assets, upload, submit, cancel, delete."""

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import ROLE_RANK, Membership, Project, Role
from accounts.scoping import project_for_user
from conversions import files
from conversions.converters import service_get
from conversions.converters.base import extension_of
from conversions.models import ConversionTask, InputAsset, ResultFile, Stage
from kernel.errors import Conflict, DomainError, NotFound, PermissionDenied
from kernel.models import ACTIVE_STATUSES
from kernel.runner import task_cancel, task_enqueue, task_transition
from kernel.statements import Statement, attach

User = get_user_model()


def visible_tasks(user):
    """Tasks of the user's projects. Without for_user's DISTINCT: a user has one membership per
    project, so the join cannot repeat a row, and DISTINCT over JSON columns is costly."""
    tasks = ConversionTask.objects.all()
    if not user or not user.is_authenticated:
        return tasks.none()
    if user.is_superuser:
        return tasks
    return tasks.filter(project__memberships__user=user)


def visible_task_statement(shape=None) -> Statement:
    """visible_tasks(user).filter(pk=task_id), shaped by ``shape`` (a function of a queryset),
    compiled once per database and kind of user (kernel/statements.py): per-task requests all
    start with it. Its shape is whether the user is a superuser, all visible_tasks reads of the
    user besides the id."""
    return Statement(
        ConversionTask,
        lambda superuser, user_id, task_id: (shape or _same)(
            visible_tasks(User(pk=user_id, is_superuser=superuser))
        ).filter(pk=task_id),
        user_id=int,
        task_id=uuid.UUID,
    )


def _same(tasks):
    return tasks


_VISIBLE_TASK = visible_task_statement()


def visible_task(user, task_id, statement: Statement = _VISIBLE_TASK):
    """The task if the user may see it, else None (also for a malformed id): one compiled query."""
    if not user or not user.is_authenticated:
        return None
    try:
        return statement.first(shape=bool(user.is_superuser), user_id=user.pk, task_id=task_id)
    except ValueError:
        return None


_INPUTS = Statement(InputAsset, lambda shape, task_id: InputAsset.objects.filter(task_id=task_id), task_id=uuid.UUID)
_RESULTS = Statement(ResultFile, lambda shape, task_id: ResultFile.objects.filter(task_id=task_id), task_id=uuid.UUID)


def with_files(task: ConversionTask) -> ConversionTask:
    """The task with its inputs and results read by compiled statements (kernel/statements.py),
    as ``task.inputs.all()`` and ``task.results.all()`` answer them: what every 000 task answer shows."""
    attach(task, "inputs", _INPUTS.all(task_id=task.pk))
    attach(task, "results", _RESULTS.all(task_id=task.pk))
    return task


def task_for_user(user, task_id, *, role: str = Role.VIEWER, shape=None) -> ConversionTask:
    """The task if the user may see it (404 otherwise, also for a malformed id); 403 if the role is too low.

    ``shape`` (a function of a queryset) may annotate or narrow the columns of the one query, e.g.
    the status's asset counts; it is applied to the tasks the user may see.
    """
    if shape is None:
        task = visible_task(user, task_id)
    else:
        try:
            task = shape(visible_tasks(user)).get(pk=task_id)
        except (ConversionTask.DoesNotExist, ValueError, ValidationError):
            task = None
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if role != Role.VIEWER:
        project_for_user(user, task.project_id, role=role)
    return task


def project_for_new_task(user, project_id: str | None) -> Project:
    """The project named in the request, else D2D_CONVERSIONS_PROJECT, else the caller's first editable one."""
    project_id = project_id or settings.D2D_CONVERSIONS_PROJECT
    if project_id:
        return project_for_user(user, project_id, role=Role.EDITOR)
    editable = [name for name, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role.EDITOR]]
    membership = (
        Membership.objects.filter(user=user, role__in=editable, project__deleted_at__isnull=True).order_by("project_id").first()
    )
    if membership is None:
        raise PermissionDenied("you are not an editor of any project; name one with 'project'")
    return membership.project


def task_register(*, user, service: str | None = None, params=None, project_id: str | None = None) -> ConversionTask:
    """000 step 4 / 001 create: check the service and its parameters, then create the task."""
    declared = service_get(service or settings.D2D_CONVERSIONS_DEFAULT_SERVICE)
    checked = declared.validate_params(params)
    project = project_for_new_task(user, project_id)
    return ConversionTask.objects.create(
        project=project,
        owner=user,
        service=declared.name,
        params=checked,
        assets_per_batch=settings.D2D_CONVERSIONS_ASSETS_PER_BATCH,
        result_type=declared.result_type_of(checked),
        status_text="waiting for assets",
    )


def _lock(task: ConversionTask) -> ConversionTask:
    return ConversionTask._base_manager.select_for_update().get(pk=task.pk)


def _check_open(task: ConversionTask) -> None:
    if task.is_deleted:
        raise NotFound(f"task {task.pk} not found")
    if task.is_finished or task.stage == Stage.PROCESSING:
        raise Conflict(f"task {task.pk} is {task.contract_status.lower()}; it takes no more assets")


def _next_position(task) -> int:
    return (task.inputs.aggregate(last=Max("position"))["last"] or 0) + 1


def _check_count(task, adding: int) -> None:
    """A task holds at most D2D_CONVERSIONS_MAX_INPUTS inputs: more than the room it has left is a conflict
    with the task (409), like adding to a task that is already processing."""
    limit = settings.D2D_CONVERSIONS_MAX_INPUTS
    held = task.inputs.count()
    if held + adding > limit:
        raise Conflict(f"a task takes at most {limit} inputs; task {task.pk} has {held} and this request adds {adding}")


def assets_add(*, task: ConversionTask, assets: list[dict], last_batch: bool = False, start: bool = True) -> list[InputAsset]:
    """Add download URLs (001 AssetData); with ``start`` the server starts downloading at once.

    The row lock orders this against the worker deciding to start processing, so an
    asset is either seen by the running task or refused with 409, never lost.
    """
    if len(assets) > task.assets_per_batch:
        raise DomainError(f"at most {task.assets_per_batch} assets per batch (assets_per_batch); got {len(assets)}", field="data")
    with transaction.atomic():
        locked = _lock(task)
        _check_open(locked)
        _check_count(locked, len(assets))
        position = _next_position(locked)
        created = InputAsset.objects.bulk_create(
            [
                InputAsset(
                    task=locked,
                    position=position + offset,
                    file_name=(asset.get("file_name") or "")[:255],
                    attributes=asset.get("attributes") or {},
                    download_url=asset["download_url"],
                )
                for offset, asset in enumerate(assets)
            ]
        )
        fields = {"last_asset_at": timezone.now()}
        if last_batch:
            fields["last_batch"] = True
        ConversionTask._base_manager.filter(pk=locked.pk).update(**fields)
        for name, value in fields.items():
            setattr(locked, name, value)
        if start and created and locked.stage in (Stage.CREATED, Stage.WAITING):
            # Said at once, so a client polling right after this call sees DOWNLOADING.
            task_transition(locked, locked.status, message="stage: DOWNLOADING (assets added)", stage=Stage.DOWNLOADING)
        if start and (created or last_batch) and locked.status not in ACTIVE_STATUSES:
            task_enqueue(locked, message="queued: assets to download" if created else "queued: last batch")
    task.refresh_from_db()
    return created


def files_upload(*, task: ConversionTask, uploads) -> list[InputAsset]:
    """000 uploads: store each file under a generated name; the client's name is kept only as a label."""
    declared = service_get(task.service)
    for upload in uploads:
        ext = extension_of(upload.name or "")
        # ZIPs are expanded at processing time; tabular's "from" parameter names the format itself.
        if ext != "zip" and not task.params.get("from") and ext not in declared.accepts:
            accepted = ", ".join(declared.accepts)
            raise DomainError(f"{upload.name}: the {declared.name} service accepts {accepted} (or a ZIP of them)", field="files")
    total = sum(upload.size for upload in uploads)
    if total > settings.D2D_MAX_UPLOAD_BYTES:
        raise DomainError(f"uploads total {total} bytes; the limit is {settings.D2D_MAX_UPLOAD_BYTES}", field="files")
    with transaction.atomic():
        locked = _lock(task)
        _check_open(locked)
        if locked.status in ACTIVE_STATUSES:
            raise Conflict(f"task {task.pk} was already submitted")
        _check_count(locked, len(uploads))
        position = _next_position(locked)
        created = []
        stored = []
        try:
            for offset, upload in enumerate(uploads):
                name = files.storage().save(files.input_name(locked, upload.name), upload)
                stored.append(name)
                created.append(
                    InputAsset.objects.create(
                        task=locked,
                        position=position + offset,
                        file_name=(upload.name or "upload")[:255],
                        status=InputAsset.Status.DOWNLOADED,
                        file=name,
                        size=upload.size,
                    )
                )
        except BaseException:
            files.delete_names(stored)  # the rows roll back; do not leave their files behind
            raise
        ConversionTask._base_manager.filter(pk=locked.pk).update(last_asset_at=timezone.now())
    return created


def task_submit(*, task: ConversionTask) -> ConversionTask:
    """000 step 6: no more inputs; queue the task (downloads of added URLs come first)."""
    with transaction.atomic():
        locked = _lock(task)
        _check_open(locked)
        if not locked.inputs.exists():
            # The request is fine; the task is not ready for it yet (a state conflict, like submitting twice).
            raise Conflict("the task has no inputs; upload files or add URLs first")
        ConversionTask._base_manager.filter(pk=locked.pk).update(last_batch=True)
        locked.last_batch = True
        if locked.status not in ACTIVE_STATUSES:
            task_enqueue(locked, message="submitted")
    task.refresh_from_db()
    return task


def task_stop(*, task: ConversionTask, user) -> ConversionTask:
    task_cancel(task, reason=f"cancelled by {user.username}")
    task.refresh_from_db()
    return task


def task_delete(*, task: ConversionTask, user) -> None:
    """001 DELETE: stop it, remove its inputs and results from storage, and hide the row (audit and metrics keep it)."""
    if task.status in ACTIVE_STATUSES:
        task_cancel(task, reason=f"deleted by {user.username}")
    with transaction.atomic():
        locked = _lock(task)
        names = [*locked.inputs.values_list("file", flat=True), *locked.results.values_list("file", flat=True)]
        locked.results.all().delete()
        InputAsset.objects.filter(task=locked).update(file="")
        ConversionTask._base_manager.filter(pk=locked.pk).update(
            files_purged_at=timezone.now(), result_json=None, deleted_at=timezone.now(), deleted_by=user
        )
    files.delete_names(names)
    files.delete_prefix(task.storage_prefix)


def task_restore(*, task: ConversionTask) -> None:
    task.restore()

