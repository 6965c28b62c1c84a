"""Benchmark: a large CSV to Parquet through the API and the worker, against pyarrow's own CSV-to-Parquet.

Usage: .venv/bin/python bench/convert.py [--mb 500] [--repeat 2] [--keep]

Starts its own stack on a scratch data folder (SQLite, ORM broker, local files,
uvicorn and one qcluster worker) unless DATABASE_URL is set, generates a CSV of
--mb megabytes (7 columns: int, float, string, bool, timestamp, int, string), then:

1. baseline: pyarrow.csv.read_csv + pyarrow.parquet.write_table in this process;
2. d2d (after a warm-up task, so the worker has imported its converters): POST /api/v1/task (tabular, to=parquet), POST /api/v1/assets with the CSV's URL
   on a local file server (allowlisted), last_batch; polls GET /api/v1/task until COMPLETED.

It prints MB/s of each and the ratios: the worker's conversion (from the PROCESSING
stage to the end, read from the task log) and the whole run (create to COMPLETED,
including the server downloading the file over loopback).
"""

import argparse
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


class Stack:
    """A d2d web server and worker on a scratch data folder; each bench starts its own."""

    SETUP = (
        "from accounts.services import user_create, project_create, token_issue\n"
        "user = user_create(username='bench', email='bench@example.com', password='bench-password-123')\n"
        "project_create(project_id='bench', name='Bench', owner=user)\n"
        "print(token_issue(user=user, name='bench')[1])\n"
    )

    def __init__(self, data_dir: Path, **env):
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "d2d.settings",
            "D2D_DATA_DIR": str(data_dir),
            "D2D_WORKERS": "1",
            "LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in env.items()},
        }
        self.processes: list[subprocess.Popen] = []
        self.port = free_port()
        self.token = ""

    def manage(self, *args, input_text: str | None = None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, input=input_text, capture_output=True, text=True, check=True
        )
        return result.stdout

    def setup(self) -> "Stack":
        self.manage("migrate", "--noinput")
        self.token = self.manage("shell", input_text=self.SETUP).strip().splitlines()[-1]
        return self

    def start(self, *, worker: bool = True, web_args: tuple = ()) -> "Stack":
        log = open(self.data_dir / "stack.log", "ab")
        web = [PYTHON, "-m", "uvicorn", "d2d.asgi:application", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", *web_args]
        self.processes.append(subprocess.Popen(web, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        if worker:
            self.processes.append(
                subprocess.Popen([PYTHON, "manage.py", "qcluster"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def make_csv(path: Path, megabytes: int) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(7)
    rows = 200_000
    target = megabytes * 1024 * 1024
    with pa_csv.CSVWriter(path, schema=_schema()) as writer:
        written, start = 0, 0
        while path.stat().st_size < target:
            ids = np.arange(start, start + rows)
            table = pa.table(
                {
                    "id": ids,
                    "amount": rng.normal(1000, 250, rows).round(4),
                    "name": pa.array([f"customer-{value % 100_000}" for value in ids]),
                    "active": rng.integers(0, 2, rows).astype(bool),
                    "at": pa.array((1_600_000_000 + ids).astype("datetime64[s]")),
                    "quantity": rng.integers(0, 10_000, rows),
                    "city": pa.array(rng.choice(["Moscow", "London", "Paris", "Berlin", "Madrid"], rows)),
                },
                schema=_schema(),
            )
            writer.write_table(table)
            start += rows
            written += rows
    return written


def _schema():
    import pyarrow as pa

    return pa.schema(
        [("id", pa.int64()), ("amount", pa.float64()), ("name", pa.string()), ("active", pa.bool_()),
         ("at", pa.timestamp("s")), ("quantity", pa.int64()), ("city", pa.string())]
    )


def baseline(csv_path: Path, out: Path) -> float:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    pq.write_table(pa_csv.read_csv(csv_path), out, compression="snappy")
    return time.perf_counter() - started


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = lambda *args, **kwargs: QuietHandler(*args, directory=str(folder), **kwargs)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def through_d2d(stack: Stack, url: str) -> dict:
    import requests

    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {stack.token}"
    started = time.perf_counter()
    task_id = http.post(f"{stack.base}/api/v1/task", json={"service": "tabular", "params": {"to": "parquet"}}).json()["data"]["task_id"]
    asset = {"file_name": "big.csv", "attributes": {}, "download_url": url}
    answer = http.post(f"{stack.base}/api/v1/assets", json={"task_id": task_id, "data": [asset], "last_batch": True})
    answer.raise_for_status()
    while True:
        data = http.get(f"{stack.base}/api/v1/task", params={"id": task_id}).json()["data"]
        if data["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.1)
    total = time.perf_counter() - started
    if data["status"] != "COMPLETED":
        raise SystemExit(f"the task failed: {data}")
    log = http.get(f"{stack.base}/api/v1/tasks/{task_id}/log", params={"limit": 1000}).json()["lines"]
    processing = next(line["time"] for line in log if line["message"].startswith("stage: PROCESSING"))
    finished = next(line["time"] for line in reversed(log) if line["message"] == "succeeded")
    convert_seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(processing)).total_seconds()
    return {"task_id": task_id, "total_seconds": total, "convert_seconds": convert_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=500, help="CSV size in megabytes (the issue asks for at least 500)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; the best of each is compared (shared machines are noisy)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="d2d-bench-convert-", dir=ROOT / "var" if (ROOT / "var").exists() else None))
    files_dir = scratch / "files"
    files_dir.mkdir()
    csv_path = files_dir / "big.csv"
    print(f"generating {args.mb} MB of CSV ...", flush=True)
    rows = make_csv(csv_path, args.mb)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{size_mb:.0f} MB, {rows} rows")

    base_seconds = min(baseline(csv_path, scratch / "baseline.parquet") for _ in range(args.repeat))
    base_rate = size_mb / base_seconds
    print(f"pyarrow read_csv + write_table: {base_seconds:.2f}s, {base_rate:.0f} MB/s")

    server, port = serve_folder(files_dir)
    stack = Stack(scratch / "d2d", D2D_CONVERSIONS_URL_ALLOWLIST=f"127.0.0.1:{port}", D2D_CONVERSIONS_URL_MAX_BYTES=str(4 * 1024**3))
    (scratch / "d2d").mkdir()
    try:
        stack.setup().start()
        # Warm-up: the worker imports the converters on its first task; measure a warm worker, as in service.
        (files_dir / "small.csv").write_bytes(csv_path.open("rb").read(1 << 20).rsplit(b"\n", 1)[0] + b"\n")
        through_d2d(stack, f"http://127.0.0.1:{port}/small.csv")
        runs = [through_d2d(stack, f"http://127.0.0.1:{port}/big.csv") for _ in range(args.repeat)]
        result = {"convert_seconds": min(run["convert_seconds"] for run in runs), "total_seconds": min(run["total_seconds"] for run in runs)}
    finally:
        stack.stop()
        server.shutdown()
    convert_rate = size_mb / result["convert_seconds"]
    total_rate = size_mb / result["total_seconds"]
    print(f"d2d worker conversion (PROCESSING to done): {result['convert_seconds']:.2f}s, {convert_rate:.0f} MB/s, "
          f"ratio {convert_rate / base_rate:.2f} of pyarrow")
    print(f"d2d whole run (create, download over loopback, convert, publish): {result['total_seconds']:.2f}s, "
          f"{total_rate:.0f} MB/s, ratio {total_rate / base_rate:.2f} of pyarrow")
    print(json.dumps({"mb": round(size_mb), "baseline_mb_s": round(base_rate), "worker_mb_s": round(convert_rate),
                      "worker_ratio": round(convert_rate / base_rate, 2), "whole_mb_s": round(total_rate),
                      "whole_ratio": round(total_rate / base_rate, 2)}))
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
