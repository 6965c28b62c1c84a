"""Connectors and jobs keep a history of who changed what and when, from the API and the admin, without secrets."""

import pytest
from django.db import connection

from pipelines.models import Job, Source
from tests.pipelines.conftest import PG, make_job

pytestmark = pytest.mark.django_db

BASE = "/api/v1/project/alpha"
NEW_SECRET = "n3w-Secret-Value-77"


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


def table_text(model) -> str:
    """Every value of a history table, as text: what someone reading the database would see."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model.history.model._meta.db_table}")
        return repr(cursor.fetchall())


def test_an_api_change_of_a_source_is_in_its_history_with_the_user_and_without_the_secret(project_a, api, alice, pg, staff_client):
    config, _, _ = pg
    client = api(alice)
    created = client.post(f"{BASE}/sources", {"name": "warehouse", "type": "postgres", "version": "latest", "config": config}, format="json")
    assert created.status_code == 200, created.content
    source_id = created.json()["data"]["id"]
    masked = created.json()["data"]["config"]
    response = client.put(f"{BASE}/sources/{source_id}", {"name": "warehouse-2", "config": {**masked, "password": NEW_SECRET}}, format="json")
    assert response.status_code == 200, response.content
    renamed_only = client.put(f"{BASE}/sources/{source_id}", {"name": "warehouse-3", "config": masked}, format="json")
    assert renamed_only.status_code == 200, renamed_only.content

    records = list(Source.objects.get(pk=source_id).history.order_by("history_id"))
    assert [(r.history_type, r.name, r.history_user) for r in records] == [
        ("+", "warehouse", alice), ("~", "warehouse-2", alice), ("~", "warehouse-3", alice),
    ]
    assert "password" in records[0].config_changes and "host" in records[0].config_changes
    assert records[1].config_changes == "password"
    assert records[2].config_changes == "", "a masked secret sent back keeps the stored one: no config change"

    stored = table_text(Source)
    assert PG["password"] not in stored and NEW_SECRET not in stored
    page = staff_client.get(f"/admin/pipelines/source/{source_id}/history/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "alice" in text and "warehouse-2" in text and "password" in text
    assert PG["password"] not in text and NEW_SECRET not in text


def test_admin_changes_of_jobs_and_connectors_are_in_their_history_with_the_staff_user(project_a, alice, pg, folder, staff_client):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    data = {"action": "soft_delete_selected", "_selected_action": [job.pk]}
    assert staff_client.post("/admin/pipelines/job/", data, follow=True).status_code == 200
    assert staff_client.post("/admin/pipelines/source/", {**data, "_selected_action": [job.source_id]}, follow=True).status_code == 200

    job_records = list(Job.all_objects.get(pk=job.pk).history.order_by("history_id"))
    assert [(r.history_type, r.history_user.username, r.deleted_at is not None) for r in job_records] == [
        ("+", "alice", False), ("~", "root", True),
    ]
    source_records = list(Source.all_objects.get(pk=job.source_id).history.order_by("history_id"))
    assert [(r.history_user.username, r.deleted_at is not None, r.config_changes) for r in source_records][-1] == ("root", True, "")
    page = staff_client.get(f"/admin/pipelines/job/{job.pk}/history/").content.decode()
    assert "root" in page and "alice" in page


def test_a_bulk_soft_delete_records_each_row(project_a, alice, pg, folder, django_user_model):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    first = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, name="one")
    second = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder}, name="two")
    assert Job.objects.filter(pk__in=[first.pk, second.pk]).delete(by=alice) == 2
    for job in (first, second):
        latest = Job.all_objects.get(pk=job.pk).history.latest()
        assert latest.deleted_at is not None and latest.deleted_by_id == alice.pk
