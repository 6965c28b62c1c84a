"""The Parquet destination in the user's bucket (OLake's "Amazon S3" fields), on moto_server processes on loopback."""

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.files.base import ContentFile

from accounts.models import Project, Role
from accounts.services import membership_set
from kernel.models import TaskStatus
from pipelines.models import Destination
from pipelines.secrets import MASK
from tests.pipelines.conftest import make_job, run_sync
from tests.support.processes import free_port

BASE = "/api/v1/project/alpha"


def olake_s3(server, bucket, **extra) -> dict:
    """The config OLake's UI sends for its "Amazon S3" (parquet) destination."""
    return {
        "s3_bucket": bucket, "s3_region": server.region, "s3_path": "lake/raw", "s3_endpoint": server.endpoint,
        "s3_access_key": server.access_key, "s3_secret_key": server.secret_key, **extra,
    }


def objects(server, bucket, prefix=""):
    return sorted(o["Key"] for o in server.client().list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def published(server, bucket, folder):
    """The rows a reader following the manifest sees."""
    client = server.client()
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"{folder}/_manifest.json")["Body"].read())
    rows = []
    for key in manifest["files"]:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return manifest["files"], rows


@pytest.fixture
def csv_source(project_storage, folder):
    project_storage.save(f"{folder}/orders.csv", ContentFile(b"id,note\n1,a\n2,b\n3,c\n"))
    return {"path": folder, "format": "csv", "block_bytes": 1024}


@pytest.mark.django_db(transaction=True)
def test_it_writes_each_run_into_the_bucket_and_publishes_it_with_its_manifest(project_a, alice, s3_server, s3_bucket, csv_source, project_storage, folder):
    job = make_job(project_a, alice, "file", csv_source, "parquet", olake_s3(s3_server, s3_bucket))
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    first_files, rows = published(s3_server, s3_bucket, "lake/raw/orders")
    assert rows == [{"id": 1, "note": "a"}, {"id": 2, "note": "b"}, {"id": 3, "note": "c"}]
    assert objects(s3_server, s3_bucket) == sorted([*first_files, "lake/raw/orders/_manifest.json"])

    Path(project_storage.path(f"{folder}/orders.csv")).write_bytes(b"id,note\n7,x\n")
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    files, rows = published(s3_server, s3_bucket, "lake/raw/orders")
    assert rows == [{"id": 7, "note": "x"}] and not set(files) & set(first_files), "each run's files have names of their own"
    assert objects(s3_server, s3_bucket) == sorted([*files, "lake/raw/orders/_manifest.json"]), "the old run's files are gone"
    assert s3_server.secret_key not in "\n".join(line.message for line in task.log_lines())


@pytest.mark.django_db(transaction=True)
def test_it_publishes_nothing_from_a_failed_run(project_a, alice, s3_server, s3_bucket, csv_source, project_storage, folder):
    job = make_job(project_a, alice, "file", csv_source, "parquet", olake_s3(s3_server, s3_bucket))
    assert run_sync(job).status == TaskStatus.SUCCEEDED
    before = objects(s3_server, s3_bucket)
    # Rows past the first block that do not parse as the stream's integer ids: the read fails mid-stream.
    lines = "".join(f"{i},n{i}\n" for i in range(1, 400)) + "oops,bad\n"
    Path(project_storage.path(f"{folder}/orders.csv")).write_text("id,note\n" + lines)
    task = run_sync(job)
    assert task.status == TaskStatus.RETRYING, "the attempt failed (and will be tried again)"
    assert "orders.csv" in task.error and "invalid value 'oops'" in task.error, task.error
    assert objects(s3_server, s3_bucket) == before, "the failed run uploaded nothing, the last publish stands"
    assert published(s3_server, s3_bucket, "lake/raw/orders")[1] == [{"id": 1, "note": "a"}, {"id": 2, "note": "b"}, {"id": 3, "note": "c"}]


@pytest.mark.django_db
def test_it_masks_the_keys_in_every_answer_and_page(project_a, alice, api, client, s3_server, s3_bucket, django_user_model):
    config = olake_s3(s3_server, s3_bucket)
    created = api(alice).post(f"{BASE}/destinations", {"name": "s3", "type": "parquet", "version": "latest", "config": config}, format="json")
    assert created.status_code == 200, created.content
    shown = created.json()["data"]["config"]
    assert shown["s3_access_key"] == MASK and shown["s3_secret_key"] == MASK and shown["s3_bucket"] == s3_bucket
    for body in (created.content, api(alice).get(f"{BASE}/destinations").content):
        assert s3_server.secret_key.encode() not in body and s3_server.access_key.encode() not in body
    destination = Destination.objects.get()
    assert destination.config["s3_secret_key"] == s3_server.secret_key, "stored in clear only inside the encrypted field"
    # The mask sent back keeps the stored keys (the UI's edit page tests what it was shown).
    tested = api(alice).post(f"{BASE}/destinations/test", {"type": "parquet", "config": shown, "id": destination.pk}, format="json")
    assert tested.status_code == 200, tested.content
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    for url in (f"/admin/pipelines/destination/{destination.pk}/change/", "/admin/pipelines/destination/"):
        page = client.get(url)
        assert page.status_code == 200 and s3_server.secret_key not in page.content.decode(), url


@pytest.mark.django_db
def test_it_tests_the_connection_against_the_bucket_and_says_what_is_wrong(project_a, alice, api, s3_server, s3_bucket, s3_auth_server):
    client = api(alice)

    def test(config):
        return client.post(f"{BASE}/destinations/test", {"type": "parquet", "config": config}, format="json")

    ok = test(olake_s3(s3_server, s3_bucket))
    assert ok.status_code == 200 and ok.json()["data"]["config"]["s3_secret_key"] == MASK
    assert objects(s3_server, s3_bucket) == [], "the probe object it wrote is removed"

    missing = test(olake_s3(s3_server, "no-such-bucket-here"))
    assert missing.status_code == 400 and missing.json()["success"] is False
    assert "bucket 'no-such-bucket-here' does not exist" in missing.json()["message"]

    secured = s3_auth_server.create_bucket()
    assert test(olake_s3(s3_auth_server, secured)).status_code == 200, "the right keys pass the signature check"
    wrong = test(olake_s3(s3_auth_server, secured, s3_secret_key="not-the-secret"))
    assert wrong.status_code == 400 and "refused the access key or secret key" in wrong.json()["message"]
    assert "not-the-secret" not in wrong.content.decode()

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = test(olake_s3(s3_server, s3_bucket, s3_endpoint=closed))
    assert unreachable.status_code == 400 and f"cannot reach the S3 endpoint {closed}" in unreachable.json()["message"]

    metadata = test(olake_s3(s3_server, s3_bucket, s3_endpoint="http://169.254.169.254"))
    assert metadata.status_code == 400 and "link-local or metadata address" in metadata.json()["message"]


@pytest.mark.django_db
def test_it_reports_a_failed_test_the_olake_server_way(alice, api, s3_server):
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    body = {"type": "parquet", "version": "v0.2.7", "config": json.dumps(olake_s3(s3_server, "absent-bucket"))}
    response = api(alice).post("/api/v1/project/123/destinations/test", body, format="json")
    assert response.status_code == 200
    result = response.json()["data"]["connection_result"]
    assert result["status"] == "FAILED" and "bucket 'absent-bucket' does not exist" in result["message"]
    assert s3_server.secret_key not in response.content.decode()
