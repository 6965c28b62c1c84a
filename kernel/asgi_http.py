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
answer. Database connections therefore open, serve and close on one thread per request, exactly
as under WSGI; an async view still works (Django's sync chain wraps it), it just gains nothing.

A streaming answer (a download) must not hold one of those threads while a slow client reads it,
or a few downloads would stall every other request. Once its view has returned, the request's
thread closes its database connections and goes back to the pool; a second, larger pool iterates
the answer, hands each chunk to the loop, stops when the client goes away, and closes the answer
(``request_finished``) on its own thread, so any connection the iteration opened closes there.
An answer over an async iterator (server-sent events) goes out from the loop instead, part by
part, as under Django's handler; a thread would have to collect it whole first.

What Django's handler does and this one keeps: the body spooled to disk past
``FILE_UPLOAD_MAX_MEMORY_SIZE``, its 400 and 413 answers for a request it cannot build, 64 KiB
chunks, ``FileResponse.block_size`` raised to match, cookies as ``Set-Cookie`` headers.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, closing, suppress

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse
from django.urls import set_script_prefix


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the request's synchronous work done in one pooled-thread call."""

    stream_threads_per_thread = 8  # streams mostly wait for their clients

    def __init__(self, threads: int | None = None):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = threads or settings.D2D_HTTP_THREADS
        requests = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="d2d-http")
        streams = ThreadPoolExecutor(max_workers=self.threads * self.stream_threads_per_thread, thread_name_prefix="d2d-http-stream")
        self._respond_in_thread = sync_to_async(self._respond, thread_sensitive=False, executor=requests)
        self._stream_in_thread = sync_to_async(self._stream, thread_sensitive=False, executor=streams)
        self._close_in_stream_thread = sync_to_async(self._close, thread_sensitive=False, executor=streams)

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
            with closing(body_file):  # open until the answer is sent: a stream may still read the request
                answer = await self._respond_in_thread(scope, body_file)
                if isinstance(answer, tuple):
                    start, body = answer
                    await send(start)
                    for chunk, last in self.chunk_bytes(body):
                        await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                elif answer.is_async:  # an async iterator (e.g. server-sent events): on the loop, as Django does
                    await self._stream_async(answer, send, watcher)
                else:
                    await self._stream_in_thread(answer, async_to_sync(send), disconnected)
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

    def _respond(self, scope, body_file):
        """The synchronous life of one request, on one thread of the request pool.

        Returns the start message and body of a whole answer for the loop to send, after
        ``request_finished`` has run here; a streaming answer is returned as it is, for _stream.
        """
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if response.streaming:
            close_old_connections()  # this thread is free again: its connections must not wait for the stream
            return response
        try:
            return self.start_message(response), response.content
        finally:
            response.close()  # sends request_finished: the connections of this thread close here

    def _stream(self, response, send, disconnected: threading.Event):
        """Send a streaming answer from a thread of the stream pool, then close it there."""
        try:
            send(self.start_message(response))
            for part in response:
                for chunk, _ in self.chunk_bytes(part):
                    if disconnected.is_set():
                        return
                    send({"type": "http.response.body", "body": chunk, "more_body": True})
            send({"type": "http.response.body"})
        finally:
            response.close()  # the file, and request_finished for what the iteration opened here

    async def _stream_async(self, response, send, watcher: asyncio.Task):
        """Send an answer whose content is an async iterator from the loop, part by part; stop it
        when the client goes away, then close it on a stream thread. Iterating it on a thread would
        collect it whole first (Django's StreamingHttpResponse.__iter__), and never end for an endless one."""

        async def pump():
            await send(self.start_message(response))
            async with aclosing(aiter(response)) as content:
                async for part in content:
                    for chunk, _ in self.chunk_bytes(part):
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body"})

        pumping = asyncio.ensure_future(pump())
        try:
            await asyncio.wait({pumping, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if pumping.done():
                pumping.result()
            else:  # the client went away
                pumping.cancel()
                with suppress(asyncio.CancelledError):
                    await pumping
        finally:
            if not pumping.done():
                pumping.cancel()
            await self._close_in_stream_thread(response)

    @staticmethod
    def _close(response):
        response.close()  # request_finished, on the thread that closes it

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
