"""Project settings (the OLake UI's System Settings): read and write by role, the webhook URL's SSRF guard, and real alerts."""

import http.server
import json
import logging
import threading

import pytest

from kernel.errors import DomainError
from kernel.models import TaskStatus
from pipelines.models import ProjectSettings
from pipelines.project_settings import project_settings_update
from pipelines.services import job_sync_start
from pipelines.webhooks import webhook_alert_deliver
from tests.pipelines.conftest import make_job
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db

URL = "/api/v1/project/alpha/settings"


class AlertReceiver:
    """An HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.hostport = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path="/hook?token=s3cr3t-token") -> str:
        return f"http://{self.hostport}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(settings):
    server = AlertReceiver()
    settings.D2D_PIPELINES_WEBHOOK_ALLOWLIST = [server.hostport]  # loopback stands in for a public receiver
    yield server
    server.close()


def test_it_reads_empty_settings_then_saves_and_reads_the_webhook(project_a, api, alice, bob, receiver):
    empty = api(bob).get(URL)
    assert empty.status_code == 200
    assert empty.json()["data"] == {"id": 0, "project_id": "alpha", "webhook_alert_url": ""}

    saved = api(alice).put(URL, {"id": 0, "project_id": "alpha", "webhook_alert_url": receiver.url()}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["message"] == "Project Settings updated successfully"
    assert api(bob).get(URL).json()["data"] == {"id": 1, "project_id": "alpha", "webhook_alert_url": receiver.url()}
    assert ProjectSettings.objects.get(project=project_a).updated_by == alice

    cleared = api(alice).put(URL, {"project_id": "alpha", "webhook_alert_url": ""}, format="json")
    assert cleared.status_code == 200 and api(alice).get(URL).json()["data"]["webhook_alert_url"] == ""


def test_it_answers_on_the_ui_alias_with_the_id_the_ui_sent(olake, api, alice):
    from accounts.services import membership_set

    membership_set(project=olake, user=alice, role="editor")
    client = api(alice)
    assert client.get("/api/v1/project/123/settings").json()["data"]["project_id"] == "123"
    saved = client.put("/api/v1/project/123/settings", {"id": 0, "project_id": "123", "webhook_alert_url": ""}, format="json")
    assert saved.status_code == 200, saved.content
    assert ProjectSettings.objects.filter(project=olake).exists()


def test_it_refuses_a_body_naming_another_project(project_a, api, alice):
    response = api(alice).put(URL, {"project_id": "beta", "webhook_alert_url": ""}, format="json")
    assert response.status_code == 400 and "project_id" in response.json()["message"]


def test_it_lets_viewers_read_editors_write_and_outsiders_see_nothing(project_a, project_b, api, bob, charlie):
    assert api(bob).put(URL, {"webhook_alert_url": ""}, format="json").status_code == 403
    assert api(charlie).get(URL).status_code == 404
    assert api(charlie).put(URL, {"webhook_alert_url": ""}, format="json").status_code == 404
    assert api(None).get(URL).status_code == 401


@pytest.mark.parametrize("url", ["ftp://alerts.example.com/hook", "file:///etc/passwd", "not a url", "http://user:pw@alerts.example.com/"])
def test_it_refuses_urls_that_are_not_plain_http(project_a, api, alice, url):
    response = api(alice).put(URL, {"webhook_alert_url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["success"] is False and "webhook_alert_url is refused" in response.json()["message"]
    assert not ProjectSettings.objects.filter(project=project_a).exists()


def test_it_refuses_loopback_and_metadata_addresses_unless_allowlisted(project_a, api, alice):
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook"):
        response = api(alice).put(URL, {"webhook_alert_url": url}, format="json")
        assert response.status_code == 400 and "not a public address" in response.json()["message"], url


def test_it_refuses_a_name_that_resolves_to_a_private_address_without_connecting(project_a, alice):
    asked = []

    def resolver(host, port):
        asked.append((host, port))
        return ["10.0.0.7"]

    with pytest.raises(DomainError, match="not a public address"):
        project_settings_update(project=project_a, user=alice, webhook_alert_url="https://alerts.example.com/hook", resolver=resolver)
    assert asked == [("alerts.example.com", 443)]


def test_it_delivers_an_alert_and_logs_a_failure_without_the_query(project_a, alice, receiver, pg, folder, caplog):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    run = job.tasks.create(status=TaskStatus.FAILED, error="relation t is gone")
    project_settings_update(project=project_a, user=alice, webhook_alert_url=receiver.url())

    assert webhook_alert_deliver(run.pk) == "sent"
    path, body = receiver.received[0]
    assert path == "/hook?token=s3cr3t-token"
    assert body == {"job_id": job.pk, "job_name": job.name, "run_id": run.pk, "status": "failed",
                    "error": "relation t is gone", "project": "alpha"}

    receiver.close()  # nothing listens now
    with caplog.at_level(logging.WARNING, logger="pipelines.webhooks"):
        assert webhook_alert_deliver(run.pk) == "failed"
    assert "/hook" in caplog.text and "s3cr3t-token" not in caplog.text


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_alerts_the_webhook_when_a_run_fails_on_a_real_worker(project_a, alice, receiver, pg, folder, cluster_factory):
    config, conn, _ = pg
    conn.execute("CREATE TABLE t (id int)")
    job = make_job(project_a, alice, "postgres", config, "parquet", {"path": folder})
    conn.execute("DROP TABLE t")  # the run's stream is gone: every attempt fails
    project_settings_update(project=project_a, user=alice, webhook_alert_url=receiver.url("/failed"))
    cluster_factory(D2D_PIPELINES_WEBHOOK_ALLOWLIST=receiver.hostport)

    run = job_sync_start(job=job, user=alice)
    wait_until(lambda: receiver.received, timeout=90, interval=0.3, message="the alert of the failed run")
    run.refresh_from_db()
    assert run.status == TaskStatus.FAILED
    path, body = receiver.received[0]
    assert path == "/failed" and body["run_id"] == run.pk and body["status"] == "failed" and body["job_name"] == job.name
    assert len(receiver.received) == 1, "one alert per failed run, none for the retries before it"


def test_it_shows_settings_in_the_admin_without_the_query_and_guards_staff_saves(client, django_user_model, project_a):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    ProjectSettings.objects.create(project=project_a, webhook_alert_url="https://alerts.example.com/hook?key=Zq9-secret")
    listing = client.get("/admin/pipelines/projectsettings/?q=alpha")
    assert listing.status_code == 200
    assert b"https://alerts.example.com/hook" in listing.content and b"Zq9-secret" not in listing.content
    change = client.post(f"/admin/pipelines/projectsettings/{project_a.pk}/change/", {"webhook_alert_url": "http://127.0.0.1/x"})
    assert change.status_code == 200 and b"not a public address" in change.content
