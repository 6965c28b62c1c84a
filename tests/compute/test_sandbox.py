"""Algorithms run in the sandbox: a socket, a file outside the inputs, too much output or an endless loop
each stop the job with the reason logged (handler run in-process; the algorithm is still in bwrap)."""

import pytest

from compute.models import ComputeJob, OceanStatus
from compute.orders import order_mark_paid, order_quote
from kernel.models import TaskStatus
from kernel.runner import execute, task_enqueue
from tests.compute.conftest import signed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings):
    settings.D2D_COMPUTE_CPU_SECONDS = 2
    settings.D2D_COMPUTE_WALL_SECONDS = 20
    settings.D2D_COMPUTE_OUTPUT_MB = 1
    settings.D2D_COMPUTE_MEMORY_MB = 256


def paid_compute_order(dataset, consumer, tx_id: str):
    quote = order_quote(dataset=dataset, service=dataset.service(1), consumer=consumer.address)
    return order_mark_paid(order=quote, tx_id=tx_id)


def run_raw(dataset, consumer, code: str) -> ComputeJob:
    order = paid_compute_order(dataset, consumer, f"0x{id(code):x}")
    job = ComputeJob.objects.create(
        project=dataset.project, dataset=dataset, owner_address=consumer.address, order=order, max_attempts=3,
        algorithm_meta={"rawcode": code, "container": {"entrypoint": "python3 $ALGO"}},
    )
    task_enqueue(job)
    execute("compute.ComputeJob", str(job.pk))
    job.refresh_from_db()
    return job


def log_of(job) -> str:
    return "\n".join(line.message for line in job.log_lines())


def test_it_stops_an_algorithm_that_opens_a_socket(dataset, consumer, limits, allow_file_server):
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {allow_file_server.port}), timeout=3)\n"
    job = run_raw(dataset, consumer, code)
    assert job.status == TaskStatus.FAILED and job.ocean_status == OceanStatus.STOPPED
    assert job.attempts == 1, "the algorithm's own failure is final: no retry"
    assert "algorithm stopped: algorithm exited with code 1" in log_of(job)
    assert "Connection refused" in job.stop_reason or "unreachable" in job.stop_reason


def test_it_stops_an_algorithm_that_reads_outside_its_inputs(dataset, consumer, limits, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("provider secret")
    job = run_raw(dataset, consumer, f"print(open({str(secret)!r}).read())\n")
    assert job.ocean_status == OceanStatus.STOPPED
    assert "FileNotFoundError" in job.stop_reason and "provider secret" not in log_of(job)


def test_it_stops_an_algorithm_that_writes_too_much(dataset, consumer, limits):
    code = "with open('/data/outputs/big', 'wb') as out:\n    for _ in range(64):\n        out.write(b'x' * 65536)\n"
    job = run_raw(dataset, consumer, code)
    assert job.ocean_status == OceanStatus.STOPPED
    assert "output size limit of 1048576 bytes exceeded" in job.stop_reason
    assert "algorithm stopped: output size limit" in log_of(job)
    assert job.results == [], "a job over its output limit publishes no outputs"


def test_it_stops_an_algorithm_that_loops_forever(dataset, consumer, limits):
    job = run_raw(dataset, consumer, "while True:\n    pass\n")
    assert job.ocean_status == OceanStatus.STOPPED
    assert job.stop_reason == "CPU time limit of 2 s exceeded"
    assert "algorithm stopped: CPU time limit of 2 s exceeded" in log_of(job)
    assert (job.ocean_status_text, job.ocean_status_reason) == ("Job stopped", "CPU time limit of 2 s exceeded")


def test_it_kills_a_sleeping_algorithm_at_the_wall_clock_limit(dataset, consumer, limits, settings):
    settings.D2D_COMPUTE_WALL_SECONDS = 1
    job = run_raw(dataset, consumer, "import time\ntime.sleep(60)\n")
    assert job.stop_reason == "wall-clock limit of 1 s exceeded"


def test_it_stops_an_algorithm_that_takes_too_much_memory(dataset, consumer, limits):
    job = run_raw(dataset, consumer, "blocks = [bytearray(64 * 1024 * 1024) for _ in range(8)]\n")
    assert job.stop_reason == "memory limit of 256 MB exceeded"


def test_it_publishes_regular_output_files_but_never_follows_a_symlink(dataset, consumer, limits, tmp_path):
    secret = tmp_path / "host-secret"
    secret.write_text("host secret")
    code = f"import os\nopen('/data/outputs/ok.txt', 'w').write('fine')\nos.symlink({str(secret)!r}, '/data/outputs/link')\n"
    job = run_raw(dataset, consumer, code)
    assert job.status == "succeeded", job.error
    assert [item["filename"] for item in job.results] == ["ok.txt"]


def test_it_refuses_a_second_job_on_one_compute_order(api, dataset, consumer):
    order = paid_compute_order(dataset, consumer, "0xonce")
    ComputeJob.objects.create(project=dataset.project, dataset=dataset, owner_address=consumer.address, order=order)
    fields = {"documentId": dataset.did, "serviceId": 1, "transferTxId": "0xonce", "algorithmMeta": {"rawcode": "print(1)"}}
    response = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, fields), format="json")
    assert response.status_code == 400 and "already paid for compute job" in response.json()["error"]


def test_it_refuses_raw_code_when_the_dataset_does_not_allow_it(api, dataset, consumer):
    dataset.services[1]["allowRawAlgorithm"] = False
    dataset.save()
    paid_compute_order(dataset, consumer, "0xraw")
    fields = {"documentId": dataset.did, "serviceId": 1, "transferTxId": "0xraw", "algorithmMeta": {"rawcode": "print(1)"}}
    response = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, fields), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "this dataset's compute service does not allow raw algorithms"


def test_it_stops_an_algorithm_that_writes_too_many_files(dataset, consumer, limits):
    job = run_raw(dataset, consumer, "for n in range(1500):\n    open(f'/data/outputs/{n}', 'w').close()\n")
    assert job.stop_reason == "more than 1000 files and folders in /data/outputs" and job.results == []
