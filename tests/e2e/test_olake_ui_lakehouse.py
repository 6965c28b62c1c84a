"""The unmodified OLake UI's lakehouse path against a real d2d: PostgreSQL into Iceberg on d2d's REST catalog, and S3 files into Parquet.

The rest of tests/e2e/test_olake_ui.py's journey (sign in, runs, logs) is the same; here the UI's
own forms are driven for what it offers beyond Parquet:

* the Apache Iceberg destination with catalog type rest, its URI d2d's own Iceberg REST catalog
  (/api/v1/project/olake/iceberg, a d2d token as its bearer token), the warehouse s3://bucket/...,
  the S3 endpoint, region and keys of the run's moto_server; a sync, and the rows read back with
  pyiceberg's REST client from another process's point of view;
* the S3 source (bucket, region, prefix, endpoint, keys, CSV) over files in a moto bucket, synced
  into the UI's Amazon S3 (Parquet) destination in the same bucket, and the rows read back.

What the form cannot say: a REST catalog places its tables itself, so the warehouse field names
nothing d2d's catalog uses (d2d's own catalog keeps its tables in d2d's storage, here the moto
bucket, D2D_STORAGE=s3); the field is still required by the form and checked to be an s3:// path.
"""

import io
import json
import time
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.rest import RestCatalog

from accounts.services import token_issue
from tests.conftest import PASSWORD
from tests.e2e.olake_ui import assert_journey, browser_journey, screenshots_folder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.postgresql_only]

EVENTS_CSV = [b"id,kind\n1,open\n2,click\n3,close\n", b"id,kind\n4,open\n5,buy\n"]


def test_it_syncs_postgresql_into_iceberg_and_s3_files_into_parquet_through_the_olake_ui(
    d2d_on_s3, ui_user, scratch_source_db, s3_server, s3_bucket, tmp_path,
):
    from playwright.sync_api import expect

    base, web_log, cluster = d2d_on_s3
    shots = screenshots_folder(tmp_path)
    token = token_issue(user=ui_user, name="olake-ui-iceberg")[1]
    catalog_url = f"{base}/api/v1/project/olake/iceberg"
    s3 = s3_server.client()
    for number, body in enumerate(EVENTS_CSV):
        s3.put_object(Bucket=s3_bucket, Key=f"exports/events/part-{number}.csv", Body=body)

    with browser_journey(base, shots) as (page, journey):
        def pick_option(text: str):
            page.locator(".ant-select-dropdown:visible .ant-select-item-option", has_text=text).first.click()

        def connector_option(name: str):
            # The open dropdown's: the destination select beside it shows "Amazon S3" under the same test id.
            page.locator(".ant-select-dropdown:visible").get_by_test_id(f"connector-option-{name}").click()

        def sign_in():
            page.goto("/login")
            page.get_by_placeholder("Username").fill("uiuser")
            page.get_by_placeholder("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/jobs")

        def create_pg_source():
            page.goto("/sources/new")
            page.get_by_test_id("source-connector-select").click()
            page.get_by_test_id("connector-option-postgres").click()
            page.get_by_placeholder("Enter the name of your source").fill("lake_pg")
            page.locator("#root_host").fill("127.0.0.1")
            page.locator("#root_port").fill("5432")
            page.locator("#root_database").fill(scratch_source_db)
            page.locator("#root_username").fill("postgres")
            page.locator("#root_password").fill("pg-Secret-42")
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Source is connected and saved successfully")).to_be_visible()

        def create_iceberg_destination():
            page.goto("/destinations/new")
            page.get_by_test_id("destination-connector-select").click()
            page.get_by_test_id("connector-option-iceberg").click()
            page.get_by_placeholder("Enter the name of your destination").fill("lake_iceberg")
            page.locator("#root_catalog_type").click()
            pick_option("rest")
            page.locator("#root_rest_catalog_url").fill(catalog_url)
            page.locator("#root_token").fill(token)
            page.locator("#root_iceberg_s3_path").fill(f"s3://{s3_bucket}/warehouse")
            page.locator("#root_iceberg_db").fill("lake")
            page.locator("#root_s3_endpoint").fill(s3_server.endpoint)
            page.locator("#root_aws_region").fill(s3_server.region)
            page.locator("#root_aws_access_key").fill(s3_server.access_key)
            page.locator("#root_aws_secret_key").fill(s3_server.secret_key)
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Destination is connected and saved successfully")).to_be_visible()

        def create_s3_source():
            page.goto("/sources/new")
            page.get_by_test_id("source-connector-select").click()
            page.get_by_test_id("connector-option-s3").click()
            page.get_by_placeholder("Enter the name of your source").fill("lake_s3")
            page.locator("#root_bucket_name").fill(s3_bucket)
            page.locator("#root_region").fill(s3_server.region)
            page.locator("#root_path_prefix").fill("exports")
            page.locator("#root_endpoint").fill(s3_server.endpoint)
            page.locator("#root_access_key_id").fill(s3_server.access_key)
            page.locator("#root_secret_access_key").fill(s3_server.secret_key)
            page.locator("#root_file_format").click()
            pick_option("csv")
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Source is connected and saved successfully")).to_be_visible()

        def create_parquet_destination():
            page.goto("/destinations/new")
            page.get_by_placeholder("Enter the name of your destination").fill("lake_parquet")
            page.locator("#root_s3_bucket").fill(s3_bucket)
            page.locator("#root_s3_region").fill(s3_server.region)
            page.locator("#root_s3_path").fill("parquet")
            page.locator("#root_s3_endpoint").fill(s3_server.endpoint)
            page.locator("#root_s3_access_key").fill(s3_server.access_key)
            page.locator("#root_s3_secret_key").fill(s3_server.secret_key)
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Destination is connected and saved successfully")).to_be_visible()

        def create_job(name, source_option, source, destination_option, destination, streams):
            page.goto("/jobs/new")
            page.get_by_role("textbox").first.fill(name)
            page.get_by_test_id("source-connector-select").click()
            connector_option(source_option)
            page.get_by_test_id("existing-source").click()
            pick_option(source)
            if destination_option:
                page.get_by_test_id("destination-connector-select").click()
                connector_option(destination_option)
            page.get_by_test_id("existing-destination").click()
            pick_option(destination)
            page.get_by_test_id("create-job-wizard-submit").click()  # Next: tests both connections, then discovers
            for stream in streams:
                expect(page.get_by_role("button", name=stream)).to_be_visible(timeout=60_000)
            page.get_by_role("checkbox", name="Sync all").check()
            page.get_by_test_id("create-job-wizard-submit").click()  # Create Job
            expect(page.get_by_text("Your job is created successfully")).to_be_visible()

        def sync_now(name):
            page.goto("/jobs")
            page.get_by_test_id(f"job-{name}").locator("visible=true").click()
            page.get_by_text("Sync now", exact=True).click()
            page.wait_for_url("**/jobs/*/history")
            job_id = urlsplit(page.url).path.split("/")[2]
            tasks_url = f"/api/v1/project/123/jobs/{job_id}/tasks"
            deadline = time.monotonic() + 120
            statuses = []
            while time.monotonic() < deadline:
                statuses = [t["status"] for t in page.request.get(tasks_url).json()["data"]]
                if statuses and "Running" not in statuses:
                    break
                time.sleep(1)
            page.get_by_test_id("refresh-tasks-button").click()
            assert statuses == ["Completed"], statuses
            expect(page.get_by_text("completed", exact=False).first).to_be_visible()

        def read_iceberg_back():
            catalog = RestCatalog(
                "d2d", uri=catalog_url, token=token, **{
                    "s3.endpoint": s3_server.endpoint, "s3.region": s3_server.region,
                    "s3.access-key-id": s3_server.access_key, "s3.secret-access-key": s3_server.secret_key,
                },
            )
            tables = {name for _, name in catalog.list_tables("lake")}
            assert {"customers", "orders"} <= tables, tables
            customers = catalog.load_table(("lake", "customers"))
            assert customers.location().startswith(f"s3://{s3_bucket}/"), customers.location()
            rows = customers.scan().to_arrow().sort_by("id").to_pylist()
            assert [(r["id"], r["name"]) for r in rows] == [(n, f"customer {n}") for n in range(1, 26)]
            assert len(catalog.load_table(("lake", "orders")).scan().to_arrow()) == 60

        def read_parquet_back():
            manifest = json.loads(s3.get_object(Bucket=s3_bucket, Key="parquet/events/_manifest.json")["Body"].read())
            rows = []
            for key in manifest["files"]:
                rows += pq.read_table(io.BytesIO(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())).to_pylist()
            assert sorted((r["id"], r["kind"]) for r in rows) == [(1, "open"), (2, "click"), (3, "close"), (4, "open"), (5, "buy")]

        for name, action in [
            ("sign in", sign_in), ("create postgres source", create_pg_source),
            ("create iceberg destination", create_iceberg_destination),
            ("create iceberg job", lambda: create_job("lake_iceberg_job", "postgres", "lake_pg", "iceberg", "lake_iceberg", ["customers", "orders"])),
            ("sync into iceberg", lambda: sync_now("lake_iceberg_job")), ("read iceberg back", read_iceberg_back),
            ("create s3 source", create_s3_source), ("create parquet destination", create_parquet_destination),
            ("create s3 job", lambda: create_job("lake_s3_job", "s3", "lake_s3", None, "lake_parquet", ["events"])),
            ("sync s3 into parquet", lambda: sync_now("lake_s3_job")), ("read parquet back", read_parquet_back),
        ]:
            journey.step(name, action)
    assert_journey(journey, shots, web_log, cluster)
