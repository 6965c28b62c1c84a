"""Iceberg in OLake's form: its JDBC catalog on PostgreSQL, its warehouse on S3 (moto_server), Glue and Hive refused by name."""

import json
import uuid
from decimal import Decimal

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from accounts.models import Project, Role
from accounts.services import membership_set
from kernel.models import TaskStatus
from pipelines.models import Destination
from pipelines.secrets import MASK
from tests.pipelines.conftest import PG, make_job, run_sync

BASE = "/api/v1/project/alpha"


def olake_iceberg(server, bucket, database, **extra) -> dict:
    """What OLake's UI sends for an Iceberg destination on a JDBC catalog."""
    return {
        "catalog_type": "jdbc", "catalog_name": f"c{uuid.uuid4().hex[:8]}",
        "jdbc_url": f"jdbc:postgresql://127.0.0.1:5432/{database}", "jdbc_username": "postgres", "jdbc_password": PG["password"],
        "iceberg_s3_path": f"s3://{bucket}/warehouse", "iceberg_db": "olake_db",
        "aws_region": server.region, "aws_access_key": server.access_key, "aws_secret_key": server.secret_key,
        "s3_endpoint": server.endpoint, "s3_path_style": True, **extra,
    }


def reader(server, database, config) -> SqlCatalog:
    """The catalog as another engine would open it: the same PostgreSQL tables, the same bucket."""
    return SqlCatalog(
        config["catalog_name"], uri=f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        **{"s3.endpoint": server.endpoint, "s3.region": server.region, "s3.access-key-id": server.access_key,
           "s3.secret-access-key": server.secret_key},
    )


@pytest.mark.django_db(transaction=True)
def test_it_syncs_into_a_jdbc_catalog_with_its_warehouse_on_s3(project_a, alice, pg, pg_database, s3_server, s3_bucket):
    config, conn, _ = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), note text)")
    conn.execute("INSERT INTO orders VALUES (1, 10.50, 'a'), (2, 20.00, NULL)")
    dest = olake_iceberg(s3_server, s3_bucket, pg_database)
    job = make_job(project_a, alice, "postgres", config, "iceberg", dest)
    task = run_sync(job)
    assert task.status == TaskStatus.SUCCEEDED, task.error
    catalog = reader(s3_server, pg_database, dest)
    try:
        table = catalog.load_table(("olake_db", "orders"))
        rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda row: row["id"])
        assert rows == [{"id": 1, "amount": Decimal("10.50"), "note": "a"}, {"id": 2, "amount": Decimal("20.00"), "note": None}]
        assert table.location().startswith(f"s3://{s3_bucket}/warehouse/")
    finally:
        catalog.engine.dispose()
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(k.endswith(".parquet") for k in keys) and any(k.endswith(".metadata.json") for k in keys)
    log = "\n".join(line.message for line in task.log_lines())
    assert s3_server.secret_key not in log and PG["password"] not in log


@pytest.mark.django_db
@pytest.mark.parametrize("kind, words", [("glue", "AWS Glue"), ("hive", "Hive metastore"), ("", "catalog_type glue")])
def test_it_refuses_catalogs_it_cannot_serve_by_name(project_a, alice, api, s3_server, kind, words):
    config = {"catalog_type": kind, "iceberg_s3_path": "s3://lake/warehouse", "aws_region": "us-east-1"}
    for path in ("destinations", "destinations/test"):
        body = {"name": "lake", "type": "iceberg", "version": "latest", "config": config}
        response = api(alice).post(f"{BASE}/{path}", body, format="json")
        assert response.status_code == 400 and words in response.json()["message"], response.content
    assert not Destination.objects.exists()


@pytest.mark.django_db
def test_it_tests_the_catalog_and_the_bucket_and_masks_the_secrets(project_a, alice, api, pg_database, s3_server, s3_bucket):
    client = api(alice)

    def test(config):
        return client.post(f"{BASE}/destinations/test", {"type": "iceberg", "config": config}, format="json")

    config = olake_iceberg(s3_server, s3_bucket, pg_database)
    ok = test(config)
    assert ok.status_code == 200, ok.content
    shown = ok.json()["data"]["config"]
    assert shown["jdbc_password"] == MASK and shown["aws_secret_key"] == MASK and shown["aws_access_key"] == MASK
    assert s3_server.secret_key not in ok.content.decode()

    missing_db = test({**config, "jdbc_url": "jdbc:postgresql://127.0.0.1:5432/no_such_catalog_db"})
    assert missing_db.status_code == 400 and "no_such_catalog_db" in missing_db.json()["message"]
    assert PG["password"] not in missing_db.content.decode()
    no_bucket = test({**config, "iceberg_s3_path": "s3://no-such-warehouse/w"})
    assert no_bucket.status_code == 400 and "bucket 'no-such-warehouse' does not exist" in no_bucket.json()["message"]
    mysql = test({**config, "jdbc_url": "jdbc:mysql://127.0.0.1:3306/x"})
    assert mysql.status_code == 400 and "jdbc:postgresql://" in mysql.json()["message"]


@pytest.mark.django_db
def test_it_takes_the_olake_ui_form(alice, api, pg_database, s3_server, s3_bucket):
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.EDITOR)
    config = json.dumps(olake_iceberg(s3_server, s3_bucket, pg_database))
    body = {"type": "iceberg", "version": "v0.2.7", "config": config, "source_type": "postgres", "source_version": "v0.2.7"}
    tested = api(alice).post("/api/v1/project/123/destinations/test", body, format="json")
    assert tested.json()["data"]["connection_result"]["status"] == "SUCCEEDED", tested.content
    glue = {**body, "config": json.dumps({"catalog_type": "glue", "iceberg_s3_path": "s3://x/y"})}
    failed = api(alice).post("/api/v1/project/123/destinations/test", glue, format="json").json()["data"]["connection_result"]
    assert failed["status"] == "FAILED" and "AWS Glue" in failed["message"], "the server's UI reads a failed test from a 200"
    create = {"name": "glue", "type": "iceberg", "version": "v0.2.7", "config": glue["config"]}
    refused = api(alice).post("/api/v1/project/123/destinations", create, format="json")
    assert refused.status_code == 400 and "AWS Glue" in refused.json()["message"]
