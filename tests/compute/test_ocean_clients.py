"""Ocean's own Python clients drive a live d2d: ocean-lib 3.1.2 (v4 bodies) and 0.8.6 (legacy signatures).

Each client runs in a virtualenv of its own (tests/compute/ocean_clients), built once and kept
between runs; a driver script in that environment calls the library's DataServiceProvider and
answers over a pipe, while this test plays the provider's staff (publishing, marking orders paid).
d2d runs as uvicorn, unable to resolve anything but loopback, plus a real qcluster worker.
"""

import base64
import json
import selectors
import subprocess
import sys
import time

import pytest
import urllib3
from eth_account import Account

from accounts.services import project_create
from compute.datasets import algorithm_publish, dataset_publish
from compute.keys import provider_address
from compute.models import ComputeJob, Nonce, Order
from compute.orders import order_mark_paid
from compute.signatures import sign
from tests.compute.conftest import COUNT_ROWS, CSV, DATATOKEN
from tests.compute.ocean_clients import V3, V08, venv_python
from tests.support.processes import ROOT, child_env, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLEEPER = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"
# The first run builds the client's virtualenv from PyPI inside the test (a session fixture): allow for it.
BUILDS_A_CLIENT = pytest.mark.timeout(1500)
META = {"rawcode": COUNT_ROWS, "language": "py", "version": "0.1", "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.10"}}


@pytest.fixture(scope="session")
def ocean_v3_python():
    return venv_python(V3)


@pytest.fixture(scope="session")
def ocean_v08_python():
    return venv_python(V08)


@pytest.fixture
def live_d2d(tmp_path, cluster_factory, file_server):
    """Start d2d (uvicorn + a worker) with extra settings; yields its URL. Stopped at teardown."""
    started = []

    def start(**extra):
        settings = {"D2D_COMPUTE_URL_ALLOWLIST": file_server.hostport, "ALLOWED_HOSTS": "127.0.0.1", **extra}
        port = free_port()
        log = open(tmp_path / "d2d-web.log", "ab")
        web = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.loopback_server", "d2d.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=child_env(**settings), stdout=log, stderr=subprocess.STDOUT,
        )
        started.append(web)
        cluster_factory(**settings)
        wait_for_port(port, timeout=60, process=web)
        return f"http://127.0.0.1:{port}"

    yield start
    for web in started:
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()


class Driver:
    """One client library in its own process: call(op=..., ...) returns its answer or raises with its error."""

    def __init__(self, python, client, url: str, account, log_path):
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [str(python), str(client.driver), url, account.key.hex()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def answer(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        if not self.selector.select(timeout=120):
            raise TimeoutError(f"the client did not answer {command['op']} within 120 s")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the client exited ({self.process.poll()}); its log: {self.log.name}")
        return json.loads(line)

    def call(self, **command):
        answer = self.answer(**command)
        assert "error" not in answer, f"{command['op']}: {answer['error']}"
        return answer["ok"]

    def error(self, **command) -> str:
        answer = self.answer(**command)
        assert "error" in answer, f"{command['op']} should have failed: {answer}"
        return answer["error"]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def drivers(tmp_path):
    opened = []

    def open_driver(python, client, url, account):
        driver = Driver(python, client, url, account, tmp_path / f"{client.name}.log")
        opened.append(driver)
        return driver

    yield open_driver
    for driver in opened:
        driver.close()


@pytest.fixture
def staff(make_user):
    return make_user("provider-staff", is_staff=True)


def publish(staff, encrypted: str):
    project = project_create(project_id="ocean", name="Ocean", owner=staff)
    dataset = dataset_publish(
        project=project, name="five rows", datatoken_address=DATATOKEN, encrypted_files=encrypted, by=staff,
        services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True}],
    )
    algorithm = algorithm_publish(project=project, name="count rows", code=COUNT_ROWS, by=staff)
    return dataset, algorithm


def pay(order_id: int, tx: str):
    """The provider's staff record the payment (the ledger verifier), as the admin's action does."""
    order_mark_paid(order=Order.objects.get(pk=order_id), tx_id=tx)


def finished(driver, did, job_id, **extra) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = driver.call(op="compute_status", did=did, jobId=job_id, serviceId="1", **extra)
        if status["status"] in (6, 7):
            return status
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} did not finish: {status}")


def running(job_id: str) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ComputeJob.objects.get(job_id=job_id).sandbox_pid:
            return True
        time.sleep(0.2)
    return False


@BUILDS_A_CLIENT
def test_ocean_lib_3_uses_d2d_unmodified(ocean_v3_python, live_d2d, drivers, file_server, staff):
    url = live_d2d()
    consumer = Account.create()
    client = drivers(ocean_v3_python, V3, url, consumer)

    root = client.call(op="root")
    assert root["valid"] is True and root["providerAddress"] == provider_address()
    assert client.call(op="nonce") == 1  # the stored nonce (none yet) plus one

    files_document = {"datatokenAddress": DATATOKEN, "nftAddress": DATATOKEN, "files": [{"type": "url", "url": file_server.url("/data.csv"), "method": "GET"}]}
    encrypted = client.call(op="encrypt", document=files_document)
    dataset, algorithm = publish(staff, encrypted)
    did = dataset.did

    info = client.call(op="fileinfo", did=did, serviceId="0", serviceType="access")
    assert info == [{"index": 0, "type": "url", "valid": True, "contentType": "text/csv", "contentLength": len(CSV)}]
    assert client.call(op="fileinfo_valid", did=did, serviceId="0") is True

    quote = client.call(op="initialize", did=did, serviceId="0", serviceType="access")
    assert quote["numTokens"] == 1 and quote["to"] == provider_address() and quote["providerFee"]["providerFeeAddress"] == provider_address()
    assert [order["orderId"] for order in client.call(op="orders")] == [quote["orderId"]]
    pay(quote["orderId"], "0xd0d0")
    assert base64.b64decode(client.call(op="download", did=did, serviceId="0", serviceType="access", tx="0xd0d0")) == CSV

    [environment] = client.call(op="environments")
    assert environment["id"] == "d2d-sandbox"

    # Raw code, to completion: the result, then the logs through the client's results list.
    order = client.call(op="initialize", did=did, serviceId="1", serviceType="compute")["orderId"]
    pay(order, "0xc0c1")
    job = client.call(op="compute_start", did=did, serviceId="1", tx="0xc0c1", environment=environment["id"], meta=META)
    done = finished(client, did, job["jobId"])
    assert done["status"] == 6, done
    assert [item["type"] for item in done["results"]] == ["output", "algorithmLog"]
    assert json.loads(base64.b64decode(client.call(op="compute_result", did=did, serviceId="1", jobId=job["jobId"], index=0))) == {"rows": 5}
    [log] = client.call(op="compute_result_logs", did=did, serviceId="1", jobId=job["jobId"], logType="algorithmLog")
    assert b"counted 5" in base64.b64decode(log)
    [output] = client.call(op="compute_result_logs", did=did, serviceId="1", jobId=job["jobId"], logType="output")
    assert json.loads(base64.b64decode(output)) == {"rows": 5}

    # A published algorithm, named by its DID.
    order = client.call(op="initialize", did=did, serviceId="1", serviceType="compute")["orderId"]
    pay(order, "0xc0c2")
    job = client.call(op="compute_start", did=did, serviceId="1", tx="0xc0c2", environment=environment["id"], algorithmDid=algorithm.did)
    assert finished(client, did, job["jobId"])["status"] == 6
    assert ComputeJob.objects.get(job_id=job["jobId"]).algorithm == algorithm

    # Stop a running job, then delete it.
    order = client.call(op="initialize", did=did, serviceId="1", serviceType="compute")["orderId"]
    pay(order, "0xc0c3")
    sleeper = {**META, "rawcode": SLEEPER}
    job = client.call(op="compute_start", did=did, serviceId="1", tx="0xc0c3", environment=environment["id"], meta=sleeper)
    assert running(job["jobId"])
    assert client.call(op="compute_stop", did=did, serviceId="1", jobId=job["jobId"])["status"] == 7
    assert client.call(op="compute_delete", did=did, serviceId="1", jobId=job["jobId"])["status"] == 8
    assert ComputeJob.objects.get(job_id=job["jobId"]).removed_at is not None

    # Refusals through the client: an unknown service, an unpaid order. Nothing is recorded.
    orders_before = list(Order.objects.values_list("pk", "paid", "tx_id"))
    assert "has no service 9" in client.error(op="initialize", did=did, serviceId="9", serviceType="access")
    assert "no order for this dataset" in client.error(op="download", did=did, serviceId="0", serviceType="access", tx="0xunpaid")
    assert list(Order.objects.values_list("pk", "paid", "tx_id")) == orders_before


def post_json(url: str, body: dict):
    response = urllib3.request("POST", url, body=json.dumps(body), headers={"Content-Type": "application/json"}, retries=False)
    return response.status, json.loads(response.data)


def test_bad_requests_to_the_live_provider_get_the_error_body_and_change_nothing(live_d2d, file_server, staff):
    """What the client library cannot be made to send (another signer, a replay, no dataset), sent as v4 bodies."""
    url = live_d2d()
    consumer, stranger = Account.create(), Account.create()
    project = project_create(project_id="bad", name="Bad", owner=staff)
    dataset = dataset_publish(
        project=project, name="rows", datatoken_address=DATATOKEN, by=staff, files=[{"url": file_server.url("/data.csv")}],
        services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True}],
    )
    order = Order.objects.create(
        dataset=dataset, service_index="1", service_type="compute", consumer_address=consumer.address,
        provider_address=provider_address(), datatoken_address=DATATOKEN, num_tokens=2,
    )
    pay(order.pk, "0xpaid")
    Nonce.objects.create(address=consumer.address, value=10)

    def v4(nonce="11", signer=consumer, **dataset_fields):
        return {
            "dataset": {"documentId": dataset.did, "serviceId": "1", "transferTxId": "0xpaid", **dataset_fields},
            "algorithm": {"meta": {"rawcode": "print(1)", "container": {"entrypoint": "python $ALGO"}}},
            "consumerAddress": consumer.address, "nonce": nonce,
            "signature": sign(f"{consumer.address}{dataset.did}{nonce}", signer.key),
        }

    cases = [
        (v4(signer=stranger), 401, "signature does not match consumerAddress"),
        (v4(nonce="10"), 401, "nonce 10 was already used"),
        ({key: value for key, value in v4().items() if key != "dataset"}, 400, "dataset must be an object"),
        (v4(serviceId="7"), 404, "has no service 7"),
        (v4(transferTxId="0xunpaid"), 400, "no order for this dataset"),
    ]
    for body, status, error in cases:
        answered, payload = post_json(f"{url}/api/v1/services/compute", body)
        # 002's error body: {"error"}, plus {"errors": {field: [...]}} when one field is at fault
        assert answered == status and {"error"} <= set(payload) <= {"error", "errors"} and error in payload["error"], payload
        assert not ComputeJob.objects.exists()
        assert Nonce.objects.get(address=consumer.address).value == 10
        assert list(Order.objects.values_list("pk", "paid", "tx_id")) == [(order.pk, True, "0xpaid")]
    answered, payload = post_json(f"{url}/api/v1/services/compute", v4())
    assert answered == 200 and payload[0]["owner"] == consumer.address  # the nonce is still free


@BUILDS_A_CLIENT
def test_ocean_lib_0_8_downloads_and_computes_with_the_legacy_setting_on(ocean_v08_python, live_d2d, drivers, file_server, staff):
    url = live_d2d(D2D_COMPUTE_LEGACY_SIGNATURES="true")
    consumer = Account.create()
    client = drivers(ocean_v08_python, V08, url, consumer)

    assert client.call(op="root") == {"valid": True, "providerAddress": provider_address()}
    assert client.call(op="nonce") == 0
    did = "did:op:" + "08" * 32
    encrypted = client.call(op="encrypt", did=did, files=[{"url": file_server.url("/data.csv"), "contentType": "text/csv"}])
    assert encrypted.startswith("0x")  # the client answers "" for anything but the old provider's 201
    assert Nonce.objects.get(address=consumer.address).value == 1  # the server advanced it
    project = project_create(project_id="legacy", name="Legacy", owner=staff)
    dataset_publish(
        project=project, did=did, name="five rows", datatoken_address=DATATOKEN, encrypted_files=encrypted, by=staff,
        services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True}],
    )
    assert client.call(op="fileinfo_valid", did=did) is True

    quote = client.call(op="initialize", did=did, serviceId=0, serviceType="access", datatoken=DATATOKEN)
    assert quote == {"amount": 10**18, "dataToken": DATATOKEN, "to": provider_address(), "nonce": 1}
    [order] = client.call(op="orders")
    pay(order["orderId"], "0x08d1")
    downloaded = client.call(op="download", did=did, serviceId=0, datatoken=DATATOKEN, tx="0x08d1")
    assert [base64.b64decode(data) for data in downloaded["data"]] == [CSV]

    client.call(op="initialize", did=did, serviceId=1, serviceType="compute", datatoken=DATATOKEN)
    pay(client.call(op="orders")[0]["orderId"], "0x08c1")
    job = client.call(op="compute_start", did=did, serviceId=1, tx="0x08c1", meta=META)
    deadline = time.monotonic() + 120
    while (status := client.call(op="compute_status", did=did, jobId=job["jobId"]))["status"] not in (6, 7) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status["status"] == 6, status
    assert json.loads(base64.b64decode(client.call(op="compute_result", jobId=job["jobId"], index=0))) == {"rows": 5}
    assert b"counted 5" in base64.b64decode(client.call(op="compute_result", jobId=job["jobId"], index=1))  # the log

    client.call(op="initialize", did=did, serviceId=1, serviceType="compute", datatoken=DATATOKEN)
    pay(client.call(op="orders")[0]["orderId"], "0x08c2")
    job = client.call(op="compute_start", did=did, serviceId=1, tx="0x08c2", meta={**META, "rawcode": SLEEPER})
    assert running(job["jobId"])
    assert client.call(op="compute_stop", did=did, jobId=job["jobId"])["status"] == 7
    assert client.call(op="compute_delete", did=did, jobId=job["jobId"])["status"] == 8
