"""What Ocean's v4 clients need beside 002: the root document, fileinfo, environments, provider fees, v4 bodies, orders."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from compute.keys import provider_address
from compute.models import ComputeJob, Nonce, Order
from compute.orders import order_mark_paid, order_quote
from compute.signatures import message_for, sign
from tests.compute.conftest import CSV, next_nonce, signed

pytestmark = pytest.mark.django_db


def test_it_gives_api_clients_the_provider_document_and_browsers_the_page_they_always_got(client, settings, tmp_path):
    document = client.get("/", HTTP_ACCEPT="*/*").json()  # what requests (Ocean's clients) and curl send
    assert document["providerAddress"] == provider_address()
    assert document["providerAddresses"] == {"8996": provider_address()}
    assert document["chainIds"] == [8996] and document["software"] == "d2d" and document["version"]
    endpoints = document["serviceEndpoints"]
    assert endpoints["download"] == ["GET", "/api/v1/services/download"]
    assert endpoints["fileinfo"] == ["POST", "/api/v1/services/fileinfo"]
    assert endpoints["computeStart"] == ["POST", "/api/v1/services/compute"]
    assert endpoints["computeDelete"] == ["DELETE", "/api/v1/services/compute"]
    assert endpoints["computeEnvironments"] == ["GET", "/api/v1/services/computeEnvironments"]
    assert {"nonce", "encrypt", "initialize", "computeStatus", "computeStop", "computeResult"} <= set(endpoints)
    for method, path in endpoints.values():  # every route named exists (405 at worst for the wrong method)
        assert client.generic(method, path).status_code != 404
    # A browser: no UI served here, so the 404 it always got; with the UI, its page.
    page = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert client.get("/", HTTP_ACCEPT=page).status_code == 404
    assert client.get("/").status_code == 404  # no Accept at all: as before too
    (tmp_path / "index.html").write_text("<html>the ui</html>")
    settings.D2D_OLAKE_UI_DIR = str(tmp_path)
    response = client.get("/", HTTP_ACCEPT=page)
    assert response.status_code == 200 and b"the ui" in response.content and "Accept" in response["Vary"]
    assert client.get("/", HTTP_ACCEPT="application/json").json()["providerAddress"] == provider_address()


def test_it_checks_each_file_at_its_server_without_showing_the_url(api, dataset, allow_file_server):
    response = api(None).post("/api/v1/services/fileinfo", {"did": dataset.did, "serviceId": "0"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == [{"index": 0, "type": "url", "valid": True, "contentType": "text/csv", "contentLength": len(CSV)}]
    assert allow_file_server.hostport.encode() not in response.content
    del allow_file_server.files["/data.csv"]  # the file is gone from its server
    gone = api(None).post("/api/v1/services/fileinfo", {"did": dataset.did, "serviceId": "0"}, format="json").json()
    assert gone[0]["valid"] is False and allow_file_server.hostport not in json.dumps(gone)


def test_it_refuses_fileinfo_for_an_unknown_service_or_a_bare_url(api, dataset, allow_file_server):
    unknown = api(None).post("/api/v1/services/fileinfo", {"did": dataset.did, "serviceId": "9"}, format="json")
    assert unknown.status_code == 404 and "no service 9" in unknown.json()["error"]
    probe = {"type": "url", "url": allow_file_server.url("/data.csv"), "method": "GET"}
    refused = api(None).post("/api/v1/services/fileinfo", probe, format="json")
    assert refused.status_code == 400 and refused.json()["error"].startswith("fileinfo checks a dataset's files")
    missing = api(None).post("/api/v1/services/fileinfo", {"serviceId": "0"}, format="json")
    assert missing.status_code == 400 and missing.json()["error"] == "did is required"


def test_it_lists_the_sandbox_as_a_compute_environment(api, settings):
    settings.D2D_COMPUTE_WALL_SECONDS, settings.D2D_COMPUTE_MEMORY_MB, settings.D2D_COMPUTE_PRICE_MIN = 120, 2048, "0.5"
    environments = api(None).get("/api/v1/services/computeEnvironments", {"chainId": 8996}).json()
    [environment] = environments["8996"]
    assert environment["id"] == "d2d-sandbox" and environment["maxJobDuration"] == 120 and environment["ramGB"] == 2
    assert environment["priceMin"] == 0.5 and environment["consumerAddress"] == provider_address()
    assert environment["cpuNumber"] >= 1 and environment["free"] is False


def fee_signer(fee: dict) -> str:
    """Recover the fee's signer as a datatoken contract does: keccak of the packed fields, EIP-191."""
    packed = (
        bytes.fromhex(fee["providerData"][2:]) + bytes.fromhex(fee["providerFeeAddress"][2:])
        + bytes.fromhex(fee["providerFeeToken"][2:]) + int(fee["providerFeeAmount"]).to_bytes(32, "big")
        + int(fee["validUntil"]).to_bytes(32, "big")
    )
    signature = bytes.fromhex(fee["r"][2:]) + bytes.fromhex(fee["s"][2:]) + bytes([fee["v"]])
    return Account.recover_message(encode_defunct(primitive=keccak(packed)), signature=signature)


def test_initialize_returns_a_provider_fee_signed_over_the_environments_price(api, dataset, consumer, settings):
    settings.D2D_COMPUTE_PRICE_MIN, settings.D2D_COMPUTE_FEE_TOKEN = "0.5", "0x" + "fe" * 20
    body = {"documentId": dataset.did, "serviceId": 1, "consumerAddress": consumer.address, "validUntil": "4102444800"}
    answer = api(None).get("/api/v1/services/initialize", body).json()
    fee = answer["providerFee"]
    assert fee_signer(fee) == provider_address() == fee["providerFeeAddress"]
    # capped at the wall limit (900 s = 15 minutes) at 0.5 a minute, in 18-decimal units
    assert fee["providerFeeAmount"] == 15 * 5 * 10**17 and fee["validUntil"] == 4102444800
    assert json.loads(bytes.fromhex(fee["providerData"][2:]))["environment"] == "d2d-sandbox"
    access = api(None).get("/api/v1/services/initialize", {**body, "serviceId": 0}).json()["providerFee"]
    assert access["providerFeeAmount"] == 0 and fee_signer(access) == provider_address()
    assert answer["orderId"] == Order.objects.filter(service_index="1").get().pk


def v4_start(dataset, account, tx, *, algorithm: dict, nonce: str | None = None) -> dict:
    """The body ocean-lib 3 posts: it signs consumerAddress + dataset.documentId + nonce."""
    nonce = nonce or next_nonce()
    return {
        "dataset": {"documentId": dataset.did, "serviceId": "1", "transferTxId": tx},
        "environment": "d2d-sandbox",
        "algorithm": algorithm,
        "consumerAddress": account.address,
        "nonce": nonce,
        "signature": sign(f"{account.address}{dataset.did}{nonce}", account.key),
        "additionalInputs": [],
    }


def paid(dataset, account, tx):
    return order_mark_paid(order=order_quote(dataset=dataset, service=dataset.service(1), consumer=account.address), tx_id=tx)


RAW = {"meta": {"rawcode": "print(1)", "url": None, "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3"}}}


def test_it_starts_a_job_from_a_v4_body_with_raw_code_or_an_algorithm_document(api, dataset, consumer, row_counter):
    paid(dataset, consumer, "0xv1")
    response = api(None).post("/api/v1/services/compute", v4_start(dataset, consumer, "0xv1", algorithm=RAW), format="json")
    assert response.status_code == 200, response.content
    job = ComputeJob.objects.get(job_id=response.json()[0]["jobId"])
    assert job.algorithm_meta["rawcode"] == "print(1)" and job.algorithm_meta["container"]["entrypoint"] == "python $ALGO"
    assert response.json()[0]["results"] == []
    paid(dataset, consumer, "0xv2")
    by_did = v4_start(dataset, consumer, "0xv2", algorithm={"documentId": row_counter.did, "serviceId": "0"})
    response = api(None).post("/api/v1/services/compute", by_did, format="json")
    assert response.status_code == 200, response.content
    assert ComputeJob.objects.get(job_id=response.json()[0]["jobId"]).algorithm == row_counter


def test_a_flat_signature_does_not_pass_for_a_v4_body_nor_the_reverse(api, dataset, consumer):
    paid(dataset, consumer, "0xv3")
    body = v4_start(dataset, consumer, "0xv3", algorithm=RAW)
    body["dataset"]["documentId"] = "did:op:" + "0" * 64  # signed for the real one
    response = api(None).post("/api/v1/services/compute", body, format="json")
    assert response.status_code == 401 and response.json()["error"].startswith("signature does not match")
    assert ComputeJob.objects.count() == 0


@pytest.mark.parametrize(
    "change, status, error",
    [
        (lambda body, other: body.pop("dataset"), 400, "dataset must be an object"),
        (lambda body, other: body["dataset"].update(serviceId="7"), 404, "has no service 7"),
        (lambda body, other: body.update(signature=sign("anything", other.key)), 401, "signature does not match"),
        (lambda body, other: body["dataset"].update(transferTxId="0xnotpaid"), 400, "no order for this dataset"),
    ],
)
def test_bad_v4_bodies_get_the_error_body_and_change_nothing(api, dataset, consumer, stranger, change, status, error):
    paid(dataset, consumer, "0xv4")
    Nonce.objects.create(address=consumer.address, value=5)
    orders_before = list(Order.objects.values_list("pk", "paid", "tx_id"))
    body = v4_start(dataset, consumer, "0xv4", algorithm=RAW, nonce="6")
    change(body, stranger)
    response = api(None).post("/api/v1/services/compute", body, format="json")
    assert response.status_code == status and error in response.json()["error"], response.content
    assert ComputeJob.objects.count() == 0
    assert Nonce.objects.get(address=consumer.address).value == 5  # the nonce is still free for a good request
    assert list(Order.objects.values_list("pk", "paid", "tx_id")) == orders_before


def test_a_replayed_v4_body_is_refused(api, dataset, consumer):
    paid(dataset, consumer, "0xv5")
    paid(dataset, consumer, "0xv6")
    body = v4_start(dataset, consumer, "0xv5", algorithm=RAW)
    assert api(None).post("/api/v1/services/compute", body, format="json").status_code == 200
    body["dataset"]["transferTxId"] = "0xv6"  # not part of the message: same signature, same nonce
    replay = api(None).post("/api/v1/services/compute", body, format="json")
    assert replay.status_code == 401 and "was already used" in replay.json()["error"]
    assert ComputeJob.objects.count() == 1


def test_a_consumer_lists_its_own_orders_with_a_signed_request(api, dataset, consumer, stranger):
    first = api(None).get("/api/v1/services/initialize", {"documentId": dataset.did, "serviceId": 0, "consumerAddress": consumer.address})
    api(None).get("/api/v1/services/initialize", {"documentId": dataset.did, "serviceId": 0, "consumerAddress": stranger.address})
    mine = api(None).get("/api/v1/services/orders", signed("orders", consumer, {}))
    assert mine.status_code == 200, mine.content
    [order] = mine.json()
    assert order["orderId"] == first.json()["orderId"] and order["paid"] is False and order["documentId"] == dataset.did
    forged = signed("orders", stranger, {})
    forged["consumerAddress"] = consumer.address
    refused = api(None).get("/api/v1/services/orders", forged)
    assert refused.status_code == 401 and refused.json()["error"].startswith("signature does not match")
    unsigned = api(None).get("/api/v1/services/orders", {"consumerAddress": consumer.address})
    assert unsigned.status_code == 400 and unsigned.json()["error"] == "signature is required"
    [theirs] = api(None).get("/api/v1/services/orders", signed("orders", stranger, {})).json()
    assert theirs["from"] == stranger.address and theirs["orderId"] != order["orderId"]


def test_results_list_outputs_then_the_log_and_index_n_reads_the_log(api, dataset, consumer):
    paid(dataset, consumer, "0xv7")
    response = api(None).post("/api/v1/services/compute", v4_start(dataset, consumer, "0xv7", algorithm=RAW), format="json")
    job = ComputeJob.objects.get(job_id=response.json()[0]["jobId"])
    job.results = [{"index": 0, "filename": "out.json", "size": 2, "path": default_storage.save("t/out.json", ContentFile(b"{}"))}]
    job.log_path = default_storage.save("t/algorithm.log", ContentFile(b"log line\n"))
    job.save()
    status = api(None).get("/api/v1/services/compute", signed("compute_status", consumer, {"jobId": job.job_id})).json()[0]
    assert status["results"] == [
        {"filename": "out.json", "type": "output", "index": 0},
        {"filename": "algorithm.log", "type": "algorithmLog", "index": 1},
    ]
    assert len(status["resultsUrls"]) == 1
    fields = {"jobId": job.job_id, "index": "1"}
    nonce = next_nonce()
    body = {"consumerAddress": consumer.address, **fields, "nonce": nonce}
    body["signature"] = sign(message_for("compute_result", body, nonce), consumer.key)
    log = api(None).get("/api/v1/services/computeResult", body)
    assert log.status_code == 200 and b"".join(log.streaming_content) == b"log line\n"
