"""000's uploads, tasks and downloads services: upload, submit, list and filter, detail, download with Range, cancel, delete."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversions.models import ConversionTask
from tests.conversions.support import csv_bytes, run_inline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.storage]


def upload(client, task_id, *named):
    files = [SimpleUploadedFile(name, content) for name, content in named]
    return client.post(f"/api/v1/uploads/tasks/{task_id}/files", {"files": files}, format="multipart")


def submit_and_run(client, task_id):
    response = client.post(f"/api/v1/uploads/tasks/{task_id}/submit")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    task = ConversionTask.objects.get(pk=task_id)
    run_inline(task)
    return task


def test_it_converts_uploads_and_serves_the_result_with_ranges(api, alice, project_a):
    client = api(alice)
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "csv"}}, format="json").json()
    assert task["status"] == "created" and task["stage"] == "CREATED"
    assert upload(client, task["id"], ("../../etc/passwd.tsv", b"x\ty\n1\t2\n")).status_code == 201
    stored = ConversionTask.objects.get(pk=task["id"]).inputs.get()
    assert stored.file_name.endswith("passwd.tsv") and "passwd" not in stored.file.name and ".." not in stored.file.name
    done = submit_and_run(client, task["id"])
    assert done.status == "succeeded", done.error

    detail = client.get(f"/api/v1/tasks/{task['id']}").json()
    assert (detail["status"], detail["run_status"], detail["status_text"]) == ("success", "succeeded", "success")
    assert detail["progress"] == 100 and detail["stage"] == "COMPLETED"
    assert [item["name"] for item in detail["results"]] == ["passwd.csv"]

    whole = client.get(f"/api/v1/downloads/{task['id']}")
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and body == b'"x","y"\n1,2\n'
    assert whole["Content-Type"] == "text/csv" and 'filename="passwd.csv"' in whole["Content-Disposition"]
    assert whole["Accept-Ranges"] == "bytes"
    part = client.get(f"/api/v1/downloads/{task['id']}", HTTP_RANGE="bytes=4-6")
    assert part.status_code == 206 and b"".join(part.streaming_content) == body[4:7]
    assert part["Content-Range"] == f"bytes 4-6/{len(body)}"
    tail = client.get(f"/api/v1/downloads/{task['id']}", HTTP_RANGE="bytes=-3")
    assert b"".join(tail.streaming_content) == body[-3:]
    assert client.get(f"/api/v1/downloads/{task['id']}", HTTP_RANGE="bytes=999-").status_code == 416


# The runner's statuses and 000's word for each (seeds/000: queued, then execution, then success).
DATA2DATA_WORDS = [
    ("created", "created"), ("queued", "queued"), ("running", "execution"), ("retrying", "queued"),
    ("succeeded", "success"), ("failed", "failure"), ("cancelled", "failure"),
]


def test_it_says_000s_status_word_in_the_detail_the_list_and_its_filter(api, alice, project_a):
    client = api(alice)
    task_id = client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()["id"]
    for run, word in DATA2DATA_WORDS:
        ConversionTask.objects.filter(pk=task_id).update(status=run)
        detail = client.get(f"/api/v1/tasks/{task_id}").json()
        assert (detail["status"], detail["run_status"]) == (word, run)
        listed = client.get(f"/api/v1/tasks/?status={word}").json()["results"]
        assert [(item["id"], item["status"]) for item in listed] == [(task_id, word)]
        if run != word:  # a runner's word status gave before still filters, for just that status
            assert [item["id"] for item in client.get(f"/api/v1/tasks/?status={run}").json()["results"]] == [task_id]
    assert client.get("/api/v1/tasks/?status=retrying").json()["results"] == []
    assert client.get("/api/v1/tasks/?status=completed").status_code == 400


def test_it_zips_several_results_and_expands_zip_inputs_safely(api, alice, project_a):
    client = api(alice)
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "jsonl"}}, format="json").json()
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("../../evil/one.csv", csv_bytes(2))
        archive.writestr("nested/two.csv", csv_bytes(3))
    assert upload(client, task["id"], ("bundle.zip", bundle.getvalue()), ("three.csv", csv_bytes(4))).status_code == 201
    done = submit_and_run(client, task["id"])
    assert done.status == "succeeded", done.error
    response = client.get(f"/api/v1/downloads/{task['id']}")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["one.jsonl", "three.jsonl", "two.jsonl"]
    assert archive.read("three.jsonl").count(b"\n") == 4
    listed = client.get(f"/api/v1/downloads/{task['id']}/files").json()
    single = next(item for item in listed if item["name"] == "two.jsonl")
    one = client.get(f"/api/v1/downloads/{task['id']}/files/{single['id']}")
    assert b"".join(one.streaming_content).count(b"\n") == 3


def test_it_lists_tasks_with_filters(api, alice, project_a, charlie, project_b):
    client = api(alice)
    ocr = client.post("/api/v1/uploads/tasks", {"service": "ocr"}, format="json").json()
    tab = client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    api(charlie).post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json")
    upload(client, tab["id"], ("a.csv", csv_bytes(2)))
    submit_and_run(client, tab["id"])

    def ids(query):
        body = client.get(f"/api/v1/tasks/{query}").json()
        return {item["id"] for item in body["results"]}

    assert ids("") == {ocr["id"], tab["id"]}
    assert ids("?service=ocr") == {ocr["id"]}
    assert ids("?status=success") == {tab["id"]}
    assert ids("?status=succeeded") == {tab["id"]}  # the runner's word, which status said before
    assert ids("?stage=CREATED") == {ocr["id"]}
    assert ids("?created_after=2000-01-01T00:00:00Z") == {ocr["id"], tab["id"]}
    assert ids("?created_before=2000-01-01T00:00:00Z") == set()
    assert client.get("/api/v1/tasks/?status=bogus").status_code == 400


def test_it_cancels_and_deletes(api, alice, project_a, bob):
    client = api(alice)
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    upload(client, task["id"], ("a.csv", csv_bytes(2)))
    client.post(f"/api/v1/uploads/tasks/{task['id']}/submit")
    assert api(bob).post(f"/api/v1/tasks/{task['id']}/cancel").status_code == 403
    cancelled = client.post(f"/api/v1/tasks/{task['id']}/cancel").json()
    assert (cancelled["status"], cancelled["run_status"], cancelled["stage"]) == ("failure", "cancelled", "FAILED")
    assert client.get(f"/api/v1/downloads/{task['id']}").status_code == 409
    stored = ConversionTask.objects.get(pk=task["id"]).inputs.get().file.name
    from conversions.files import storage

    assert storage().exists(stored)
    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert not storage().exists(stored)
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert ConversionTask.all_objects.get(pk=task["id"]).files_purged_at is not None


def test_it_caps_the_upload_size(api, alice, project_a, settings):
    settings.D2D_MAX_UPLOAD_BYTES = 1000
    client = api(alice)
    task = client.post("/api/v1/uploads/tasks", {"service": "tabular"}, format="json").json()
    response = upload(client, task["id"], ("big.csv", b"x" * 5000))
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert not ConversionTask.objects.get(pk=task["id"]).inputs.exists()


def test_it_documents_each_service_under_its_own_prefix(api, alice):
    for service, path in (("uploads", "/api/v1/uploads/tasks"), ("tasks", "/api/v1/tasks/"), ("downloads", "/api/v1/downloads/"), ("ocr", "/api/v1/ocr/tasks")):
        document = api(alice).get(f"/api/v1/{service}/openapi.json", HTTP_ACCEPT="application/json")
        assert document.status_code == 200
        paths = list(document.json()["paths"])
        assert any(p.startswith(path) for p in paths), (service, paths)
        assert all(p.startswith(f"/api/v1/{service}/") for p in paths)


def test_it_stops_an_undeclared_upload_at_the_limit(settings):
    from conversions.api.data2data import CappedUploadHandler, PayloadTooLarge

    handler = CappedUploadHandler(limit=10)
    assert handler.receive_data_chunk(b"x" * 6, 0) == b"x" * 6
    with pytest.raises(PayloadTooLarge):
        handler.receive_data_chunk(b"x" * 6, 6)


def test_it_refuses_an_upload_the_service_does_not_accept(api, alice, project_a):
    client = api(alice)
    task = client.post("/api/v1/ocr/tasks", {}, format="json").json()
    response = upload(client, task["id"], ("notes.docx", b"PK..."))
    assert response.status_code == 400 and "notes.docx" in response.json()["error"] and "png" in response.json()["error"]
    assert not ConversionTask.objects.get(pk=task["id"]).inputs.exists()
