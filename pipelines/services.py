"""Writes and workflows of pipelines: connectors, jobs, syncs and cancels. The only code that changes their state."""

import logging

import jsonschema
import psycopg
import pymysql
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kernel.errors import Conflict, DomainError
from kernel.models import ACTIVE_STATUSES, TaskStatus
from kernel.runner import task_cancel, task_enqueue, task_transition
from pipelines import catalog, cdc
from pipelines.connectors import connector_class, source_connector, storage_root
from pipelines.connectors.base import CheckFailed
from pipelines.connectors.storage import clean_path
from pipelines.job_settings import (  # noqa: F401 - part of the services' API
    MAX_DISCOVER_THREADS,
    OLAKE_ONLY_TYPES,
    advanced_settings_clean,
    connector_versions,
)
from pipelines.models import ChangeCapture, Destination, Job, JobTask, Source
from pipelines.schedules import frequency_to_cron, job_schedule_sync
from pipelines.secrets import MASK, contains_mask, keep_masked_secrets

KIND_OF_MODEL = {Source: "source", Destination: "destination"}

logger = logging.getLogger(__name__)


def connector_spec(*, kind: str, type: str, version: str | None) -> dict:
    return connector_class(kind, type, version).spec


def connector_config_clean(*, kind: str, type: str, version: str | None, config) -> dict:
    """The config with the spec's defaults filled in; a 400 naming the first field that is wrong."""
    cls = connector_class(kind, type, version)
    if not isinstance(config, dict):
        raise DomainError("config must be a JSON object", field="config")
    config = dict(config)
    for name, prop in cls.spec.get("properties", {}).items():
        if name not in config and "default" in prop:
            config[name] = prop["default"]
    errors = list(jsonschema.Draft7Validator(cls.spec).iter_errors(config))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(p) for p in error.absolute_path)
        raise ConfigInvalid(
            f"config{'.' + where if where else ''}: {_error_message(error)}",
            errors=[(_error_path(e), _error_message(e)) for e in errors],
        )
    problem = cls.config_problem(config)
    if problem:
        raise DomainError(f"config: {problem}", field="config")
    if "path" in cls.spec.get("properties", {}):  # file connectors: a storage path that stays in the project's folder
        try:
            clean_path(config.get("path") or "")
        except CheckFailed as exc:
            raise ConfigInvalid(f"config.path: {exc}", errors=[(("path",), str(exc))]) from exc
    return config


class ConfigInvalid(DomainError):
    """A config the spec refuses; ``errors`` holds every problem as (path inside the config, message), so a form can show each at its field."""

    def __init__(self, message: str, *, errors: list[tuple[tuple, str]]):
        super().__init__(message, field="config")
        self.errors = errors


def _error_message(error) -> str:
    """A schema error's sentence, never quoting the config (jsonschema's anyOf sentence quotes it whole, secrets and all)."""
    if error.validator == "anyOf" and all("required" in option for option in error.validator_value):
        return "needs one of: " + " or ".join("+".join(option["required"]) for option in error.validator_value)
    return error.message


def _error_path(error) -> tuple:
    """Where a schema error belongs; a missing required property belongs at that property, not at its parent."""
    path = tuple(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return (*path, missing[0]) if missing else path
    return path


def connector_stored_config(*, model, project, type: str, config, pk: int | None = None) -> dict | None:
    """The stored config whose secrets fill in a request's masked ones, or None.

    With ``pk``, that connector of the project. Without it (OLake's UI tests and discovers a
    saved connector by sending back its masked config), the project's connector of that type
    whose config matches in every field but the masked secrets: a caller can only ever fill
    in secrets of a connector it could already use.
    """
    rows = model.objects.filter(project=project)
    if pk:
        return get_object_or_404(rows, pk=pk).config
    if not isinstance(config, dict) or not contains_mask(config):
        return None
    matches = [candidate.config for candidate in rows.filter(type=type) if agrees_but_for_masks(config, candidate.config)]
    return matches[0] if len(matches) == 1 else None


def agrees_but_for_masks(sent, stored) -> bool:
    """Whether every value sent equals the stored one, a masked secret standing for whatever is stored."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            key in stored and agrees_but_for_masks(value, stored[key]) for key, value in sent.items()
        )
    return sent == MASK or sent == stored


def connector_test_report(
    *, kind: str, type: str, version: str | None, config: dict, stored: dict | None = None, project_id: str | None = None
) -> dict:
    """A connection test as the OLake server reports it: SUCCEEDED or FAILED with a message, and its log lines."""
    started = timezone.now()
    try:
        connector_test(kind=kind, type=type, version=version, config=config, stored=stored, project_id=project_id)
    except DomainError as exc:
        result, level = {"status": "FAILED", "message": exc.message}, "error"
    else:
        result, level = {"status": "SUCCEEDED", "message": f"{kind} {type} connection succeeded"}, "info"
    return {"connection_result": result, "logs": [{"level": level, "time": started, "message": result["message"]}]}


def connector_test(
    *, kind: str, type: str, version: str | None, config: dict, stored: dict | None = None, project_id: str | None = None
) -> dict:
    """Check that a config works; with ``stored``, masked secrets are taken from it.

    ``project_id`` roots file paths in the project's storage folder; None (operators only) is all of it.
    """
    cls = connector_class(kind, type, version)
    if stored is not None:
        config = keep_masked_secrets(cls.spec, config, stored)
    config = connector_config_clean(kind=kind, type=type, version=version, config=config)
    try:
        cls(config, root=storage_root(project_id)).check()
    except CheckFailed as exc:
        raise DomainError(f"connection test failed: {exc}") from exc
    return config


def source_discover(
    *, type: str, version: str | None, config: dict, stored: dict | None = None, saved_catalog=None,
    project_id: str | None = None, threads: int | None = None,
) -> dict:
    """The source's catalog; merged with ``saved_catalog`` so the user's choices survive.

    With ``stored``, secrets sent back masked are taken from it. ``threads`` (a job's
    max_discover_threads) is how many streams the source may infer at once.
    """
    if stored is not None:
        config = keep_masked_secrets(connector_spec(kind="source", type=type, version=None), config, stored)
    config = connector_config_clean(kind="source", type=type, version=version, config=config)
    connector = connector_class("source", type, version)(config, root=storage_root(project_id))
    if threads:
        connector.discover_threads = int(threads)
    try:
        streams = connector.discover()
    except CheckFailed as exc:
        raise DomainError(f"cannot discover the source: {exc}") from exc
    return catalog.merge(saved_catalog, streams) if saved_catalog else {"streams": streams}


def name_taken(model, project, name: str) -> DomainError:
    """004 lists a taken name among its 400s (the OLake server answers it so too), not as a 409."""
    return DomainError(f"a {model._meta.verbose_name} named {name!r} already exists in project {project.pk}", field="name")


def name_is_free(model, project, name: str, *, exclude=None) -> bool:
    rows = model.objects.filter(project=project, name=name)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return not rows.exists()


def _unique_name(model, project, name: str, *, exclude=None) -> None:
    if not name_is_free(model, project, name, exclude=exclude):
        raise name_taken(model, project, name)


def connector_create(*, model, project, user, name: str, type: str, version: str, config: dict):
    kind = KIND_OF_MODEL[model]
    if not name:
        raise DomainError("name is required", field="name")
    config = connector_config_clean(kind=kind, type=type, version=version, config=config)
    _unique_name(model, project, name)
    obj = model(project=project, name=name, type=type, version=version, created_by=user, updated_by=user)
    obj.config = config
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise name_taken(model, project, name) from exc
    return obj


def connector_update(*, obj, user, name=None, type=None, version=None, config=None):
    """Change what is given; a secret sent back as the mask keeps its stored value."""
    kind = KIND_OF_MODEL[type_of(obj)]
    if name is not None and name != obj.name:
        _unique_name(type_of(obj), obj.project, name, exclude=obj)
        obj.name = name
    new_type, new_version = type or obj.type, version or obj.version
    if config is not None or new_type != obj.type or new_version != obj.version:
        cls = connector_class(kind, new_type, new_version)
        incoming = config if config is not None else obj.config
        stored = obj.config if new_type == obj.type else {}
        obj.config = connector_config_clean(
            kind=kind, type=new_type, version=new_version, config=keep_masked_secrets(cls.spec, incoming, stored)
        )
    obj.type, obj.version, obj.updated_by = new_type, new_version, user
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise name_taken(type_of(obj), obj.project, obj.name) from exc
    return obj


def type_of(obj):
    return Source if isinstance(obj, Source) else Destination


def connector_delete(*, obj, user) -> None:
    """Soft delete, refused while a live job uses it (the job would fail at its next run)."""
    jobs = list(obj.jobs.filter(deleted_at__isnull=True).values_list("name", flat=True))
    if jobs:
        raise Conflict(f"{obj._meta.verbose_name} {obj.name!r} is used by job(s) {', '.join(sorted(jobs))}: delete them first")
    obj.delete(by=user)


def _connector_for_job(model, *, project, user, spec: dict | None):
    """Reuse the live connector of that name in the project, or create it from the body."""
    kind = KIND_OF_MODEL[model]
    if not isinstance(spec, dict) or not spec.get("name"):
        raise DomainError(f"{kind} must be an object with a name", field=kind)
    existing = model.objects.filter(project=project, name=spec["name"]).first()
    if existing is not None:
        if spec.get("type") and spec["type"] != existing.type:
            raise DomainError(
                f"{kind} {spec['name']!r} exists with type {existing.type}, not {spec['type']}", field=kind
            )
        return existing
    for name in ("type", "version"):
        if not spec.get(name):
            raise DomainError(f"{kind}.{name} is required to create {kind} {spec['name']!r}", field=kind)
    config = spec.get("config") or {}
    if isinstance(config, str):  # 004 shows the destination config as a string of JSON
        import json

        try:
            config = json.loads(config)
        except ValueError as exc:
            raise DomainError(f"{kind}.config is not JSON: {exc}", field=kind) from exc
    return connector_create(
        model=model, project=project, user=user, name=spec["name"], type=spec["type"], version=spec["version"], config=config
    )


def _job_catalog(source: Source, streams_config, *, saved=None, threads: int | None = None) -> dict:
    discovered = source_discover(
        type=source.type, version=source.version, config=source.config, project_id=source.project_id, threads=threads
    )["streams"]
    return catalog.validate(streams_config if streams_config not in (None, "", {}) else saved, discovered)


@transaction.atomic
def job_create(
    *, project, user, name: str, source: dict, destination: dict, frequency: str = "", streams_config=None, activate=True,
    advanced_settings=None,
) -> Job:
    if not name:
        raise DomainError("name is required", field="name")
    _unique_name(Job, project, name)
    if frequency:
        frequency_to_cron(frequency)
    advanced_settings = advanced_settings_clean(advanced_settings)
    source_obj = _connector_for_job(Source, project=project, user=user, spec=source)
    destination_obj = _connector_for_job(Destination, project=project, user=user, spec=destination)
    job = Job(
        project=project,
        name=name,
        source=source_obj,
        destination=destination_obj,
        frequency=frequency or "",
        activate=bool(activate),
        advanced_settings=advanced_settings,
        streams_config=_job_catalog(source_obj, streams_config, threads=advanced_settings.get("max_discover_threads")),
        created_by=user,
        updated_by=user,
    )
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError as exc:
        raise name_taken(Job, project, name) from exc
    job_schedule_sync(job)
    return job


@transaction.atomic
def job_update(
    *, job: Job, user, name=None, source=None, destination=None, frequency=None, streams_config=None, activate=None,
    advanced_settings=None,
) -> Job:
    if advanced_settings is not None:
        job.advanced_settings = advanced_settings_clean(advanced_settings)
    if name is not None and name != job.name:
        _unique_name(Job, job.project, name, exclude=job)
        job.name = name
    source_changed = False
    if source is not None:
        new_source = _connector_for_job(Source, project=job.project, user=user, spec=source)
        source_changed = new_source.pk != job.source_id
        if source_changed and ChangeCapture.objects.filter(job=job).exists():
            job_capture_stop(job=job)  # the old source's slot: nothing will read it again
        job.source = new_source
    if destination is not None:
        job.destination = _connector_for_job(Destination, project=job.project, user=user, spec=destination)
    if frequency is not None:
        if frequency:
            frequency_to_cron(frequency)
        job.frequency = frequency
    if streams_config is not None or source_changed:
        job.streams_config = _job_catalog(
            job.source, streams_config, saved=None if source_changed else job.streams_config, threads=job.discover_threads
        )
    if activate is not None:
        job.activate = bool(activate)
    job.updated_by = user
    job.save()
    job_schedule_sync(job)
    return job


@transaction.atomic
def job_set_active(*, job: Job, user, activate: bool) -> Job:
    job.activate = bool(activate)
    job.updated_by = user
    job.save(update_fields=["activate", "updated_by", "updated_at"])
    job_schedule_sync(job)
    return job


def job_delete(*, job: Job, user) -> None:
    """Soft delete: the schedule goes, a running sync is asked to stop."""
    with transaction.atomic():
        job.delete(by=user)
        job_schedule_sync(job)
    for task in JobTask.objects.filter(job=job, status__in=ACTIVE_STATUSES):
        task_cancel(task, reason=f"job {job.name} deleted")
    if ChangeCapture.objects.filter(job=job).exists():
        job_capture_stop(job=job)


def job_capture_stop(*, job: Job) -> bool:
    """Drop a job's CDC replication slot, so the source stops keeping WAL for it; logged, never raised.

    A slot that cannot be dropped now (the source is down, a run is still reading it) stays listed
    under Change captures in the admin, whose action drops it later.
    """
    source = source_connector(job.source.type, job.source.config, job.source.version, project_id=job.project_id)
    try:
        dropped = cdc.capture_stop(job, source)
    except (CheckFailed, psycopg.Error, pymysql.MySQLError) as exc:
        logger.warning("job %s: replication slot not dropped: %s", job.pk, exc)
        return False
    logger.info("job %s: replication slot %s", job.pk, "dropped" if dropped else "was already gone")
    return True


def job_sync_start(*, job: Job, user=None, trigger: str = JobTask.Trigger.MANUAL, publish: bool = True) -> JobTask:
    """A new run of the job, queued after commit; a 409 while another run of it is queued or running.

    With ``publish=False`` the run is marked queued but no worker is told: the caller runs it
    in its own process (manage.py pipelines_sync).
    """
    return job_run_start(job=job, user=user, kind=JobTask.Kind.SYNC, trigger=trigger, publish=publish)


def job_run_start(*, job: Job, user, kind: str, trigger: str, publish: bool, **fields) -> JobTask:
    """A new run of either kind; syncs and clears share one slot per job, since a clear racing a
    sync would drop the table the sync is about to publish into, or the sync would save a cursor
    for rows the clear removed. ``fields`` go onto the new JobTask (a clear's planned streams).
    """
    label = JobTask.Kind(kind).label.lower()
    with transaction.atomic():
        Job.objects.select_for_update().filter(pk=job.pk).first()
        active = JobTask.objects.filter(job=job, status__in=ACTIVE_STATUSES).order_by("-created_at").first()
        if active is not None:
            other = "" if active.kind == kind else f"{active.get_kind_display().lower()} "
            raise Conflict(f"job {job.name!r} is already running: {other}run {active.pk} is {active.status}")
        task = JobTask.objects.create(job=job, project=job.project, owner=user, kind=kind, trigger=trigger, **fields)
        who = f" by {user.username}" if user else ""
        if publish:
            task_enqueue(task, message=f"{label} queued ({trigger}{who})")
        else:
            task_transition(task, TaskStatus.QUEUED, message=f"{label} started in the foreground ({trigger}{who})")
    return task


def job_cancel(*, job: Job, user) -> list[JobTask]:
    """Ask the job's queued or running runs (syncs or clears) to stop; a 409 when none is."""
    tasks = list(JobTask.objects.filter(job=job, status__in=ACTIVE_STATUSES))
    if not tasks:
        raise Conflict(f"job {job.name!r} has no sync queued or running")
    who = user.username if user else "system"
    return [task_cancel(task, reason=f"cancelled by {who}") for task in tasks]


def stream_states_reset(*, states) -> int:
    """Forget where streams stand: their next incremental run starts over and replaces them.

    Refused while a job of theirs is running, since the run would save its cursor afterwards.
    """
    states = list(states.select_related("job"))
    running = {state.job.name for state in states if JobTask.objects.filter(job=state.job, status__in=ACTIVE_STATUSES).exists()}
    if running:
        raise DomainError(f"a sync of {', '.join(sorted(running))} is queued or running; reset after it ends")
    for state in states:
        state.delete()
    return len(states)
