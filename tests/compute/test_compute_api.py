"""Compute endpoints without a worker: status filters, owner-only views, stop and delete of queued jobs, schema."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from eth_account import Account

from compute import keys
from compute.models import ComputeJob
from compute.orders import order_mark_paid, order_quote
from kernel.models import TaskStatus
from tests.compute.conftest import signed

pytestmark = pytest.mark.django_db


def queued_job(dataset, account, tx) -> dict:
    order_mark_paid(order=order_quote(dataset=dataset, service=dataset.service(1), consumer=account.address), tx_id=tx)
    return {"documentId": dataset.did, "serviceId": 1, "transferTxId": tx, "algorithmMeta": {"rawcode": "print(1)"}}


def post_job(api, dataset, account, tx) -> str:
    body = signed("compute_start", account, queued_job(dataset, account, tx))
    response = api(None).post("/api/v1/services/compute", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()[0]["jobId"]


def call(api, method, account, **fields):
    body = signed("compute_status", account, fields)
    if method == "get":
        return api(None).get("/api/v1/services/compute", body)
    return getattr(api(None), method)("/api/v1/services/compute", body, format="json")


def test_it_lists_only_the_signers_jobs_filtered_by_job_and_document(api, dataset, consumer, stranger):
    first = post_job(api, dataset, consumer, "0xa1")
    second = post_job(api, dataset, consumer, "0xa2")
    post_job(api, dataset, stranger, "0xa3")
    mine = call(api, "get", consumer).json()
    assert [job["jobId"] for job in mine] == [first, second]
    assert all(job["owner"] == consumer.address and job["status"] == 1 for job in mine)
    assert [job["jobId"] for job in call(api, "get", consumer, jobId=second).json()] == [second]
    assert len(call(api, "get", consumer, documentId=dataset.did).json()) == 2
    assert call(api, "get", consumer, documentId="did:op:other").json() == []


def test_it_needs_a_signature_to_read_status(api, dataset, consumer):
    post_job(api, dataset, consumer, "0xb1")
    response = api(None).get("/api/v1/services/compute", {"consumerAddress": consumer.address, "nonce": "1"})
    assert response.status_code == 400 and response.json()["error"] == "signature is required"


def test_it_stops_a_queued_job_at_once_and_deletes_it(api, dataset, consumer, stranger):
    job_id = post_job(api, dataset, consumer, "0xc1")
    assert call(api, "put", stranger, jobId=job_id).status_code == 404
    stopped = call(api, "put", consumer, jobId=job_id).json()[0]
    assert stopped["status"] == 7 and stopped["statusText"] == "Job stopped" and stopped["statusReason"] == "stopped by the owner"
    assert ComputeJob.objects.get(job_id=job_id).status == "cancelled"
    deleted = call(api, "delete", consumer, jobId=job_id).json()[0]
    assert deleted["status"] == 8 and deleted["statusText"] == "Job deleted successfully"


# 002's table of statusText, word for word.
STATUS_TEXTS = {
    1: "Job started", 2: "Configuring volumes", 3: "Running algorithm", 4: "Filtering results",
    5: "Publishing results", 6: "Job completed", 7: "Job stopped", 8: "Job deleted successfully",
}


def test_it_says_every_status_code_in_002s_words_and_why_a_job_stopped_apart(api, dataset, consumer):
    job_id = post_job(api, dataset, consumer, "0xe1")
    rows = ComputeJob.objects.filter(job_id=job_id)

    def status() -> dict:
        [found] = call(api, "get", consumer, jobId=job_id).json()
        return found

    seen = {1: status()}
    for stage in (2, 3, 4, 5):
        rows.update(status=TaskStatus.RUNNING, stage=stage)
        seen[stage] = status()
    rows.update(status=TaskStatus.SUCCEEDED)
    seen[6] = status()
    rows.update(status=TaskStatus.FAILED)
    failed = status()
    rows.update(stop_reason="CPU time limit of 2 s exceeded")
    seen[7] = status()
    rows.update(removed_at=timezone.now())
    seen[8] = status()
    assert {code: found["status"] for code, found in seen.items()} == {code: code for code in STATUS_TEXTS}
    assert {code: found["statusText"] for code, found in seen.items()} == STATUS_TEXTS
    assert (failed["status"], failed["statusText"]) == (7, "Job stopped")
    assert failed["statusReason"].startswith("the provider failed to run it")
    assert seen[7]["statusReason"] == "CPU time limit of 2 s exceeded"
    assert [seen[code]["statusReason"] for code in (1, 2, 3, 4, 5, 6, 8)] == [""] * 7


def test_it_refuses_an_unknown_runtime_and_an_unknown_algorithm(api, dataset, consumer):
    fields = queued_job(dataset, consumer, "0xd1")
    fields["algorithmMeta"] = {"rawcode": "x", "container": {"entrypoint": "node $ALGO"}}
    response = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, fields), format="json")
    assert response.status_code == 400 and response.json()["error"].startswith("entrypoint must start with one of")
    fields["algorithmDid"] = "did:op:missing"
    response = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, fields), format="json")
    assert response.status_code == 404


def test_it_documents_each_signed_message_in_the_schema(api):
    schema = api(None).get("/api/v1/openapi.json").content.decode()
    for message in ("consumerAddress + documentId", "consumerAddress + jobId + documentId", "consumerAddress + jobId + index"):
        assert f"the message is {message} followed by the nonce" in schema


@pytest.fixture
def fresh_key_cache():
    keys._private_key_hex.cache_clear()
    keys.provider_address.cache_clear()
    yield
    keys._private_key_hex.cache_clear()
    keys.provider_address.cache_clear()


def test_it_takes_the_provider_key_from_the_environment(monkeypatch, fresh_key_cache):
    account = Account.create()
    monkeypatch.setenv("D2D_PROVIDER_PRIVATE_KEY", "0x" + bytes(account.key).hex())
    assert keys.provider_address() == account.address
    assert keys.provider_decrypt(keys.provider_encrypt(b"round trip")) == b"round trip"


def test_it_refuses_a_malformed_provider_key(monkeypatch, fresh_key_cache):
    monkeypatch.setenv("D2D_PROVIDER_PRIVATE_KEY", "not-a-key")
    with pytest.raises(ImproperlyConfigured, match="64 hex digits"):
        keys.provider_address()


def test_it_prints_the_provider_address_and_not_the_key(capsys):
    from django.core.management import call_command

    call_command("provider_address")
    printed = capsys.readouterr().out.strip()
    assert printed == keys.provider_address() and keys._private_key_hex() not in printed
