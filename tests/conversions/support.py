"""Helpers for the conversions suites: local HTTP servers, a real ASGI server, running a task inline."""

import http.server
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from kernel.runner import execute
from tests.support.processes import ROOT, child_env, free_port, wait_for_port, wait_until


class FileServer:
    """A threaded HTTP server on 127.0.0.1 serving ``routes`` {path: callable(handler) or bytes}; records every request."""

    def __init__(self, routes: dict | None = None):
        self.routes = dict(routes or {})
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.hits.append(self.path)
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"


def redirect_to(location: str):
    def route(handler):
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def slow(seconds: float, body: bytes = b"late"):
    def route(handler):
        time.sleep(seconds)
        try:
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass

    return route


def run_inline(task) -> None:
    """Run an enqueued task in this process, as a worker would (no cluster needed)."""
    execute(task._meta.label, str(task.pk))
    task.refresh_from_db()


class AsgiServer:
    """uvicorn d2d.asgi:application on a free port, on the test database."""

    def __init__(self, log_path: Path, **env):
        self.port = free_port()
        self.log_path = log_path
        self.env = child_env(**env)
        self.process = None

    def __enter__(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "d2d.asgi:application", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60, process=self.process)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def session_for(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.trust_env = False  # never route loopback requests through a proxy from the environment
    return session


def csv_bytes(rows: int = 20) -> bytes:
    buffer = io.StringIO()
    buffer.write("id,name,score,ok\n")
    for index in range(rows):
        buffer.write(f"{index},name {index},{index * 1.5},{'true' if index % 2 else 'false'}\n")
    return buffer.getvalue().encode()


__all__ = ["wait_until"]
