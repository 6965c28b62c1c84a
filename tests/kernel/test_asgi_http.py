"""kernel.asgi_http.SyncChainASGIHandler: Django's answers, each request's work on one pooled thread.

The handler is driven in process with ASGI messages, as uvicorn drives it, next to Django's own
ASGIHandler where the two must agree. The servers the end-to-end tests start (uvicorn
d2d.asgi:application) run every other request of the suite through it too.
"""

import asyncio
import threading
import time

import pytest
from django.core import signals
from django.core.handlers.asgi import ASGIHandler

from kernel.asgi_http import SyncChainASGIHandler
from tests.kernel import asgi_http_urls

pytestmark = pytest.mark.urls("tests.kernel.asgi_http_urls")


@pytest.fixture(scope="module")
def handler():
    return SyncChainASGIHandler(threads=4)


def scope(method: str, path: str, *, query: bytes = b"", headers=()) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }


def drive(app, request_scope: dict, body_parts=(b"",), *, disconnect_after_chunks: int | None = None) -> list[dict]:
    """Run one request through ``app`` as an ASGI server would; the messages it sent."""

    async def run():
        sent: list[dict] = []
        gone = asyncio.Event()
        inbox = [{"type": "http.request", "body": part, "more_body": index < len(body_parts) - 1}
                 for index, part in enumerate(body_parts)]

        async def receive():
            if inbox:
                return inbox.pop(0)
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            bodies = sum(1 for m in sent if m["type"] == "http.response.body")
            if disconnect_after_chunks is not None and bodies >= disconnect_after_chunks:
                gone.set()  # the client goes away
            if message["type"] == "http.response.body" and not message.get("more_body"):
                gone.set()

        await asyncio.wait_for(app(request_scope, receive, send), timeout=60)
        return sent

    return asyncio.run(run())


def answer(messages: list[dict]) -> tuple[int, dict, bytes]:
    start = messages[0]
    assert start["type"] == "http.response.start"
    headers = {}
    for name, value in start["headers"]:
        headers.setdefault(name.decode("latin1"), []).append(value.decode("latin1"))
    return start["status"], headers, b"".join(m.get("body", b"") for m in messages[1:])


def test_it_answers_as_djangos_handler_does(handler):
    django_handler = ASGIHandler()
    requests = [
        (scope("POST", "/echo", query=b"q=1", headers=[(b"content-type", b"application/octet-stream")]), (b"abc", b"def")),
        (scope("GET", "/cookie"), (b"",)),
        (scope("GET", "/nowhere"), (b"",)),
        (scope("GET", "/async"), (b"",)),
    ]
    for request_scope, body in requests:
        ours = answer(drive(handler, dict(request_scope), body))
        theirs = answer(drive(django_handler, dict(request_scope), body))
        assert ours == theirs, request_scope["path"]
    status, headers, body = answer(drive(handler, scope("GET", "/cookie")))
    assert status == 200 and body == b"ok"
    assert "X-Case-Kept" in headers  # header case kept
    assert headers["Set-Cookie"][0].startswith("flavour=oat;") and "HttpOnly" in headers["Set-Cookie"][0]


def test_a_body_past_the_memory_limit_is_read_whole(handler, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # spooled to disk past this, as by Django's handler
    parts = [bytes([65 + n]) * 1000 for n in range(5)]
    status, _, body = answer(drive(handler, scope("POST", "/echo"), parts))
    assert status == 200 and b'"length": 5000' in body and b'"head": "AAAAAAAAAAAAAAAA"' in body


def test_request_started_the_view_and_request_finished_run_on_one_pooled_thread(handler):
    threads = {}

    def started(**kwargs):
        threads["started"] = threading.get_ident()

    def finished(**kwargs):
        threads["finished"] = threading.get_ident()

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _, body = answer(drive(handler, scope("GET", "/where")))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 200 and b'"thread": "d2d-http' in body
    assert threads["started"] == asgi_http_urls.seen["view_thread"] == threads["finished"]  # so its connections close where they were opened
    assert threads["started"] != threading.get_ident()


def test_a_download_streams_in_chunks_and_closes_its_file(handler, tmp_path):
    data = bytes(range(256)) * 1024 + b"tail"  # 256 KiB and 4 bytes
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    finished = []
    signals.request_finished.connect(lambda **kwargs: finished.append(threading.get_ident()), weak=False, dispatch_uid="t-dl")
    try:
        messages = drive(handler, scope("GET", "/download", query=f"path={source}".encode()))
    finally:
        signals.request_finished.disconnect(dispatch_uid="t-dl")
    status, headers, body = answer(messages)
    assert status == 200 and body == data
    assert headers["Content-Disposition"] == ['attachment; filename="data.bin"']
    chunks = [m for m in messages[1:] if m.get("body")]
    assert len(chunks) == 5 and all(len(c["body"]) <= 65536 for c in chunks)  # 64 KiB blocks
    assert messages[-1] == {"type": "http.response.body"}
    assert asgi_http_urls.seen["file"].closed
    assert len(finished) == 1 and finished[0] != asgi_http_urls.seen["view_thread"]  # closed where it was streamed


def test_a_stream_does_not_hold_a_request_thread(tmp_path):
    one_thread = SyncChainASGIHandler(threads=1)
    asgi_http_urls.gate.clear()
    asgi_http_urls.seen.pop("held_waiting", None)

    async def both():
        loop = asyncio.get_running_loop()
        stream = loop.run_in_executor(None, drive, one_thread, scope("GET", "/held"))
        for _ in range(200):
            if asgi_http_urls.seen.get("held_waiting"):
                break
            await asyncio.sleep(0.02)
        started = time.monotonic()
        quick = await loop.run_in_executor(None, drive, one_thread, scope("GET", "/where"))
        waited = time.monotonic() - started
        asgi_http_urls.gate.set()
        return quick, waited, await stream

    quick, waited, streamed = asyncio.run(both())
    assert asgi_http_urls.seen["held_waiting"]
    assert answer(quick)[0] == 200 and waited < 5  # the one request thread was free while the stream waited
    assert answer(streamed)[2] == b"firstlast"


def test_a_stream_stops_when_the_client_goes_away(handler):
    asgi_http_urls.seen.pop("closed", None)
    messages = drive(handler, scope("GET", "/endless"), disconnect_after_chunks=3)
    assert answer(messages)[0] == 200
    assert asgi_http_urls.seen["produced"] < 50  # of 10,000 chunks
    assert asgi_http_urls.seen["closed"] is True  # the generator was closed, its clean-up ran


def test_an_async_stream_goes_out_part_by_part_and_stops_when_the_client_goes_away(handler):
    asgi_http_urls.seen.pop("events_closed", None)
    finished = []
    signals.request_finished.connect(lambda **kwargs: finished.append(True), weak=False, dispatch_uid="t-events")
    try:
        messages = drive(handler, scope("GET", "/events"), disconnect_after_chunks=3)  # hung here, collecting it whole
    finally:
        signals.request_finished.disconnect(dispatch_uid="t-events")
    status, headers, body = answer(messages)
    assert status == 200 and headers["Content-Type"] == ["text/event-stream"]
    assert body.startswith(b"data: 0\n\ndata: 1\n\ndata: 2\n\n")
    assert asgi_http_urls.seen["events_sent"] < 100
    assert asgi_http_urls.seen["events_closed"] is True and finished == [True]


def test_a_stream_can_read_the_request_body_while_it_is_sent(handler):
    status, _, body = answer(drive(handler, scope("POST", "/echo-stream"), (b"abc", b"def")))
    assert status == 200 and body == b"got:abcdef"  # the body was closed before the stream began


def test_more_requests_at_once_than_threads_all_complete(handler):
    async def many():
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(None, drive, handler, scope("GET", "/where")) for _ in range(12)))

    results = asyncio.run(many())
    names = {answer(messages)[2] for messages in results}
    assert all(answer(messages)[0] == 200 for messages in results)
    assert 1 <= len(names) <= 4  # the handler's four threads, reused


def test_websockets_are_not_its_business(handler):
    with pytest.raises(ValueError, match="only handle ASGI/HTTP"):
        asyncio.run(handler({"type": "websocket"}, None, None))


@pytest.mark.urls("d2d.urls")
@pytest.mark.django_db(transaction=True)
def test_d2d_endpoints_answer_the_same_through_it(alice):
    from accounts.services import token_issue
    from d2d.asgi import application  # d2d's whole stack: middleware, contracts' error formats

    django_handler = ASGIHandler()
    _, raw = token_issue(user=alice, name="asgi")
    auth = [(b"authorization", f"Bearer {raw}".encode())]
    for expected, request_scope in (
        (200, scope("GET", "/api/v1/auth/me", headers=auth)),
        (404, scope("GET", "/api/v1/task", query=b"id=5ea7ed00-0000-4000-8000-00000000f00d", headers=auth)),
        (401, scope("GET", "/api/v1/task", query=b"id=x")),
        (200, scope("GET", "/healthz")),
    ):
        ours = answer(drive(application, dict(request_scope)))
        theirs = answer(drive(django_handler, dict(request_scope)))
        assert ours[0] == expected and ours[0] == theirs[0] and ours[2] == theirs[2], request_scope["path"]
        assert ours[1].keys() == theirs[1].keys()
