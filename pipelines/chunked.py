"""Resumable full loads of big tables: chunks read at once by threads and by idle workers, parts published together.

A source that can cut a table into chunks (``plan_chunks``, ``read_chunk``, ``chunk_snapshot``)
and a destination that keeps durable parts (``open_parts``) load a big stream this way:

1. The plan (ChunkedLoad and its LoadChunk rows) is saved before anything is read. A retry of the
   same run (after a kill or a failed attempt) finds it and goes on at the first chunk not done;
   any other run finding it discards it with its parts (the table has moved on since), as a
   cancel does.
2. The coordinator holds one exported snapshot while chunks are read; ``read_parallelism`` threads
   of this run, and helpers queued for idle django-q2 workers, claim chunks with
   ``SELECT ... FOR UPDATE SKIP LOCKED``. A claim is a row lock held while the chunk is read and
   its part written; marking it done commits and releases it. A reader killed mid-chunk loses its
   connection, and so its lock: the chunk is free again and its half-written part is dropped.
   The run keeps one thread more than it reads with: ``read_parallelism`` copy slots bound how many
   chunks are read from the source at once, and a thread gives its slot up as soon as its chunk's
   rows are all in, so the spare thread starts the next chunk's COPY while the first still writes
   its last row group and commits. The source's server never waits between chunks (on the bench's
   table each chunk otherwise left it idle ~0.15 s: the client's tail, then psql's start).
3. When every chunk is done, the parts are published in one step, and the caller saves the state.

The attempt that resumes reads in a new snapshot: each chunk is the table as of the moment its
snapshot was taken (by primary key ranges where there is one, so an updated row stays in its chunk).
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict

import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from kernel.errors import TaskCancelled
from pipelines.connectors import job_destination, job_source
from pipelines.connectors.base import Stream
from pipelines.cursors import decode_cursor, encode_cursor
from pipelines.models import ChunkedLoad, Job, JobTask, LoadChunk
from pipelines.reporting import RunReporter

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.3


def can_load_in_chunks(source, destination) -> bool:
    """Both ends know chunks, and d2d's database has row locks that others skip (PostgreSQL: not the embedded SQLite,
    where a claim would lock the whole database for as long as its chunk is read)."""
    return (
        connection.features.has_select_for_update_skip_locked
        and all(hasattr(source, name) for name in ("plan_chunks", "read_chunk", "chunk_snapshot"))
        and hasattr(destination, "open_parts")
    )


def load_in_chunks(*, job: Job, task: JobTask, stream: Stream, source, destination, reporter: RunReporter, index: int, generation: int):
    """Load the stream (mode replace) in chunks; (rows, bytes, newest cursor), or None when it is not worth it here."""
    if not can_load_in_chunks(source, destination):
        return None
    planned = _resume_or_plan(job, task, stream, source, destination, generation, reporter)
    if planned is None:
        return None
    load, parts = planned
    try:
        _read_all(load, stream, source, parts, reporter, index)
        chunks = list(load.chunks.order_by("index"))
        parts.publish([chunk.index for chunk in chunks])
    except BaseException as exc:
        ChunkedLoad.objects.filter(pk=load.pk).update(snapshot="")  # helpers stop claiming
        if isinstance(exc, TaskCancelled):  # a cancel is final: the parts go, and the next run plans afresh
            parts.discard()
            load.delete()
        raise  # otherwise the retry of this run goes on from the chunks done (as after a kill)
    readers = Counter(chunk.loaded_by.rsplit(":", 1)[0] for chunk in chunks)
    shares = ", ".join(f"{reader}: {count}" for reader, count in sorted(readers.items()))
    reporter.log(f"stream {stream.key}: {len(chunks)} chunks published together, loaded by {len(readers)} process(es) ({shares})")
    load.delete()
    return sum(chunk.rows for chunk in chunks), sum(chunk.bytes for chunk in chunks), _newest_cursor(stream, chunks)


def _resume_or_plan(job, task, stream, source, destination, generation, reporter):
    """(load, its parts): this run's unfinished load, or a new plan; None for a small table or a destination without parts."""
    spec = asdict(stream)
    load = ChunkedLoad.objects.filter(job=job, stream=stream.key).first()
    if load is not None:
        parts = destination.open_parts(stream, key=load.parts_key)
        if parts is not None and load.task_id == task.pk and load.generation == generation and load.stream_spec == spec:
            _resume(load, parts, reporter)
            return load, parts
        reporter.log(f"stream {stream.key}: discarding the unfinished chunked load of run {load.task_id}")
        _discard(load, destination, stream)
    key = uuid.uuid4().hex
    parts = destination.open_parts(stream, key=key)  # only asks where the parts would go: nothing is made yet
    if parts is None:
        return None
    bounds = source.plan_chunks(stream)
    if not bounds:
        return None
    load = ChunkedLoad.objects.create(job=job, task=task, stream=stream.key, stream_spec=spec, generation=generation, parts_key=key)
    LoadChunk.objects.bulk_create(LoadChunk(load=load, index=number, bounds=bound) for number, bound in enumerate(bounds))
    parts.prepare()
    reporter.log(f"stream {stream.key}: full load in {len(bounds)} chunks ({_describe(bounds)})")
    return load, parts


def _resume(load: ChunkedLoad, parts, reporter) -> None:
    parts.prepare()
    done = list(load.chunks.filter(done=True).values_list("index", flat=True))
    lost = [number for number in done if not parts.has(number)]
    if lost:  # a publish was cut short after it had gathered these parts: read them again
        load.chunks.filter(index__in=lost).update(done=False, rows=0, bytes=0, cursor_max=None, loaded_by="", finished_at=None)
    total = load.chunks.count()
    reporter.log(f"stream {load.stream}: resuming its chunked load: {len(done) - len(lost)} of {total} chunks already loaded")


def _describe(bounds: list[dict]) -> str:
    first = bounds[0]
    return f"by {first['key']}" if "key" in first else "by page ranges"


def _discard(load: ChunkedLoad, destination, stream: Stream) -> None:
    parts = destination.open_parts(stream, key=load.parts_key)
    if parts is not None:
        parts.discard()
    load.delete()


def discard_load(load: ChunkedLoad) -> bool:
    """Drop a load nobody is reading, with its parts (the admin's action); the stream's next run starts over."""
    _discard(load, job_destination(load.job), Stream(**load.stream_spec))
    return True


def _read_all(load: ChunkedLoad, stream: Stream, source, parts, reporter: RunReporter, index: int) -> None:
    """Every chunk not done, by this run's threads and by helpers, in one snapshot; returns when all are done."""
    threads = max(1, int(source.config.get("read_parallelism", 1)))
    pending = load.chunks.filter(done=False).count()
    with source.chunk_snapshot() as snapshot:
        ChunkedLoad.objects.filter(pk=load.pk).update(snapshot=snapshot or "")
        crew = _Crew(load.pk, stream, source, parts, snapshot, copies=threads)
        for _ in range(min(threads + 1, pending)):  # one spare, waiting for a copy slot
            crew.start_thread()
        _queue_helpers(load, pending - threads)
        reported = reported_bytes = 0
        while True:
            try:
                reporter.tick()
            except TaskCancelled:
                crew.stop()
                raise
            crew.raise_failure()
            loaded, loaded_bytes = crew.rows_loaded(), crew.bytes_loaded()
            if loaded > reported:
                reporter.batch(index, stream, loaded - reported, loaded_bytes - reported_bytes, loaded)
                reported, reported_bytes = loaded, loaded_bytes
            if not load.chunks.filter(done=False).exists():
                break
            if not crew.busy():
                # Helpers hold the rest (then this thread finds none and ends), or one died and freed its chunk.
                crew.start_thread()
            crew.changed.wait(POLL_SECONDS)  # woken by a chunk done or a thread ending, not a fixed sleep
            crew.changed.clear()
        crew.stop()
        crew.raise_failure()
        ChunkedLoad.objects.filter(pk=load.pk).update(snapshot="")
    totals = load.chunks.aggregate(rows=Sum("rows"), bytes=Sum("bytes"))
    if (totals["rows"] or 0) > reported:  # rows the helpers (or an earlier attempt) loaded count too
        reporter.batch(index, stream, totals["rows"] - reported, max(0, (totals["bytes"] or 0) - reported_bytes), totals["rows"])


def _queue_helpers(load: ChunkedLoad, wanted: int) -> None:
    """Chunks beyond this run's threads: one helper per idle worker of the cluster may take them."""
    from django_q.tasks import async_task

    helpers = min(wanted, cluster_workers() - 1)
    for _ in range(max(0, helpers)):
        async_task("pipelines.chunked.help_load", load.pk, task_name=f"chunks of load {load.pk}", group="pipelines.chunks")


def cluster_workers() -> int:
    """Task workers of every qcluster on this queue, on all hosts, from the stats each publishes to the broker.

    The local setting alone would leave the workers of other hosts idle during a big load; it is the
    answer only where the stats are not shared (the ORM broker with a per-process cache) or not yet saved.
    """
    from django_q.status import Stat

    local = int(settings.Q_CLUSTER.get("workers", 1))
    try:
        stats = Stat.get_all()
    except Exception:  # noqa: BLE001 - the count only sizes the help; a broker that cannot tell gets the local figure
        logger.warning("cannot read the cluster's stats; counting this host's workers only", exc_info=True)
        return local
    return max(local, sum(len(stat.workers) for stat in stats))


def help_load(load_id: int) -> int:
    """A django-q2 task: claim and load chunks of a running load until none is free; the number loaded.

    It finds nothing to do when the load finished before a worker was free, and then ends at once.
    """
    load = ChunkedLoad.objects.select_related("job__source", "job__destination").filter(pk=load_id).first()
    if load is None or not load.snapshot:
        return 0
    job = load.job
    stream = Stream(**load.stream_spec)
    source, destination = job_source(job), job_destination(job)
    parts = destination.open_parts(stream, key=load.parts_key)
    if parts is None:
        return 0
    crew = _Crew(load.pk, stream, source, parts, load.snapshot, watch=True)
    try:
        return crew.claim_inline()
    except Exception:  # noqa: BLE001 - the chunk is free again; the run (or its retry) loads it and reports any error
        logger.warning("a helper of chunked load %s stopped; its chunk is free again", load_id, exc_info=True)
        return 0


class _Crew:
    """The readers of one load in this process: each claims a chunk, reads it, writes its part, marks it done."""

    WATCH_SECONDS = 2.0

    def __init__(self, load_id: int, stream: Stream, source, parts, snapshot: str, *, copies: int = 1, watch: bool = False):
        # copies: chunks read from the source at once (threads beyond it wait for a slot);
        # watch: a helper, whose run may fail or be cancelled meanwhile; it looks at the load now and then
        self.load_id, self.stream, self.source, self.parts, self.snapshot = load_id, stream, source, parts, snapshot
        self.copy_slots = threading.BoundedSemaphore(copies)
        self.watch, self._watched = watch, time.monotonic()
        self.threads: list[threading.Thread] = []
        self.halt = threading.Event()
        self.changed = threading.Event()  # a chunk was done, or a thread ended
        self.failures: list[BaseException] = []
        self.opened: list = []  # (connection, pump) of every chunk being read, to interrupt on a stop
        self._rows = self._bytes = 0
        self._lock = threading.Lock()

    def start_thread(self) -> None:
        thread = threading.Thread(target=self._run_thread, daemon=True, name=f"chunks-{self.load_id}-{len(self.threads)}")
        self.threads.append(thread)
        thread.start()

    def busy(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def rows_loaded(self) -> int:
        return self._rows

    def bytes_loaded(self) -> int:
        return self._bytes

    def raise_failure(self) -> None:
        if self.failures:
            self.stop()
            raise self.failures[0]

    def stop(self) -> None:
        self.halt.set()
        for conn, pump in list(self.opened):
            pump.interrupt(conn)
        for thread in self.threads:
            thread.join(timeout=30)

    def _run_thread(self) -> None:
        try:
            self.claim_inline()
        except BaseException as exc:  # noqa: BLE001 - handed to the run's thread, which raises it (claim_inline stopped the crew)
            self.failures.append(exc)
        finally:
            connection.close()  # this thread's own database connection
            self.changed.set()

    def claim_inline(self) -> int:
        """Load chunks in this thread until none is free (or the crew stops); how many."""
        loaded = 0
        while not self.halt.is_set():
            slot = _CopySlot(self.copy_slots, self.halt)
            if not slot.acquire():
                break
            try:
                with transaction.atomic():
                    # Only while the load is read in this crew's snapshot: a failed run clears it, and a
                    # retry sets its own, so the helpers of an earlier attempt stop claiming.
                    chunk = (
                        LoadChunk.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(load_id=self.load_id, load__snapshot=self.snapshot, done=False)
                        .order_by("index")
                        .first()
                    )
                    if chunk is None:
                        return loaded
                    self._load(chunk, slot)
            except BaseException:
                self.halt.set()  # before the slot goes: the thread waiting for it must not start another chunk
                raise
            finally:
                slot.release()
            loaded += 1
            self.changed.set()
        return loaded

    def _still_wanted(self) -> bool:
        """A helper's check that the run still reads in its snapshot (a cancel or failure clears it)."""
        if not self.watch or time.monotonic() - self._watched < self.WATCH_SECONDS:
            return True
        self._watched = time.monotonic()
        return ChunkedLoad.objects.filter(pk=self.load_id, snapshot=self.snapshot).exists()

    def _load(self, chunk: LoadChunk, slot: "_CopySlot") -> None:
        newest = None
        column = self.stream.cursor_field if self.stream.sync_mode == "incremental" else None

        def counted(batches):
            nonlocal newest
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if self.halt.is_set() or not self._still_wanted():
                    raise TaskCancelled("the load stopped")
                if column:
                    highest = pc.max(batch.column(column)).as_py()
                    if highest is not None and (newest is None or highest > newest):
                        newest = highest
                with self._lock:
                    self._rows += batch.num_rows
                    self._bytes += batch.nbytes
                yield batch
            slot.release()  # every row is in: the next chunk's COPY may start while this part is finished

        batches = self.source.read_chunk(self.stream, chunk.bounds, snapshot=self.snapshot, opened=self.opened)
        try:
            rows, nbytes = self.parts.write_part(chunk.index, counted(batches))
        finally:
            batches.close()
        chunk.done, chunk.rows, chunk.bytes = True, rows, nbytes
        chunk.cursor_max = encode_cursor(newest)
        chunk.loaded_by = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:200]
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["done", "rows", "bytes", "cursor_max", "loaded_by", "finished_at"])


class _CopySlot:
    """One of a crew's copy slots, given up once: when the chunk's rows are all in, or when the claim ends."""

    def __init__(self, slots: threading.BoundedSemaphore, halt: threading.Event):
        self._slots, self._halt, self._held = slots, halt, False

    def acquire(self) -> bool:
        """Wait for a slot; False when the crew stops meanwhile."""
        while not self._halt.is_set():
            if self._slots.acquire(timeout=0.2):
                if self._halt.is_set():
                    self._slots.release()
                    return False
                self._held = True
                return True
        return False

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()


def _newest_cursor(stream: Stream, chunks: list[LoadChunk]):
    if stream.sync_mode != "incremental" or not stream.cursor_field:
        return None
    column_type = stream.columns[stream.cursor_field]
    values = [decode_cursor(chunk.cursor_max, column_type) for chunk in chunks if chunk.cursor_max is not None]
    return max(values) if values else None
