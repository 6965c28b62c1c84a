"""What the fuzz run (tests/fuzz) found once its signed requests got past the signature check.

Each test names the finding; the fix is in the code it exercises.
"""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from compute.models import ComputeJob, Order
from compute.orders import order_mark_paid
from tests.compute.conftest import CSV, signed

pytestmark = pytest.mark.django_db


def documented_200_types(api, path: str, method: str) -> list[str]:
    schema = api(None).get("/api/v1/openapi.json").json()
    return list(schema["paths"][path][method]["responses"]["200"]["content"])


def matches(documented: list[str], received: str) -> bool:
    """A media range of the schema (type/subtype, either may be *) that covers the received Content-Type."""
    main, sub = received.split(";")[0].strip().lower().split("/")
    return any(
        expected_main in ("*", main) and expected_sub in ("*", sub)
        for expected_main, expected_sub in (option.lower().split("/") for option in documented)
    )


def pay(api, dataset, account, *, service_id: int, tx: str):
    body = {"documentId": dataset.did, "serviceId": service_id, "consumerAddress": account.address}
    assert api(None).post("/api/v1/services/initialize", body, format="json").status_code == 200
    order = Order.objects.get(consumer_address=account.address, service_index=str(service_id), paid=False)
    return order_mark_paid(order=order, tx_id=tx)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_download_answers_the_files_own_content_type_and_the_schema_says_so(api, dataset, consumer, method):
    """ST105: download streams the file with its server's Content-Type (text/csv here), which the schema
    documented as application/octet-stream only. The schema now documents any media type for the 200."""
    pay(api, dataset, consumer, service_id=0, tx="0xfuzz-download")
    fields = {"documentId": dataset.did, "serviceId": 0, "fileIndex": 0, "transferTxId": "0xfuzz-download"}
    client = api(None)
    if method == "get":
        response = client.get("/api/v1/services/download", signed("download", consumer, fields))
    else:
        response = client.post("/api/v1/services/download", signed("download", consumer, fields), format="json")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert response["Content-Type"] == "text/csv"
    assert matches(documented_200_types(api, "/api/v1/services/download", method), response["Content-Type"])


def test_a_jobs_algorithm_log_is_text_and_the_schema_says_so(api, dataset, row_counter, consumer):
    """computeResult answers index=log as text/plain, a result file as application/octet-stream; the schema
    documented only the latter (the fuzz run, pinned to a result index, would have met it with index=log)."""
    pay(api, dataset, consumer, service_id=1, tx="0xfuzz-compute")
    start = {"documentId": dataset.did, "serviceId": 1, "transferTxId": "0xfuzz-compute", "algorithmDid": row_counter.did}
    response = api(None).post("/api/v1/services/compute", signed("compute_start", consumer, start), format="json")
    assert response.status_code == 200, response.content
    job = ComputeJob.objects.get(job_id=response.json()[0]["jobId"])
    # What the worker leaves behind (tests/compute/test_compute_jobs.py runs the real one).
    log_path = default_storage.save(f"compute/{job.job_id}/algorithm.log", ContentFile(b"counted 5\n"))
    result_path = default_storage.save(f"compute/{job.job_id}/outputs/result.json", ContentFile(b'{"rows": 5}'))
    ComputeJob.objects.filter(pk=job.pk).update(
        log_path=log_path, results=[{"index": 0, "filename": "result.json", "size": 11, "path": result_path}]
    )
    documented = documented_200_types(api, "/api/v1/services/computeResult", "get")
    for index, body, content_type in (("log", b"counted 5\n", "text/plain"), ("0", b'{"rows": 5}', "application/octet-stream")):
        query = signed("compute_result", consumer, {"jobId": job.job_id, "index": index})
        response = api(None).get("/api/v1/services/computeResult", query)
        assert response.status_code == 200, index
        assert b"".join(response.streaming_content) == body
        assert response["Content-Type"].split(";")[0] == content_type
        assert matches(documented, response["Content-Type"]), (index, documented)


def test_an_empty_job_id_means_every_job_and_the_schema_allows_it(api, consumer):
    """ST201: GET/PUT/DELETE compute take jobId= (and documentId=) as absent, as Ocean's clients send them;
    the schema said both must be non-empty. It now allows the empty string."""
    response = api(None).get("/api/v1/services/compute", signed("compute_status", consumer, {"jobId": "", "documentId": ""}))
    assert response.status_code == 200 and response.json() == []
    schema = api(None).get("/api/v1/openapi.json").json()
    for method in ("get", "put", "delete"):
        parameters = {item["name"]: item["schema"] for item in schema["paths"]["/api/v1/services/compute"][method]["parameters"]}
        assert "minLength" not in parameters["jobId"] and "minLength" not in parameters["documentId"], method


def test_encrypt_takes_the_files_list_as_json_in_a_body_and_the_schema_says_so(api, consumer):
    """ST201: POST encrypt encrypts a document sent as a JSON array (not only as its text); the schema said
    a string. The body's document is now documented as JSON or its text."""
    files = [{"url": "https://example.com/data.csv", "contentType": "text/csv"}]
    body = signed("encrypt", consumer, {"documentId": "did:op:1", "document": files}, address_field="publisherAddress")
    response = api(None).post("/api/v1/services/encrypt", body, format="json")
    assert response.status_code == 200 and response.json()["encryptedDocument"].startswith("0x")
    schema = api(None).get("/api/v1/openapi.json").json()
    reference = schema["paths"]["/api/v1/services/encrypt"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "type" not in schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]["properties"]["document"]
