"""Benchmark: requests per second of GET /api/v1/task?id= under concurrent load, against a minimal Django view.

Usage: .venv/bin/python bench/api_status.py [--seconds 10] [--concurrency 16]

Both servers are uvicorn, one process, on loopback, started by this script:
d2d (d2d.asgi, token authentication, a real task row on a scratch SQLite database, or
DATABASE_URL when set) and a minimal Django project whose one view returns a
JsonResponse. The same client (threads with keep-alive connections) loads each in
turn; the script prints each rate and d2d's ratio to the minimal one.
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

if os.environ.get("BENCH_MINIMAL_DJANGO") == "1":
    # Imported by uvicorn as the baseline app: a Django project with one JSON view and nothing else.
    import django
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path

    def ping(request):
        return JsonResponse({"success": True, "message": "ok", "data": {"status": "COMPLETED"}})

    urlpatterns = [path("json", ping)]
    settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["127.0.0.1"], MIDDLEWARE=[], SECRET_KEY="bench-only")
    django.setup()
    from django.core.asgi import get_asgi_application

    minimal_app = get_asgi_application()


def load(port: int, target: str, headers: dict, seconds: float, concurrency: int) -> tuple[float, int]:
    """Requests per second (successful answers) over ``seconds`` with ``concurrency`` keep-alive clients."""
    counts = [0] * concurrency
    errors = [0] * concurrency
    stop = time.monotonic() + seconds

    def client(index: int):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            try:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started), sum(errors)


def main() -> None:
    from convert import Stack, free_port, wait_for_port

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (server log in stack.log)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="d2d-bench-api-"))
    stack = Stack(scratch)
    minimal = None
    try:
        stack.setup().start(worker=False)
        created = http.client.HTTPConnection("127.0.0.1", stack.port)
        created.request(
            "POST", "/api/v1/task", body=json.dumps({"service": "tabular"}),
            headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"},
        )
        task_id = json.loads(created.getresponse().read())["data"]["task_id"]
        headers = {"Authorization": f"Bearer {stack.token}"}
        load(stack.port, f"/api/v1/task?id={task_id}", headers, 1, args.concurrency)  # warm-up
        d2d_rate, d2d_errors = load(stack.port, f"/api/v1/task?id={task_id}", headers, args.seconds, args.concurrency)

        port = free_port()
        env = {**os.environ, "BENCH_MINIMAL_DJANGO": "1"}
        minimal = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api_status:minimal_app", "--app-dir", str(HERE), "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env,
        )
        wait_for_port(port)
        load(port, "/json", {}, 1, args.concurrency)
        base_rate, base_errors = load(port, "/json", {}, args.seconds, args.concurrency)
    finally:
        stack.stop()
        if minimal is not None:
            minimal.terminate()
            minimal.wait(timeout=20)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"scratch folder: {scratch}" if args.keep else "", end="\n" if args.keep else "")
    print(f"minimal Django JsonResponse: {base_rate:.0f} req/s ({base_errors} errors)")
    print(f"d2d GET /api/v1/task?id=:   {d2d_rate:.0f} req/s ({d2d_errors} errors), ratio {d2d_rate / base_rate:.2f}")
    print(json.dumps({"minimal_rps": round(base_rate), "d2d_rps": round(d2d_rate), "ratio": round(d2d_rate / base_rate, 2),
                      "concurrency": args.concurrency, "seconds": args.seconds}))


if __name__ == "__main__":
    main()
