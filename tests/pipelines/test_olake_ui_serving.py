"""The OLake UI served from D2D_OLAKE_UI_DIR (assets, its page on client routes, GET /login), and its project-less routes."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

INDEX = b"<!doctype html><html><head><script type=module src=/assets/index-abc.js></script></head><body></body></html>"


@pytest.fixture
def ui_build(tmp_path, settings):
    """A stand-in build with the layout of olake-ui's ui/dist: index.html and hashed files under assets/."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-abc.js").write_text("console.log('ui')")
    (tmp_path / "assets" / "index-abc.css").write_text("body{}")
    (tmp_path / "assets" / "logo-abc.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside assets")
    settings.D2D_OLAKE_UI_DIR = str(tmp_path)
    return tmp_path


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_serves_the_assets_with_their_content_types_and_a_long_cache(ui_build):
    client = Client()
    for name, content_type in (("index-abc.js", "text/javascript"), ("index-abc.css", "text/css"), ("logo-abc.svg", "image/svg+xml")):
        response = client.get(f"/assets/{name}")
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith(content_type)
        assert "immutable" in response["Cache-Control"]
    assert body_of(client.get("/assets/index-abc.js")) == b"console.log('ui')"
    assert client.get("/assets/missing.js").status_code == 404


def test_it_never_serves_a_file_outside_assets(ui_build):
    client = Client()
    for path in ("/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/..%2fsecret.txt", "/assets//etc/passwd"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert b"outside assets" not in body_of(response) and b"root:" not in body_of(response)


def test_it_answers_the_page_on_every_client_route_and_get_login(ui_build):
    client = Client()
    for path in ("/", "/jobs", "/jobs/new", "/jobs/5/history/1/logs?file=sync-1", "/sources", "/sources/3", "/destinations/new",
                 "/settings", "/maintenance/tables", "/login"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content == INDEX and response["Content-Type"].startswith("text/html")
        assert response["Cache-Control"] == "no-cache"
    assert client.head("/jobs").status_code == 200


def test_it_keeps_post_login_and_the_apis_as_they_are(ui_build, alice):
    client = Client()
    login = client.post("/login", {"username": "alice", "password": "correct-horse-battery"}, content_type="application/json")
    assert login.status_code == 200 and login.json()["data"] == {"username": "alice"}
    missing = client.get("/api/v1/project/123/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"success": False, "message": "Resource not found"}
    assert client.get("/api/v1/nothing").json() == {"error": "Resource not found"}
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.post("/jobs").status_code == 405  # the page is for reading only
    assert client.get("/admin/").status_code == 302


def test_it_changes_nothing_when_no_build_is_configured(settings):
    settings.D2D_OLAKE_UI_DIR = ""
    client = Client()
    for path in ("/", "/jobs", "/settings", "/assets/index-abc.js"):
        response = client.get(path)
        assert response.status_code == 404 and b"Not Found" in response.content, path
    login = client.get("/login")
    assert login.status_code == 405 and login.json()["success"] is False


def test_it_turns_the_ui_analytics_off_and_answers_the_platform_routes_offline(api, alice):
    anonymous = Client()
    telemetry = anonymous.get("/telemetry-id")
    assert telemetry.status_code == 200
    assert telemetry.json()["success"] is True and telemetry.json()["data"]["user_id"] == ""
    assert telemetry.json()["data"]["version"]

    client = api(alice)
    releases = client.get("/api/v1/platform/releases")
    assert releases.status_code == 200
    assert releases.json()["data"] == {"olake_ui_worker": None, "olake_helm": None, "olake": None, "features": None}
    status = client.get("/api/v1/platform/opt/status")
    assert status.status_code == 200 and status.json()["data"] == {"enabled": False}
    assert api(None).get("/api/v1/platform/opt/status").status_code == 401
    assert client.get("/api/v1/platform/nothing").json() == {"success": False, "message": "Resource not found"}
    assert api(None).get("/api/v1/platform/tasks/not-a-uuid").json() == {"error": "Resource not found"}


def test_it_checks_the_session_or_token_at_auth_check(api, alice):
    assert api(alice).get("/auth/check").json()["success"] is True
    session = Client()
    assert session.get("/auth/check").status_code == 401
    assert session.get("/auth/check").json()["success"] is False
    session.post("/login", {"username": "alice", "password": "correct-horse-battery"}, content_type="application/json")
    checked = session.get("/auth/check")
    assert checked.status_code == 200 and checked.json()["data"] == {"username": "alice"}
