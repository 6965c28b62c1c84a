"""HTTP under ASGI the way a threaded WSGI server serves it: one call on a pooled thread per request.

Django's own ``ASGIHandler`` runs a synchronous middleware chain and view through several thread
hops per request (the ``request_started`` receivers, the chain, an ``async_to_sync`` back to the
event loop for its async inner handler, the view, then ``response.close``), all on a thread made
for that one request. Every middleware and view of d2d is synchronous, so those hops are pure
overhead: they cost more CPU than the middleware's own work and cut the requests a process answers
by half (docs/load.md).

``SyncChainASGIHandler`` reads the body on the event loop, then runs ``request_started``, the
middleware chain with the view, and ``request_finished`` in one call on a bounded pool of reused
threads (``D2D_HTTP_THREADS``), like gunicorn's gthread workers do under WSGI. The loop sends the
answer. A streaming answer (a download) is iterated on that same thread, each chunk handed to the
loop, and stops when the client goes away. Database connections therefore open, serve and close on
one thread per request, exactly as under WSGI; an async view still works (Django's sync chain
wraps it), it just gains nothing.

What Django's handler does and this one keeps: the body spooled to disk past
``FILE_UPLOAD_MAX_MEMORY_SIZE``, its 400 and 413 answers for a request it cannot build, 64 KiB
chunks, ``FileResponse.block_size`` raised to match, cookies as ``Set-Cookie`` headers.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the request's synchronous work done in one pooled-thread call."""

    def __init__(self, threads: int | None = None):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = threads or settings.D2D_HTTP_THREADS
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="d2d-http")
        self._respond_in_thread = sync_to_async(self._respond, thread_sensitive=False, executor=self._executor)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        disconnected = threading.Event()
        watcher = asyncio.create_task(self._watch_disconnect(receive, disconnected))
        try:
            with closing(body_file):
                answer = await self._respond_in_thread(scope, body_file, send, disconnected)
            if answer is not None:
                start, body = answer
                await send(start)
                for chunk, last in self.chunk_bytes(body):
                    await send({"type": "http.response.body", "body": chunk, "more_body": not last})
        finally:
            watcher.cancel()

    @staticmethod
    async def _watch_disconnect(receive, disconnected: threading.Event):
        """Flag the client's going away, so a stream on the request's thread stops sending."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.set()
                return

    def _respond(self, scope, body_file, send, disconnected: threading.Event):
        """The whole synchronous life of one request, on one thread.

        Returns the start message and body of a whole answer for the loop to send, after
        ``request_finished`` has run here; a streaming answer is sent from here and returns None.
        """
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        try:
            if response.streaming:
                self._stream(response, async_to_sync(send), disconnected)
                return None
            return self.start_message(response), response.content
        finally:
            response.close()  # sends request_finished: the connections of this thread close here

    def _stream(self, response, send, disconnected: threading.Event):
        send(self.start_message(response))
        for part in response:
            for chunk, _ in self.chunk_bytes(part):
                if disconnected.is_set():
                    return
                send({"type": "http.response.body", "body": chunk, "more_body": True})
        send({"type": "http.response.body"})

    @staticmethod
    def start_message(response) -> dict:
        """``http.response.start`` for ``response``, header case kept (as Django's handler does)."""
        headers = [
            (bytes(name.encode("ascii") if isinstance(name, str) else name),
             bytes(value.encode("latin1") if isinstance(value, str) else value))
            for name, value in response.items()
        ]
        headers += [(b"Set-Cookie", cookie.OutputString().encode("ascii")) for cookie in response.cookies.values()]
        return {"type": "http.response.start", "status": response.status_code, "headers": headers}
