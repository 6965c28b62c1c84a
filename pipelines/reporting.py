"""What a sync run reports as it goes (progress, counts, scrubbed log lines), and the copy loop it reports from."""

import time
from collections.abc import Callable, Iterator

import pyarrow as pa

from kernel.models import TaskLogLine
from kernel.runner import TaskRun
from pipelines.connectors.base import Stream, StreamWriter
from pipelines.models import JobTask
from pipelines.secrets import scrub

Level = TaskLogLine.Level


class RunReporter:
    """Progress, counts and log lines of a run; every line is scrubbed of the configs' secrets."""

    EVERY_SECONDS = 1.0

    def __init__(self, run: TaskRun, secrets: list[str], stream_count: int):
        self.run, self.secrets, self.stream_count = run, secrets, max(1, stream_count)
        self.rows = self.bytes = 0
        self._last = 0.0

    def log(self, message: str, level: str = Level.INFO) -> None:
        self.run.log(scrub(message, self.secrets), level=level)

    def tick(self) -> None:
        self.run.check_cancelled()

    def batch(self, index: int, stream: Stream, rows: int, nbytes: int, stream_rows: int) -> None:
        self.rows += rows
        self.bytes += nbytes
        now = time.monotonic()
        if now - self._last >= self.EVERY_SECONDS:
            self._last = now
            self.save_counts()
            self.run.progress(100 * index / self.stream_count, f"{stream.key}: {stream_rows:,} rows")

    def save_counts(self) -> None:
        task = self.run.task
        task.rows_synced, task.bytes_synced = self.rows, self.bytes
        JobTask.objects.filter(pk=task.pk).update(rows_synced=self.rows, bytes_synced=self.bytes)


def copy_batches(
    writer: StreamWriter,
    batches: Iterator[pa.RecordBatch],
    *,
    stream: Stream,
    reporter: RunReporter,
    index: int,
    each: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
) -> tuple[int, int]:
    """Write every batch, publish, and return (rows, bytes); on any failure nothing is published.

    ``each`` sees every non-empty batch before it is written and returns what to write.
    """
    rows = nbytes = 0
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if each is not None:
                batch = each(batch)
            writer.write(batch)
            rows += batch.num_rows
            nbytes += batch.nbytes
            reporter.batch(index, stream, batch.num_rows, batch.nbytes, rows)
        reporter.tick()
        writer.publish()
    except BaseException:
        writer.abort()
        raise
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    return rows, nbytes
