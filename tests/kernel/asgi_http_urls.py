"""URLs for tests/kernel/test_asgi_http.py: views that show on which thread and in what order a
request's work runs under SyncChainASGIHandler."""

import asyncio
import threading

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

seen: dict = {}  # filled by the views and by the test's signal receivers


def where(request):
    seen["view_thread"] = threading.get_ident()
    return JsonResponse({"thread": threading.current_thread().name})


@csrf_exempt
def echo(request):
    body = request.body
    return JsonResponse({"method": request.method, "length": len(body), "head": body[:16].decode("latin1"),
                         "query": request.GET.get("q", "")})


def cookie(request):
    response = HttpResponse("ok", content_type="text/plain")
    response.set_cookie("flavour", "oat", httponly=True)
    response["X-Case-Kept"] = "yes"
    return response


def download(request):
    seen["view_thread"] = threading.get_ident()
    handle = open(request.GET["path"], "rb")
    seen["file"] = handle
    return FileResponse(handle, as_attachment=True, filename="data.bin")


def endless(request):
    def chunks():
        try:
            for number in range(10_000):
                seen["produced"] = number + 1
                yield b"x" * 65536
        finally:
            seen["closed"] = True

    return StreamingHttpResponse(chunks(), content_type="application/octet-stream")


gate = threading.Event()


def held(request):
    """A stream that waits at the gate after its first chunk, like a download to a slow client."""

    def chunks():
        yield b"first"
        seen["held_waiting"] = True
        gate.wait(30)
        yield b"last"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


async def async_view(request):
    return JsonResponse({"async": True})


async def events(request):
    """An endless async stream (server-sent events): its parts must go out as they come."""

    async def parts():
        try:
            for number in range(1_000_000):
                seen["events_sent"] = number + 1
                yield f"data: {number}\n\n".encode()
                await asyncio.sleep(0.01)
        finally:
            seen["events_closed"] = True

    return StreamingHttpResponse(parts(), content_type="text/event-stream")


@csrf_exempt
def echo_stream(request):
    """A stream that reads the request's body only as it is sent."""

    def chunks():
        yield b"got:"
        yield request.body

    return StreamingHttpResponse(chunks(), content_type="application/octet-stream")


urlpatterns = [
    path("where", where),
    path("echo", echo),
    path("cookie", cookie),
    path("download", download),
    path("endless", endless),
    path("held", held),
    path("async", async_view),
    path("events", events),
    path("echo-stream", echo_stream),
]
