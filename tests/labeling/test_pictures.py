"""Publisher pictures (upload or URL), their stable URLs, access checks, and the SSRF guard of URL import."""

import ipaddress
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling import fetch
from labeling.models import LabelingTask, Picture
from tests.labeling.conftest import png_bytes, png_upload

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

FILE_NOT_FOUND = {"errors": {"status": 404, "title": "File not found", "detail": "picture url not exists"}}


def test_it_uploads_pictures_and_serves_them_at_stable_urls(api, alice, bob, make_task, media):
    task = make_task()
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"file": [png_upload("one.png"), png_upload("two.png")]})
    assert response.status_code == 201
    urls = response.json()["data"]
    picture = Picture.objects.order_by("id").first()
    assert urls[0] == f"http://testserver/api/tasks/{task.pk}/pictures/{picture.pk}/{picture.file_name}"
    assert (picture.original_name, picture.width, picture.height, picture.content_type) == ("one.png", 8, 6, "image/png")
    assert (media / picture.file.name).exists()  # through the default storage
    served = api(bob).get(urls[0])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == png_bytes()
    assert api(bob).get(f"/api/tasks/{task.pk}/").json()["data"]["pictures"] == urls


def test_it_checks_access_to_picture_files(api, alice, charlie, make_task, project_b):
    task = make_task(pictures=1)
    url = api(alice).get(f"/api/tasks/{task.pk}/").json()["data"]["cover"]
    outsider = api(charlie).get(url)
    assert outsider.status_code == 404 and outsider.json() == FILE_NOT_FOUND
    assert api(None).get(url).status_code == 401
    assert api(alice).get(f"/api/tasks/{task.pk}/pictures/99999/x.png").json() == FILE_NOT_FOUND


def test_it_serves_pictures_to_image_clients(api, alice, make_task):
    task = make_task(pictures=1)
    url = api(alice).get(f"/api/tasks/{task.pk}/").json()["data"]["cover"]
    assert api(alice).get(url, HTTP_ACCEPT="image/webp,image/*").status_code == 200


def test_it_lists_a_tasks_pictures_with_their_state(api, alice, bob, make_task):
    task = make_task(pictures=3, size=1)
    bob_client = api(bob)
    bob_client.post("/api/tasks/apply/", {"data": {"task_id": task.pk}}, format="json")
    pictures = api(alice).get(f"/api/tasks/{task.pk}/pictures/?pageNum=0&pageSize=2").json()["data"]["pictures"]
    assert [(p["held"], p["done"]) for p in pictures] == [(True, False), (False, False)]


def test_it_lets_only_editors_add_pictures(api, bob, make_task):
    task = make_task()
    response = api(bob).post(f"/api/tasks/{task.pk}/pictures/", {"file": png_upload()})
    assert response.status_code == 403 and response.json()["message"] == "Access Denied"


def test_it_refuses_files_that_are_not_pictures_and_stores_none(api, alice, make_task, media):
    task = make_task()
    svg = SimpleUploadedFile("x.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml")
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"file": [png_upload(), svg]})
    assert response.status_code == 400 and response.json()["errors"]["title"] == "picture error"
    assert not Picture.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]  # the good file was not written either


def test_it_caps_picture_size(api, alice, make_task, settings):
    settings.D2D_LABELING_MAX_PICTURE_BYTES = 10
    task = make_task()
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"file": png_upload()})
    assert response.status_code == 400 and "the limit is 10" in response.json()["errors"]["detail"]


def test_it_takes_no_publisher_pictures_for_a_collection_task(api, alice, make_task):
    task = make_task(type=LabelingTask.Type.COLLECTION)
    assert api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"file": png_upload()}).status_code == 400


@pytest.fixture
def no_connections(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://127.1/a.png",
        "http://0x7f.1/a.png",
        "http://2130706433/a.png",
        "http://localhost:8000/a.png",
        "http://[::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://[64:ff9b::7f00:1]/a.png",
        "http://10.1.2.3/a.png",
        "http://100.64.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://224.0.0.1/a.png",
        "http://0.0.0.0/a.png",
    ],
)
def test_it_refuses_urls_that_resolve_to_non_public_addresses(api, alice, make_task, no_connections, url):
    task = make_task()
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"data": {"urls": [url]}}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"]["title"] == "bad picture url"
    assert not Picture.objects.exists()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "http://user:pw@example.com/a.png", "a.png"])
def test_it_refuses_urls_that_are_not_plain_http(api, alice, make_task, no_connections, url):
    task = make_task()
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"data": {"urls": [url]}}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["title"] == "bad picture url"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("fd00::1", False),
        ("169.254.169.254", False),
    ],
)
def test_it_allows_only_global_unicast_addresses(address, allowed):
    assert fetch.address_allowed(ipaddress.ip_address(address)) is allowed


class _Pictures(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/cat.png":
            body = png_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/trickle.png":
            body = png_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for index in range(len(body)):
                try:
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up, as it should
                time.sleep(0.1)
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/cat.png")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def picture_server(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pictures)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings.D2D_LABELING_URL_ALLOWLIST = [f"127.0.0.1:{port}"]  # only this loopback server is exempt
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_it_imports_pictures_from_urls(api, alice, make_task, picture_server):
    task = make_task()
    body = {"data": {"urls": [f"{picture_server}/cat.png"]}}
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", body, format="json")
    assert response.status_code == 201, response.json()
    picture = Picture.objects.get()
    assert (picture.source, picture.source_url, picture.original_name) == ("url", f"{picture_server}/cat.png", "cat.png")
    assert picture.file.read() == png_bytes()


def test_it_checks_every_redirect(api, alice, make_task, picture_server):
    task = make_task()
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"data": {"url": f"{picture_server}/hop"}}, format="json")
    assert response.status_code == 400 and "localhost" in response.json()["errors"]["detail"]


def test_it_answers_file_not_found_for_a_missing_remote_picture(api, alice, make_task, picture_server):
    task = make_task()
    body = {"data": {"urls": [f"{picture_server}/none.png"]}}
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", body, format="json")
    assert response.status_code == 404
    assert response.json()["errors"]["title"] == "File not found"
    assert response.json()["errors"]["detail"].startswith("picture url not exists")


def test_it_reads_picture_ids_only_from_our_urls_and_integers():
    from labeling.pictures import picture_id_from_url

    assert picture_id_from_url("http://any.host/api/tasks/3/pictures/7/x.png") == 7
    assert picture_id_from_url(7) == 7
    assert picture_id_from_url(True) is None  # a bool is an int to Python, not a picture id
    assert picture_id_from_url("http://[not-an-address/api/tasks/3/pictures/7/x.png") is None
    assert picture_id_from_url("http://any.host/api/tasks/3/") is None


def test_it_gives_up_on_a_server_that_trickles_past_the_time_limit(api, alice, make_task, picture_server, settings):
    """Each byte comes well within the socket timeout; only the overall deadline stops the download."""
    settings.D2D_LABELING_FETCH_TIMEOUT = 1
    task = make_task()
    started = time.monotonic()
    body = {"data": {"urls": [f"{picture_server}/trickle.png"]}}
    response = api(alice).post(f"/api/tasks/{task.pk}/pictures/", body, format="json")
    assert response.status_code == 400 and "took too long" in response.json()["errors"]["detail"]
    assert time.monotonic() - started < 3
    assert not Picture.objects.exists()
