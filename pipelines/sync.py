"""The sync engine: a sync run of a JobTask, moving each selected stream from source to destination.

Per stream: read Arrow batches (past the saved cursor in incremental mode), write them to the
destination's private place, publish, and only then save the new cursor. A run killed at any
point leaves the destination as it was before the stream's publish, or published with the
state one generation behind, which the retry's publish replaces (files) or upserts (tables).
A run of kind CLEAR is pipelines.clearing's; pipelines.tasks picks one by kind.
"""

import time

import pyarrow.compute as pc

from kernel.errors import DomainError, TaskCancelled
from kernel.models import TaskLogLine
from kernel.runner import TaskRun
from pipelines import catalog, cdc
from pipelines.chunked import load_in_chunks
from pipelines.connectors import job_destination, job_source
from pipelines.connectors.base import Stream
from pipelines.cursors import decode_cursor, encode_cursor
from pipelines.models import ChangeCapture, Job, JobTask, StreamState
from pipelines.reporting import RunReporter, copy_batches
from pipelines.secrets import scrub, secret_values
from pipelines.services import job_capture_stop

Level = TaskLogLine.Level


class SyncFailed(Exception):
    """Some streams failed; the others were synced. The message names each failure and its cause."""


def run_sync_task(run: TaskRun) -> None:
    task: JobTask = run.task
    job = Job.all_objects.select_related("source", "destination").get(pk=task.job_id)
    if job.is_deleted:
        raise DomainError(f"job {job.name} was deleted")
    source, destination = job_source(job), job_destination(job)
    secrets = secret_values(source.spec, source.config) + secret_values(destination.spec, destination.config)
    streams = catalog.selected_streams(job.streams_config)
    reporter = RunReporter(run, secrets, len(streams))
    reporter.log(
        f"sync of job {job.name!r} started (attempt {run.attempt}): {len(streams)} stream(s) "
        f"from {job.source.type} {job.source.name!r} to {job.destination.type} {job.destination.name!r}"
    )
    stats, failures = dict(task.stream_stats or {}), []
    changing = [stream for stream in streams if stream.sync_mode == "cdc"]
    for index, stream in enumerate(s for s in streams if s.sync_mode != "cdc"):
        try:
            stats[stream.key] = sync_stream(job=job, stream=stream, source=source, destination=destination, reporter=reporter, index=index)
        except TaskCancelled:
            reporter.save_counts()
            reporter.log(f"stream {stream.key}: cancelled; nothing of it was published", Level.WARNING)
            raise
        except Exception as exc:  # noqa: BLE001 - one failing stream must not stop the others (recorded with its cause)
            cause = scrub(f"{type(exc).__name__}: {exc}", secrets)
            failures.append(f"{stream.key}: {cause}")
            stats[scrub(stream.key, secrets)] = {"status": "failed", "error": cause}
            reporter.log(f"stream {stream.key} failed: {cause}", Level.ERROR)
        JobTask.objects.filter(pk=task.pk).update(stream_stats=stats)
    if changing:
        _sync_changes(job, changing, source, destination, reporter, stats, failures, secrets, first_index=len(streams) - len(changing))
    elif ChangeCapture.objects.filter(job=job).exists():
        reporter.log("cdc: the job has no cdc stream left; dropping its replication slot")
        if not job_capture_stop(job=job):  # an unreachable source must not fail the run
            reporter.log("cdc: the slot could not be dropped now; Change captures in the admin lists it", Level.WARNING)
    reporter.save_counts()
    task.stream_stats = stats
    if failures:
        raise SyncFailed(scrub(f"{len(failures)} of {len(streams)} stream(s) failed: " + "; ".join(failures), secrets))
    reporter.log(f"sync finished: {reporter.rows:,} rows, {reporter.bytes:,} bytes in {len(streams)} stream(s)")


def _sync_changes(job, streams, source, destination, reporter, stats, failures, secrets, *, first_index) -> None:
    """The job's CDC streams, together (they share one slot): a failure fails all of them, with its cause."""
    try:
        stats.update(cdc.sync_changes(job=job, streams=streams, source=source, destination=destination, reporter=reporter, first_index=first_index))
    except TaskCancelled:
        reporter.save_counts()
        reporter.log("cdc: cancelled; changes past the saved position will be read again", Level.WARNING)
        raise
    except Exception as exc:  # noqa: BLE001 - the other streams' results stand; this one is recorded with its cause
        cause = scrub(f"{type(exc).__name__}: {exc}", secrets)
        for stream in streams:
            failures.append(f"{stream.key}: {cause}")
            stats[scrub(stream.key, secrets)] = {"status": "failed", "error": cause}
        reporter.log(f"cdc streams failed: {cause}", Level.ERROR)
    JobTask.objects.filter(pk=reporter.run.task.pk).update(stream_stats=stats)


def sync_stream(*, job: Job, stream: Stream, source, destination, reporter: RunReporter, index: int) -> dict:
    state, _ = StreamState.objects.get_or_create(job=job, stream=stream.key)
    incremental = stream.sync_mode == "incremental"
    cursor_after = None
    if incremental and state.cursor_field == stream.cursor_field:
        cursor_after = decode_cursor(state.cursor_value, stream.columns[stream.cursor_field])
    # The first incremental run (no saved cursor) replaces the stream, so the destination starts
    # as exactly the source and a retry of that run cannot duplicate it.
    if not incremental or cursor_after is None:
        mode = "replace"
    else:
        mode = "upsert" if stream.primary_key and not stream.append_mode else "append"
    generation = state.generation + 1
    where = f" after {stream.cursor_field} = {encode_cursor(cursor_after)}" if cursor_after is not None else ""
    reporter.log(f"stream {stream.key}: {stream.sync_mode} into {stream.destination_name} ({mode}){where}")
    started = time.monotonic()
    newest = None

    def track_cursor(batch):
        nonlocal newest
        highest = pc.max(batch.column(stream.cursor_field)).as_py()
        if highest is not None and (newest is None or highest > newest):
            newest = highest
        return batch

    loaded = None
    if mode == "replace":  # a big table: in chunks, read at once and resumable (pipelines.chunked)
        loaded = load_in_chunks(
            job=job, task=reporter.run.task, stream=stream, source=source, destination=destination,
            reporter=reporter, index=index, generation=generation,
        )
    if loaded is not None:
        rows, nbytes, newest = loaded
    else:
        writer = destination.open_stream(stream, mode=mode, generation=generation)
        batches = source.read(stream, cursor_after=cursor_after, tick=reporter.tick)
        rows, nbytes = copy_batches(writer, batches, stream=stream, reporter=reporter, index=index, each=track_cursor if incremental else None)
    # The write is published: only now may the state move on.
    state.generation = generation
    state.cursor_field = stream.cursor_field or ""
    if incremental and newest is not None:
        state.cursor_value = encode_cursor(newest)
    elif not incremental:
        state.cursor_value = None
    state.save()
    seconds = time.monotonic() - started
    reporter.log(f"stream {stream.key}: {rows:,} rows, {nbytes:,} bytes in {seconds:.1f}s")
    return {"status": "succeeded", "rows": rows, "bytes": nbytes, "seconds": round(seconds, 3), "mode": mode}

