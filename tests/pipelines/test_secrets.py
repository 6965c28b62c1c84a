"""Secrets: encrypted at rest, masked in every response, log line and admin page; the mask sent back keeps them."""

import html

import psycopg
import pytest
from django.db import connection

from pipelines.models import Source
from pipelines.secrets import MASK
from tests.pipelines.conftest import PG, make_job, run_sync

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/project/alpha"
SECRET = PG["password"]


def test_it_encrypts_configs_at_rest(project_a, alice, api, pg):
    config, _, _ = pg
    api(alice).post(f"{BASE}/sources", {"name": "s", "type": "postgres", "version": "latest", "config": config}, format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT config_encrypted FROM pipelines_source")
        (stored,) = cursor.fetchone()
    assert SECRET not in stored and "127.0.0.1" not in stored
    assert Source.objects.get().config["password"] == SECRET


def test_it_never_shows_a_secret_in_responses_logs_or_the_admin(project_a, alice, api, client, pg, folder, django_user_model):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    alice_client = api(alice)
    for path in ("sources", "destinations", "jobs", f"jobs/{job.pk}"):
        body = alice_client.get(f"{BASE}/{path}").content.decode()
        assert SECRET not in body and (path == "destinations" or MASK in body)

    # A failing run whose error text would carry the password if the engine did not scrub it.
    conn.execute(f"CREATE TABLE \"{SECRET}\" (id int)")
    original = job.streams_config
    job.streams_config = {"streams": [{**s, "name": SECRET} if s["name"] == "t" else s for s in original["streams"]]}
    job.save()
    conn.execute(f'DROP TABLE "{SECRET}"')
    task = run_sync(job)
    text = "\n".join(line.message for line in task.log_lines())
    assert "failed" in text and SECRET not in text and SECRET not in task.error
    job.streams_config = original  # the stream name itself was the secret: put it back before looking at pages
    job.save()

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    for url in (
        f"/admin/pipelines/source/{job.source_id}/change/",
        "/admin/pipelines/source/",
        f"/admin/pipelines/job/{job.pk}/change/",
        f"/admin/pipelines/jobtask/{task.pk}/change/",
        "/admin/pipelines/source/add/",
        "/admin/pipelines/job/",
        "/admin/pipelines/jobtask/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert SECRET not in page.content.decode(), url
    form = html.unescape(client.get(f"/admin/pipelines/source/{job.source_id}/change/").content.decode())
    assert '\\"password\\": \\"\\"' in form or '"password": ""' in form, "the secret is a blank password input that keeps it"


def test_it_keeps_a_masked_secret_on_update_and_replaces_a_new_one(project_a, alice, api, pg):
    config, _, _ = pg
    client = api(alice)
    created = client.post(f"{BASE}/sources", {"name": "s", "type": "postgres", "version": "latest", "config": config}, format="json")
    masked = created.json()["data"]["config"]
    assert masked["password"] == MASK
    source_id = Source.objects.get().pk
    client.put(f"{BASE}/sources/{source_id}", {"config": {**masked, "port": 5432}}, format="json")
    assert Source.objects.get().config["password"] == SECRET
    tested = client.post(f"{BASE}/sources/test", {"type": "postgres", "config": masked, "id": source_id}, format="json")
    assert tested.status_code == 200, tested.content
    client.put(f"{BASE}/sources/{source_id}", {"config": {**masked, "password": "other-pw"}}, format="json")
    assert Source.objects.get().config["password"] == "other-pw"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=config["database"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
