"""SIGKILL of the worker while its algorithm runs: the sandbox dies with it, the retry publishes one whole run.

Real parts throughout: a qcluster process, bwrap, the loopback file server of the dataset.
"""

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from compute.models import ComputeJob
from kernel.models import TaskStatus
from kernel.runner import recover_stale_tasks, sweep_scratch_folders
from kernel.scratch import remove_tree
from tests.compute.test_compute_jobs import open_signed, pay_for_compute, start, status_of
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Writes one output, pauses (the kill lands here), writes the second and says which attempt it was.
ALGORITHM = """
import os, time
first = open('/data/outputs/first.txt', 'w')
first.write('one'); first.close()
print('first written', flush=True)
time.sleep(3)
open('/data/outputs/second.txt', 'w').write('two')
print('second written', flush=True)
"""


def stored_files(prefix: str) -> set[str]:
    try:
        folders, names = default_storage.listdir(prefix)
    except FileNotFoundError:
        return set()
    found = {f"{prefix}/{name}" for name in names}
    for folder in folders:
        found |= stored_files(f"{prefix}/{folder}")
    return found


@pytest.mark.runner
def test_it_reruns_a_compute_job_whose_worker_was_killed_and_publishes_one_whole_run(
    api, cluster_factory, allow_file_server, dataset, consumer
):
    cluster = cluster_factory(
        D2D_COMPUTE_URL_ALLOWLIST=allow_file_server.hostport, D2D_COMPUTE_CPU_SECONDS=5, D2D_COMPUTE_WALL_SECONDS=60
    )
    pay_for_compute(api, dataset, consumer, "0xk1")
    job_id = start(api, dataset, consumer, "0xk1", algorithmMeta={"rawcode": ALGORITHM, "container": {"entrypoint": "python3 $ALGO"}})
    job = wait_until(lambda: ComputeJob.objects.filter(job_id=job_id, sandbox_pid__isnull=False).first(), timeout=60, message="sandbox")
    workdir = Path(settings.DATA_DIR) / "work" / f"compute-{job_id}"
    wait_until(lambda: list(workdir.glob("attempt-1-*/outputs/first.txt")), timeout=30, interval=0.05, message="the first output")

    for pid in cluster.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not os.path.exists(f"/proc/{job.sandbox_pid}"), timeout=10, message="the sandbox to die with its worker")
    assert status_of(api, consumer, job_id)["status"] == 3, "still shown running until its lease lapses"
    assert ComputeJob.objects.get(job_id=job_id).results == []

    wait_until(lambda: recover_stale_tasks() > 0, timeout=30, interval=0.5, message="the lease to lapse")
    status = wait_until(lambda: (found := status_of(api, consumer, job_id))["status"] in (6, 7) and found, timeout=90)

    job = ComputeJob.objects.get(job_id=job_id)
    assert status["status"] == 6, (status, cluster.log_text()[-2000:])
    assert job.status == TaskStatus.SUCCEEDED and job.attempts == 2
    messages = [line.message for line in job.log_lines()]
    assert "attempt 1 stopped without finishing (worker killed or over the time limit)" in messages
    assert messages.count("succeeded") == 1

    assert sorted(item["filename"] for item in job.results) == ["first.txt", "second.txt"]
    assert stored_files(f"compute/{job_id}") == {item["path"] for item in job.results} | {job.log_path}
    assert all(path.startswith(f"compute/{job_id}/attempt-2/") for path in stored_files(f"compute/{job_id}"))
    bodies = {item["filename"]: b"".join(open_signed(api, consumer, url).streaming_content)
              for item, url in zip(job.results, status["resultsUrls"])}
    assert bodies == {"first.txt": b"one", "second.txt": b"two"}
    log = b"".join(open_signed(api, consumer, status["algorithmLogUrl"]).streaming_content)
    assert log.count(b"first written") == 1 and b"second written" in log, "the log of the whole second run only"
    assert not workdir.exists(), "the job folder is removed after the run"


def test_the_hourly_sweep_removes_job_folders_no_attempt_uses(dataset, consumer):
    jobs = {
        status: ComputeJob.objects.create(project=dataset.project, dataset=dataset, owner_address=consumer.address, status=status)
        for status in (TaskStatus.FAILED, TaskStatus.RUNNING)
    }
    work = Path(settings.DATA_DIR) / "work"
    folders = {status: work / f"compute-{job.job_id}" / "attempt-1-x" for status, job in jobs.items()}
    folders["unknown"] = work / "compute-0123abcd" / "attempt-1-x"
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "outputs").mkdir()
        (folder / "outputs" / "locked").mkdir(mode=0o500)  # an algorithm's read-only folder

    sweep_scratch_folders()
    assert not folders[TaskStatus.FAILED].parent.exists() and not folders["unknown"].parent.exists()
    assert folders[TaskStatus.RUNNING].exists(), "a live job's folder stays"
    remove_tree(folders[TaskStatus.RUNNING].parent)
