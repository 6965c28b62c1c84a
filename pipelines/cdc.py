"""Change data capture in a sync run: the initial load in the slot's snapshot, then the changes, in order.

A job's CDC streams share one replication slot on the source (``d2d_<job>_<random>``) and one
position (ChangeCapture). A run:

1. creates the slot when the job has none (or its slot was lost), and loads every CDC stream in
   the snapshot the slot exported, so the load and the changes after it meet exactly; a stream
   added to the job later (or cleared) is loaded on its own while the slot keeps its place;
2. peeks changes past the saved position, a batch at a time, and per stream publishes them:
   merged into tables by primary key where the destination can (the last change of a key wins, a
   delete removes the row), else appended as change records with ``_op_type`` (c, u, d; r for
   rows of a load) and ``_cdc_lsn``, named by the batch's first LSN so a repeated batch replaces
   its twin;
3. saves the batch's commit LSN, and only then advances the slot.

A worker killed anywhere repeats at most the unsaved batch, which the destination replaces or
re-merges to the same rows: no change is lost or applied twice.
"""

import dataclasses
import time
from collections import defaultdict

import pyarrow as pa
from django.utils import timezone

from kernel.models import TaskLogLine
from pipelines.connectors.base import CDC_COLUMNS, CDC_OPERATION, CDC_POSITION, CheckFailed, Stream
from pipelines.connectors.changes import Change, new_slot_name, position_text
from pipelines.connectors.rows import rows_to_batch
from pipelines.models import ChangeCapture, Job, StreamState
from pipelines.reporting import RunReporter, copy_batches

Level = TaskLogLine.Level
LOADED = {"cdc": "loaded"}  # a CDC stream's state once its initial load is published
POLL_SECONDS = 0.2
MEASURE_SECONDS = 5  # a streaming run measures its slot's lag and size at most this often


def change_stream(stream: Stream) -> Stream:
    """The stream as its change records carry it: its columns, then the operation and the LSN."""
    return dataclasses.replace(stream, columns={**stream.columns, **CDC_COLUMNS})


def change_reader_of(source, capture: ChangeCapture):
    make = getattr(source, "change_reader", None)
    if make is None:
        raise CheckFailed(f"{source.type} sources do not offer cdc")
    return make(capture.slot_name)


def sync_changes(*, job: Job, streams: list[Stream], source, destination, reporter: RunReporter, first_index: int) -> dict:
    """Load what needs loading, then publish changes until none are left (or the run's CDC time is up)."""
    stats = {stream.key: {"status": "succeeded", "rows": 0, "bytes": 0, "changes": 0, "mode": "cdc"} for stream in streams}
    capture, _ = ChangeCapture.objects.get_or_create(job=job, defaults={"slot_name": new_slot_name(job.pk)})
    reader = change_reader_of(source, capture)
    try:
        return _capture(job, streams, source, destination, reporter, first_index, stats, capture, reader)
    finally:
        reader.close()


def _capture(job, streams, source, destination, reporter, first_index, stats, capture, reader) -> dict:
    tables = [(stream.namespace or "public", stream.name) for stream in streams]
    check_tables = getattr(reader, "check_tables", None)
    if check_tables is not None:  # before a slot or a load: a change the reader cannot see is lost data
        check_tables(tables)
    if capture.position is None or not reader.exists():
        _start(job, streams, source, destination, reporter, reader, stats, first_index, capture)
    else:
        # A crash between saving the position and advancing the slot leaves the slot behind it:
        # move it up first, or its next peek would return only what is already published.
        reader.catch_up(capture.position)
        for offset, stream in enumerate(streams):
            if _state(job, stream).cursor_value != LOADED:
                reporter.log(f"stream {stream.key}: new to CDC; loading it while the slot keeps its place")
                _load(job, stream, source, destination, reporter, stats, first_index + offset, snapshot=None, lsn=capture.position)
    _forget_streams_that_left(job, streams)
    started = time.monotonic()
    run_seconds = int(source.config.get("cdc_run_seconds", 0))
    limit = int(source.config.get("cdc_batch_changes", 10000))
    by_table = {(stream.namespace or "public", stream.name): stream for stream in streams}
    while True:
        changes, end, full = reader.peek(tables, after=capture.position, limit=limit)
        if end is None:
            if time.monotonic() - started >= run_seconds:
                break
            reporter.tick()
            time.sleep(POLL_SECONDS)
            continue
        _publish(changes, by_table, destination, reporter, stats, first_index)
        capture.position = end
        capture.save(update_fields=["position", "updated_at"])
        reader.advance(end)  # only now may the server forget these changes
        _measure(capture, reader, every_seconds=MEASURE_SECONDS)
        reporter.save_counts()
        reporter.tick()
        if not full and time.monotonic() - started >= run_seconds:
            break  # caught up with what was there: a source that never rests must not keep one run going
    _measure(capture, reader)
    reporter.log(f"cdc: published through {capture.position_lsn}")
    return stats


def _measure(capture: ChangeCapture, reader, *, every_seconds: float = 0) -> None:
    """Record the slot's lag and size for the dashboard; a source that cannot say leaves them empty."""
    measure = getattr(reader, "measure", None)
    if measure is None:
        return
    if every_seconds and capture.measured_at and (timezone.now() - capture.measured_at).total_seconds() < every_seconds:
        return
    capture.lag_bytes, capture.slot_bytes = measure(capture.position)
    capture.measured_at = timezone.now()
    # Not updated_at: it says when the position last moved, which is the lag in time.
    capture.save(update_fields=["lag_bytes", "slot_bytes", "measured_at"])


def _start(job, streams, source, destination, reporter, reader, stats, first_index, capture: ChangeCapture) -> None:
    """A new slot, and every CDC stream loaded in its snapshot; the position is saved once all are published."""
    if capture.position is not None:
        reporter.log(f"cdc: replication slot {capture.slot_name} is gone from the source; starting over", Level.WARNING)
        capture.position = None
        capture.save(update_fields=["position", "updated_at"])
    if reader.exists():
        reader.drop()  # left by an attempt killed before its load was published: start over
    with reader.create_with_snapshot() as snapshot:
        reporter.log(f"cdc: replication slot {snapshot.slot} created at {position_text(snapshot.consistent_lsn)}; loading its snapshot")
        for offset, stream in enumerate(streams):
            _load(job, stream, source, destination, reporter, stats, first_index + offset, snapshot=snapshot.snapshot, lsn=snapshot.consistent_lsn)
    capture.position = snapshot.consistent_lsn
    capture.save(update_fields=["position", "updated_at"])


def _load(job, stream, source, destination, reporter, stats, index, *, snapshot, lsn) -> None:
    """The stream's full load (replace), its rows marked as reads (r) where the destination keeps change records."""
    merges = destination.merges_changes
    target = stream if merges else change_stream(stream)
    state = _state(job, stream)
    writer = destination.open_stream(target, mode="replace", generation=state.generation + 1)
    batches = source.read(stream, tick=reporter.tick, **({"snapshot": snapshot} if snapshot else {}))

    def as_reads(batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = batch.append_column(CDC_OPERATION, pa.array(["r"] * batch.num_rows, pa.string()))
        return batch.append_column(CDC_POSITION, pa.array([lsn] * batch.num_rows, pa.int64()))

    rows, nbytes = copy_batches(writer, batches, stream=target, reporter=reporter, index=index, each=None if merges else as_reads)
    state.generation += 1
    state.cursor_field, state.cursor_value = "", LOADED
    state.save()
    stats[stream.key].update(rows=rows, bytes=nbytes)
    reporter.log(f"stream {stream.key}: loaded {rows:,} rows")


def _publish(changes: list[Change], by_table: dict, destination, reporter, stats, first_index) -> None:
    grouped: dict[str, list[Change]] = defaultdict(list)
    streams = {}
    for change in changes:
        stream = by_table.get((change.namespace, change.table))
        if stream is not None:
            grouped[stream.key].append(change)
            streams[stream.key] = stream
    mode = "merge" if destination.merges_changes else "append"
    for offset, (key, items) in enumerate(grouped.items()):
        stream = streams[key]
        target = change_stream(stream)
        rows = [tuple(change.values.get(column) for column in stream.columns) + (change.operation, change.lsn) for change in items]
        batch = rows_to_batch(rows, target)
        writer = destination.open_stream(target, mode=mode, generation=items[0].lsn)
        copy_batches(writer, iter([batch]), stream=target, reporter=reporter, index=first_index + offset)
        counts = defaultdict(int)
        for change in items:
            counts[change.operation] += 1
        stats[key]["changes"] += len(items)
        stats[key]["rows"] += len(items)
        reporter.log(
            f"stream {key}: {len(items)} change(s) ({counts['c']} inserts, {counts['u']} updates, {counts['d']} deletes) "
            f"through {position_text(items[-1].lsn)}"
        )


def _forget_streams_that_left(job: Job, streams: list[Stream]) -> None:
    """A CDC stream out of this run misses the changes the slot moves past: if it comes back, it is loaded again."""
    StreamState.objects.filter(job=job, cursor_value=LOADED).exclude(stream__in=[stream.key for stream in streams]).update(
        cursor_value=None
    )


def _state(job: Job, stream: Stream) -> StreamState:
    state, _ = StreamState.objects.get_or_create(job=job, stream=stream.key)
    return state


def capture_stop(job: Job, source) -> bool:
    """Drop the job's replication slot, then forget its position (the job left CDC or was deleted).

    Returns whether a slot was there. When the source cannot be reached the position stays, so the
    admin still shows the slot that holds WAL on the source, to drop once it answers.
    """
    capture = ChangeCapture.objects.filter(job=job).first()
    if capture is None:
        return False
    dropped = False
    if hasattr(source, "change_reader"):
        reader = change_reader_of(source, capture)
        try:
            dropped = reader.drop()
        finally:
            reader.close()
    capture.delete()  # a source type without CDC holds nothing to drop
    return dropped
