"""Compute through the API and a real worker: a row count comes back to its owner only; stop gives 7, delete 8."""

import os
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.files.storage import default_storage

from compute.models import ComputeJob, Order
from compute.orders import order_mark_paid
from tests.compute.conftest import signed
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.storage]


def pay_for_compute(api, dataset, account, tx: str):
    body = {"documentId": dataset.did, "serviceId": 1, "serviceType": "compute", "consumerAddress": account.address}
    assert api(None).post("/api/v1/services/initialize", body, format="json").status_code == 200
    order_mark_paid(order=Order.objects.get(consumer_address=account.address, service_index="1", paid=False), tx_id=tx)


def start(api, dataset, account, tx: str, **algorithm):
    fields = {"documentId": dataset.did, "serviceId": 1, "serviceType": "compute", "transferTxId": tx, **algorithm}
    response = api(None).post("/api/v1/services/compute", signed("compute_start", account, fields), format="json")
    assert response.status_code == 200, response.content
    [status] = response.json()
    assert status["status"] == 1 and status["statusText"] == "Job started" and status["owner"] == account.address
    return status["jobId"]


def call(api, method: str, account, **fields):
    body = signed("compute_status", account, fields)
    client = api(None)
    if method == "get":
        return client.get("/api/v1/services/compute", body)
    return getattr(client, method)("/api/v1/services/compute", body, format="json")


def status_of(api, account, job_id) -> dict:
    response = call(api, "get", account, jobId=job_id)
    assert response.status_code == 200, response.content
    return response.json()[0]


def open_signed(api, account, url: str):
    query = dict(parse_qsl(urlsplit(url).query))
    body = signed("compute_result", account, {**query, "consumerAddress": account.address})
    return api(None).get(urlsplit(url).path, body)


@pytest.fixture
def worker(cluster_factory, allow_file_server):
    return cluster_factory(
        D2D_COMPUTE_URL_ALLOWLIST=allow_file_server.hostport, D2D_COMPUTE_CPU_SECONDS=5, D2D_COMPUTE_WALL_SECONDS=60
    )


def test_it_counts_a_csv_datasets_rows_and_serves_the_result_to_its_owner_only(
    api, worker, dataset, row_counter, consumer, stranger
):
    pay_for_compute(api, dataset, consumer, "0xc1")
    job_id = start(api, dataset, consumer, "0xc1", algorithmDid=row_counter.did)
    status = wait_until(lambda: (found := status_of(api, consumer, job_id))["status"] in (6, 7) and found, timeout=60)
    assert status["status"] == 6, (status, worker.log_text()[-2000:])
    assert status["statusText"] == "Job completed" and status["documentId"] == dataset.did
    assert status["dateCreated"].endswith("Z") and status["dateFinished"].endswith("Z")

    [result_url] = status["resultsUrls"]
    result = open_signed(api, consumer, result_url)
    assert result.status_code == 200 and b"".join(result.streaming_content) == b'{"rows": 5}'
    log = open_signed(api, consumer, status["algorithmLogUrl"])
    assert b"counted 5" in b"".join(log.streaming_content)
    assert open_signed(api, stranger, result_url).status_code == 404
    assert call(api, "get", stranger, jobId=job_id).json() == []

    job = ComputeJob.objects.get(job_id=job_id)
    paths = [item["path"] for item in job.results] + [job.log_path]
    assert all(default_storage.exists(path) for path in paths)
    deleted = call(api, "delete", consumer, jobId=job_id)
    assert deleted.status_code == 200 and deleted.json()[0]["status"] == 8
    assert deleted.json()[0]["statusText"] == "Job deleted successfully" and deleted.json()[0]["resultsUrls"] == []
    assert not any(default_storage.exists(path) for path in paths)
    assert open_signed(api, consumer, result_url).status_code == 404


@pytest.mark.runner
def test_it_stops_a_running_job_and_kills_its_sandbox(api, worker, dataset, consumer):
    pay_for_compute(api, dataset, consumer, "0xc2")
    code = "import time\nprint('sleeping', flush=True)\nwhile True:\n    time.sleep(0.1)\n"
    job_id = start(api, dataset, consumer, "0xc2", algorithmMeta={"rawcode": code, "container": {"entrypoint": "python3 $ALGO"}})
    wait_until(lambda: status_of(api, consumer, job_id)["status"] == 3, timeout=60, message="algorithm running")
    job = wait_until(lambda: ComputeJob.objects.filter(job_id=job_id, sandbox_pid__isnull=False).first(), message="pid")
    assert os.path.exists(f"/proc/{job.sandbox_pid}")

    stopped = call(api, "put", consumer, jobId=job_id)
    assert stopped.status_code == 200 and stopped.json()[0]["status"] == 7
    job = wait_until(lambda: (found := ComputeJob.objects.get(job_id=job_id)).is_finished and found, timeout=20)
    final = status_of(api, consumer, job_id)
    assert job.status == "cancelled" and (final["statusText"], final["statusReason"]) == ("Job stopped", "stopped by the owner")
    wait_until(lambda: not os.path.exists(f"/proc/{job.sandbox_pid}"), timeout=5, message="sandbox gone")
    assert "stop requested: the sandbox was killed" in [line.message for line in job.log_lines()]
