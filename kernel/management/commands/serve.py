"""manage.py serve: the ASGI web server (HTTP and websockets) and the django-q2 worker in one command.

For one machine; in production run uvicorn on the ASGI application (``d2d.asgi:application``) and ``manage.py qcluster``
as separate services. Ctrl-C (SIGINT) or SIGTERM stops both children.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _asgi_app() -> str:
    """uvicorn's "module:attribute" for the ASGI_APPLICATION setting ("module.attribute")."""
    module, _, attribute = settings.ASGI_APPLICATION.rpartition(".")
    return f"{module}:{attribute}"


class Command(BaseCommand):
    help = "Run the web server and the task worker together until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("D2D_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("D2D_PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, host, port, no_worker, **options):
        python = sys.executable
        commands = {
            "web": [python, "-m", "uvicorn", _asgi_app(), "--host", host, "--port", str(port), "--no-access-log"],
        }
        if not no_worker:
            commands["worker"] = [python, "manage.py", "qcluster"]
        children = {name: subprocess.Popen(argv, start_new_session=True) for name, argv in commands.items()}
        self.stdout.write(f"d2d on http://{host}:{port}/ (admin: /admin/, API docs: /api/v1/docs); Ctrl-C stops")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.2)
        for child in children.values():
            if child.poll() is None:
                # Only the leader: qcluster stops its own workers in order; signalling the
                # whole group at once leaves its sentinel waiting on workers that are gone.
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        sys.exit(exit_code)
