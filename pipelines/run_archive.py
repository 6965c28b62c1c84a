"""A run's logs as OLake hands them out: a tar.gz with the run's log and the job's sync state."""

import io
import json
import tarfile
import tempfile

from django.utils import timezone

from kernel.logs import task_log_text_chunks
from pipelines.models import JobTask, StreamState

SPOOL_BYTES = 8 * 1024 * 1024  # logs are bounded (D2D_TASK_LOG_MAX_LINES): most fit in memory, the rest spill to disk


def job_state(job_id: int) -> dict:
    """The job's per-stream state, as OLake's state.json holds cursors."""
    return {
        state.stream: {"cursor_field": state.cursor_field or None, "cursor": state.cursor_value, "generation": state.generation}
        for state in StreamState.objects.filter(job_id=job_id).order_by("stream")
    }


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size, member.mtime, member.mode = len(data), int(timezone.now().timestamp()), 0o644
    archive.addfile(member, io.BytesIO(data))


def run_archive(*, task: JobTask, name: str):
    """An open file positioned at the start of ``<name>/olake.log`` and ``<name>/state.json``, gzipped."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with tempfile.TemporaryFile() as log:
        for chunk in task_log_text_chunks(task):
            log.write(chunk.encode())
        size = log.tell()
        log.seek(0)
        with tarfile.open(fileobj=spool, mode="w:gz") as archive:
            member = tarfile.TarInfo(f"{name}/olake.log")
            member.size, member.mtime, member.mode = size, int(timezone.now().timestamp()), 0o644
            archive.addfile(member, log)
            _add(archive, f"{name}/state.json", json.dumps({"streams": job_state(task.job_id)}, indent=2, default=str).encode())
    spool.seek(0)
    return spool
