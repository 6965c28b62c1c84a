"""Clear destination: a run that removes what a job's streams wrote to its destination and forgets their sync state."""

from django.db import transaction

from kernel.errors import DomainError
from kernel.models import ACTIVE_STATUSES, TaskLogLine
from kernel.runner import TaskRun
from pipelines import catalog
from pipelines.connectors import destination_connector
from pipelines.connectors.base import Stream
from pipelines.models import ChunkedLoad, Job, JobTask, StreamState
from pipelines.secrets import scrub, secret_values
from pipelines.services import job_run_start, job_update
from pipelines.streams_diff import difference_stream_keys

Level = TaskLogLine.Level
PLAN_KEYS = ("known", "name", "namespace", "destination_name")


class ClearFailed(Exception):
    """Some streams could not be cleared; the others were. The message names each failure and its cause."""


def job_clear_destination_start(
    *, job: Job, user=None, streams: list[str] | None = None, trigger: str = JobTask.Trigger.MANUAL, publish: bool = True
) -> JobTask:
    """A clear run of the job, queued after commit; a 409 while a sync or clear of it is queued or running.

    ``streams`` are stream keys ("namespace.name"); None means every selected stream. Where each
    stream lives in the destination is taken from the job's streams_config now, not when the run
    starts: a job update that renames a stream's destination must start its clear before it saves,
    so the clear removes the table or folder the stream wrote. A key the streams_config does not
    know (a stream the job never synced) only has its state forgotten.
    """
    entries = {catalog.stream_key(entry): entry for entry in catalog.normalize(job.streams_config)}
    if streams is None:
        keys = [stream.key for stream in catalog.selected_streams(job.streams_config)]
    else:
        if isinstance(streams, str) or not all(isinstance(key, str) and key for key in streams):
            raise DomainError("streams must be a list of stream names", field="streams")
        keys = list(dict.fromkeys(streams))
        if not keys:
            raise DomainError("streams must name at least one stream to clear", field="streams")
    # The plan goes into stream_stats, where the run then records each stream's result.
    plan = {}
    for key in keys:
        entry = entries.get(key)
        if entry is None:
            plan[key] = {"status": "pending", "known": False}
        else:
            plan[key] = {
                "status": "pending",
                "known": True,
                "name": entry["name"],
                "namespace": entry.get("namespace") or "",
                "destination_name": entry.get("destination_name") or entry["name"],
            }
    return job_run_start(
        job=job, user=user, kind=JobTask.Kind.CLEAR, trigger=trigger, publish=publish, stream_stats=plan
    )


@transaction.atomic
def job_update_with_clear(*, job: Job, user, difference_streams=None, **changes) -> Job:
    """A job update that first clears the streams it changes in the destination (OLake's edit-streams save).

    The clear starts before the new streams_config is saved, so it removes what each stream
    wrote under its old destination name; both happen or neither does.
    """
    keys = difference_stream_keys(difference_streams)
    if keys:
        job_clear_destination_start(job=job, user=user, streams=keys)
    return job_update(job=job, user=user, **changes)


def job_clear_destination_running(*, job: Job) -> bool:
    """Whether a clear of the job is queued or running (the OLake UI polls this)."""
    return JobTask.objects.filter(job=job, kind=JobTask.Kind.CLEAR, status__in=ACTIVE_STATUSES).exists()


def run_clear_task(run: TaskRun) -> None:
    """The handler of a CLEAR JobTask: per planned stream, clear it in the destination, then forget its state.

    A clear is idempotent, so a retry after a failure or a killed worker simply clears again.
    """
    task: JobTask = run.task
    job = Job.all_objects.select_related("destination").get(pk=task.job_id)
    if job.is_deleted:
        raise DomainError(f"job {job.name} was deleted")
    config = job.destination.config
    destination = destination_connector(job.destination.type, config, job.destination.version, project_id=job.project_id)
    secrets = secret_values(destination.spec, config)

    def log(message: str, level: str = Level.INFO) -> None:
        run.log(scrub(message, secrets), level=level)

    stats = dict(task.stream_stats or {})
    log(
        f"clear of job {job.name!r} started (attempt {run.attempt}): {len(stats)} stream(s) "
        f"in {job.destination.type} {job.destination.name!r}"
    )
    failures = []
    for index, (key, recorded) in enumerate(stats.items()):
        plan = {name: recorded[name] for name in PLAN_KEYS if name in recorded}  # a retry drops the last attempt's result
        run.progress(100 * index / max(1, len(stats)), f"clearing {key}")
        try:
            if plan.get("known"):
                stream = Stream(
                    name=plan["name"], namespace=plan["namespace"], columns={}, destination_name=plan["destination_name"]
                )
                log(f"stream {key}: clearing {stream.destination_name}")
                destination.clear_stream(stream)
            else:
                log(f"stream {key}: not in the job's streams, so nothing of it was written; its state is reset")
            # Only once the data is gone: a failed clear keeps the state that matches what is still there.
            states = StreamState.objects.filter(job=job, stream=key).delete()[0]
            ChunkedLoad.objects.filter(job=job, stream=key).delete()  # its parts went with the clear
        except Exception as exc:  # noqa: BLE001 - one failing stream must not stop the others (recorded with its cause)
            cause = scrub(f"{type(exc).__name__}: {exc}", secrets)
            failures.append(f"{key}: {cause}")
            stats[key] = {**plan, "status": "failed", "error": cause}
            log(f"stream {key} was not cleared: {cause}", Level.ERROR)
        else:
            stats[key] = {**plan, "status": "cleared", "state_reset": bool(states)}
            log(f"stream {key}: cleared" + ("; its sync state is reset" if states else ""))
        JobTask.objects.filter(pk=task.pk).update(stream_stats=stats)
    task.stream_stats = stats
    if failures:
        raise ClearFailed(scrub(f"{len(failures)} of {len(stats)} stream(s) not cleared: " + "; ".join(failures), secrets))
    log(f"clear finished: {len(stats)} stream(s) cleared; their next sync is a full load")
