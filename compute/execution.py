"""What a worker does for one compute job: fetch inputs, run the sandbox, publish results and the log.

The algorithm runs in compute.sandbox, never in this process. Every stage is written
through task_transition so the status codes 2..5 and the log follow the job; a stop
request is noticed within a second and kills the sandbox.
"""

import contextlib
import json
import tempfile
import time
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from compute.datasets import files_decrypt
from compute.fetch import FetchRefused, fetch
from compute.jobs import job_results_remove
from compute.models import ComputeJob, OceanStatus
from compute.sandbox import Limits, Sandbox, regular_files
from kernel.errors import LeaseLost, TaskCancelled, TaskFailed
from kernel.models import TaskLogLine, TaskStatus
from kernel.runner import TaskRun, task_transition
from kernel.scratch import remove_tree, work_root
from kernel.storage import delete_prefix

POLL_SECONDS = 0.2


class ComputeStopped(TaskFailed):
    """The algorithm was stopped (a limit) or failed; the message is the reason shown in statusReason.

    Final: the same algorithm on the same data fails again, so the runner does not retry it. Any
    other error, and a worker killed mid-job, gets another attempt, which starts from a clean folder.
    """


def _stage(run: TaskRun, stage: int) -> None:
    label = OceanStatus(stage).label
    task_transition(
        run.task, TaskStatus.RUNNING, message=f"{stage}: {label}", holding_lease=run.lease_token, stage=stage, status_text=label
    )
    run.check_cancelled(force=True)


def _safe_name(did: str) -> str:
    return did.replace("/", "_")


def _fetch_inputs(run: TaskRun, job: ComputeJob, folder: Path) -> None:
    folder.mkdir(parents=True)
    for index, item in enumerate(files_decrypt(job.dataset.encrypted_files)):
        try:
            opened = fetch(item["url"])
            with open(folder / str(index), "wb") as out:
                for chunk in opened.chunks():
                    out.write(chunk)
                    run.check_cancelled()
        except FetchRefused as exc:
            raise ComputeStopped(f"input file {index} cannot be fetched: {exc.message}") from None
        run.log(f"input file {index} ready ({(folder / str(index)).stat().st_size} bytes)")


def _algorithm(job: ComputeJob) -> tuple[str, str, str]:
    """(code, entrypoint, algorithm DID) of a published algorithm or of algorithmMeta."""
    if job.algorithm_id:
        return job.algorithm.code, job.algorithm.entrypoint, job.algorithm.did
    meta = job.algorithm_meta
    return meta["rawcode"], meta.get("container", {}).get("entrypoint", "python3 $ALGO"), ""


def _publish(run: TaskRun, job: ComputeJob, sandbox: Sandbox, *, with_outputs: bool) -> None:
    """Store this attempt's outputs and log under a folder of its own, then swap them in under the lease.

    An earlier attempt killed mid-publish, or one that lost its lease and is still running, writes
    only into its own attempt folder; whichever attempt holds the lease at the swap wins, and the
    other folders are removed after it.
    """
    prefix = f"compute/{job.job_id}"
    mine = f"attempt-{run.attempt}"
    results = []
    if with_outputs:
        for index, path in enumerate(regular_files(sandbox.outputs)):
            relative = path.relative_to(sandbox.outputs).as_posix()
            with open(path, "rb") as handle:
                stored = default_storage.save(f"{prefix}/{mine}/outputs/{relative}", File(handle))
            results.append({"index": index, "filename": relative, "size": path.stat().st_size, "path": stored})
    with open(sandbox.log_path, "rb") as handle:
        log_path = default_storage.save(f"{prefix}/{mine}/algorithm.log", File(handle))
    with transaction.atomic():
        holds = ComputeJob.objects.select_for_update().filter(pk=job.pk, lease_token=run.lease_token).exists()
        if holds:
            ComputeJob.objects.filter(pk=job.pk).update(results=results, log_path=log_path)
    if not holds:
        delete_prefix(default_storage, f"{prefix}/{mine}")
        raise LeaseLost()
    job.results, job.log_path = results, log_path
    delete_prefix(default_storage, prefix, keep=[mine])  # and the layout before attempt folders: top-level files
    # The owner may have deleted the job while this attempt was publishing: honour the delete.
    if ComputeJob.objects.filter(pk=job.pk, removed_at__isnull=False).exists():
        job_results_remove(job=job)


def _attempt_workdir(run: TaskRun, job: ComputeJob) -> Path:
    """A fresh scratch folder for this attempt, under the job's folder; earlier attempts' are removed.

    Per attempt rather than per job, so an attempt that lost its lease but still runs never
    shares or deletes its successor's files (it only removes its own folder when it ends).
    """
    parent = work_root() / job.workdir_name
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in parent.glob("attempt-*"):
        remove_tree(stale)
    return Path(tempfile.mkdtemp(prefix=f"attempt-{run.attempt}-", dir=parent))


def _remove_workdir(work: Path) -> None:
    remove_tree(work)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # the job's folder, once no attempt folder is left in it


def compute_job_execute(run: TaskRun) -> None:
    job: ComputeJob = run.task
    limits = Limits.from_settings()
    work = _attempt_workdir(run, job)
    try:
        _stage(run, OceanStatus.CONFIGURING)
        _fetch_inputs(run, job, work / "inputs" / _safe_name(job.dataset.did))
        code, entrypoint, algorithm_did = _algorithm(job)
        (work / "algorithm").write_text(code)
        (work / "algorithm.log").touch()
        env = {"DIDS": json.dumps([job.dataset.did]), "TRANSFORMATION_DID": algorithm_did}
        sandbox = Sandbox(work=work, entrypoint=entrypoint, env=env, limits=limits)

        _stage(run, OceanStatus.RUNNING)
        pid = sandbox.start()
        ComputeJob.objects.filter(pk=job.pk).update(sandbox_pid=pid)
        run.log(
            f"algorithm started in the sandbox (pid {pid}); limits: {limits.cpu_seconds} s CPU, "
            f"{limits.wall_seconds} s wall clock, {limits.memory_bytes // 2**20} MB memory, {limits.output_bytes} bytes output"
        )
        try:
            while (outcome := sandbox.poll()) is None:
                time.sleep(POLL_SECONDS)
                run.check_cancelled()
        except TaskCancelled:
            sandbox.kill("stopped by request")
            run.log("stop requested: the sandbox was killed", level=TaskLogLine.Level.WARNING)
            raise
        finally:
            sandbox.kill("the worker stopped waiting")

        _stage(run, OceanStatus.FILTERING)
        if outcome.ok:
            run.log(f"algorithm finished; {len(regular_files(sandbox.outputs))} output file(s)")
        else:
            run.log(f"algorithm stopped: {outcome.reason}", level=TaskLogLine.Level.ERROR)
        _stage(run, OceanStatus.PUBLISHING)
        _publish(run, job, sandbox, with_outputs=outcome.ok)
        if not outcome.ok:
            raise ComputeStopped(outcome.reason)
    except ComputeStopped as exc:
        ComputeJob.objects.filter(pk=job.pk, lease_token=run.lease_token).update(stop_reason=str(exc)[:500])
        raise
    finally:
        _remove_workdir(work)
