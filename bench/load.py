"""Load benchmark: d2d under concurrent uploads, status polls, websocket listeners and pipeline syncs.

Usage: .venv/bin/python bench/load.py [--seconds 20] [--pollers 4] [--uploaders 2] [--listeners 4]
                                      [--sync-jobs 1] [--workers 2] [--database-url postgres://...] [--keep]
                                      [--reads-only]

Everything runs on 127.0.0.1 and is started (and stopped, also on Ctrl-C) by this script:

1. a fresh data folder and database (SQLite under a scratch folder; with --database-url a
   scratch database created on that PostgreSQL server and dropped afterwards), migrated, with
   a user, a project it owns and an API token made through d2d's services;
2. the real server (uvicorn d2d.asgi:application), a real worker (manage.py qcluster) and the
   baseline: a minimal Django project with one JsonResponse view (bench/load_baseline.py),
   each a subprocess on a free loopback port, and two references: the same project through
   d2d's ASGI handler, and the same view under d2d's settings and middleware;
3. ratio phase: the same keep-alive clients poll, in alternating slices, the baseline, the
   references, d2d's /healthz (middleware and one query, no authentication) and every
   contract's hot read (bench/load_reads.py: 000 task detail and list, 001 status, 002 compute
   status, 003 task list, 004 sources, jobs and a job's run history), so all rates are measured
   in the same run on the same machine load; issue 26's target is each hot read at 0.25 of the
   minimal view through d2d's own handler, p99 under 50 ms (--reads-only stops after this);
4. mixed phase, --seconds long, all together: pollers (closed loop, 001 status and 000 detail
   of random accepted tasks), uploaders (000: register a tabular task, upload a small CSV,
   submit), websocket listeners following every accepted upload to its final frame, one
   thread per manual pipeline job asking for a sync and following the run, and a job with a
   one-minute schedule (made due at once; django-q2's scheduler looks every 30 s);
5. drain: waits (at most --drain seconds) for every accepted task and run to finish, then
   checks each through the API and the database.

It prints a table per activity (requests, req/s, p50/p99 latency, errors), the tasks
(accepted, finished, failed, lost), the ratio phase against both minimal views, PASS/FAIL
per target (zero errors, zero lost tasks, status polling >= 0.7, each hot read >= 0.25 of the
minimal view through d2d's handler with p99 < 50 ms), and a JSON line. It exits 1 when a
target fails, 2 when the run itself could not be made.
"""

import argparse
import http.client
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))  # d2d's packages, for django.setup() in this process
from load_reads import READ_P99_MS, READ_TARGET, READS, ComputeStatusPaths, read_targets, seed_reads  # noqa: E402 (bench/)
HOST = "127.0.0.1"  # every request of this script goes here
RATIO_TARGET = 0.7
INHERITED_NOT_USED = ("DATABASE_URL", "REDIS_URL", "D2D_BROKER", "MEDIA_ROOT", "D2D_STORAGE")  # scratch, embedded defaults
FINAL_CONVERSION = {"succeeded", "failed", "cancelled"}
FINAL_RUN = {"succeeded", "failed", "cancelled"}


def run_status(body: dict) -> str | None:
    """A 000 task's runner status: 000's own words (queued, execution, success, failure) are coarser."""
    return body.get("run_status", body.get("status"))


# --- measurements -------------------------------------------------------------------------


class Activity:
    """Latencies and errors of one kind of request; threads add to it under a lock."""

    def __init__(self, name: str, gated: bool = True):
        self.name = name
        self.gated = gated  # its errors count against the zero-errors target
        self.latencies: list[float] = []
        self.errors = 0
        self.samples: list[str] = []
        self.lock = threading.Lock()

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def fail(self, seconds: float | None, why: str) -> None:
        with self.lock:
            if seconds is not None:
                self.latencies.append(seconds)
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(why[:300])

    @property
    def count(self) -> int:
        return len(self.latencies)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 (reopened after an error)."""

    def __init__(self, port: int, token: str = "", timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.connection: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def request(self, method: str, target: str, body: bytes | None = None, content_type: str | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        if self.connection is not None and time.monotonic() - self.last_used > 3:
            self.close()  # uvicorn drops keep-alive connections idle for 5 s: do not send a POST into one
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.connection.request(method, target, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                self.last_used = time.monotonic()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: a GET is tried once more on a new
                # one; a POST is not (it may have been processed), so its error is counted.
                self.close()
                if method != "GET" or attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        raise AssertionError("unreachable")

    def json(self, method: str, target: str, payload=None) -> tuple[int, dict]:
        body = json.dumps(payload).encode() if payload is not None else None
        status, data = self.request(method, target, body, "application/json" if body is not None else None)
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            return status, {"_raw": data[:200].decode("latin-1")}

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def timed(activity: Activity, call, *, expect: tuple[int, ...] = (200,)):
    """Run ``call`` (returning (status, body)); record its latency, an error unless the status is expected."""
    started = time.perf_counter()
    try:
        status, body = call()
    except (OSError, http.client.HTTPException) as exc:
        activity.fail(time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return None, None
    elapsed = time.perf_counter() - started
    if status in expect:
        activity.ok(elapsed)
    else:
        activity.fail(elapsed, f"HTTP {status}: {str(body)[:200]}")
    return status, body


def multipart(field: str, filename: str, content: bytes, content_type: str = "text/csv") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def small_csv(rows: int = 200, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    lines = ["id,name,amount,active,at"]
    for index in range(rows):
        lines.append(f"{index},customer-{rng.randrange(10_000)},{rng.uniform(0, 1000):.3f},{rng.random() < 0.5},"
                     f"2026-01-{1 + index % 28:02d}T12:00:00")
    return ("\n".join(lines) + "\n").encode()


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_http(port: int, path: str, processes: list, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process, log in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} while starting; see {log}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answers on {HOST}:{port}{path}")


class Processes:
    """Subprocesses this script started, each in its own session so its whole group can be stopped."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.items: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as handle:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.items.append((name, process, log))
        return process

    def dead(self) -> list[str]:
        return [f"{name} (exit {process.returncode})" for name, process, _ in self.items if process.poll() is not None]

    def stop(self) -> None:
        for _, process, _ in self.items:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for _, process, _ in self.items:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group: qcluster's worker processes, whatever the leader did
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


# --- environment --------------------------------------------------------------------------


def scratch_database(base_url: str) -> tuple[str, str]:
    """A new empty database on the PostgreSQL server of ``base_url``: (its URL, its name)."""
    import psycopg

    name = f"d2d_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(env: dict, clients: int) -> tuple[str, dict]:
    """Migrate and create the bench user, project and token, and the hot reads' data, in this process
    (django.setup() on ``env``): (the token, what bench/load_reads.py's clients need)."""
    for key in INHERITED_NOT_USED:
        if key not in env:
            os.environ.pop(key, None)  # this process must use the scratch database, as the children do
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import Role
    from accounts.services import membership_set, project_create, token_issue, user_create

    call_command("migrate", interactive=False, verbosity=0)
    user = user_create(username="loadbench", email="loadbench@example.com", password="load-bench-password-123")
    project = project_create(project_id="load", name="Load bench", owner=user)
    membership_set(project=project, user=user, role=Role.OWNER)
    _, raw = token_issue(user=user, name="load bench")
    connections.close_all()
    return raw, seed_reads(username="loadbench", project_id="load", clients=clients)


def write_pipeline_source(media: Path) -> int:
    """The file source of the jobs: a CSV in the project's pipelines folder. Returns its row count."""
    folder = media / "pipelines" / "load" / "source"
    folder.mkdir(parents=True, exist_ok=True)
    rows = 5000
    (folder / "orders.csv").write_bytes(small_csv(rows, seed=1))
    return rows


def make_scheduled_job_due(client: Client, project: str, job_id: str) -> bool:
    """Activate the scheduled job through the API (d2d registers its django-q2 schedule, due at the next
    minute) and bring that schedule forward to now, so its first tick comes at the scheduler's next look."""
    status, body = client.json("POST", f"/api/v1/project/{project}/jobs/{job_id}/activate", {"activate": True})
    if status != 200:
        raise RuntimeError(f"activating job {job_id}: HTTP {status} {body}")
    from django.db import connections
    from django.utils import timezone as dj_timezone
    from django_q.models import Schedule

    try:
        return Schedule.objects.filter(name=f"pipelines job {job_id}", func="pipelines.tasks.job_sync_scheduled").update(
            next_run=dj_timezone.now()
        ) > 0
    finally:
        connections.close_all()


def database_counts(mixed_wall: float, mixed_seconds: float) -> dict:
    """What the database says after the drain (a cross-check of the API's answers), and when the
    scheduled runs were created, in seconds from the start of the mixed phase."""
    from django.db import connections
    from django.db.models import Count

    from conversions.models import ConversionTask
    from pipelines.models import JobTask

    try:
        conversions = dict(ConversionTask._base_manager.values_list("status").annotate(n=Count("pk")))
        runs = dict(JobTask.objects.values_list("status").annotate(n=Count("pk")))
        scheduled = [round(created.timestamp() - mixed_wall, 1) for created in
                     JobTask.objects.filter(trigger=JobTask.Trigger.SCHEDULE).values_list("created_at", flat=True)]
        return {"conversion_tasks": conversions, "sync_runs": runs, "scheduled_run_created_at_s": scheduled,
                "mixed_phase_s": round(mixed_seconds, 1)}
    finally:
        connections.close_all()


# --- the load -----------------------------------------------------------------------------


class Shared:
    def __init__(self, args, port: int, token: str, project: str):
        self.args, self.port, self.token, self.project = args, port, token, project
        self.stop = threading.Event()  # the mixed phase is over: no new requests
        self.drain_stop = threading.Event()  # the drain is over: listeners give up
        self.uploads_done = threading.Event()  # no uploader will accept another task
        self.lock = threading.Lock()
        self.accepted_uploads: list[str] = []  # submit answered 202
        self.accepted_runs: dict[str, str] = {}  # run id -> job id (sync answered 200)
        self.poll_ids: list[str] = []
        self.followed: queue.Queue = queue.Queue()
        self.ws_done: dict[str, str] = {}  # task id -> final status seen on the websocket
        self.acts: dict[str, Activity] = {}

    def act(self, name: str) -> Activity:
        with self.lock:
            if name not in self.acts:
                self.acts[name] = Activity(name)
            return self.acts[name]


def poller(shared: Shared, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(shared.port, shared.token)
    common, detail = shared.act("poll GET /api/v1/task?id="), shared.act("poll GET /api/v1/tasks/<id>")
    turn = 0
    while not shared.stop.is_set():
        with shared.lock:
            task_id = rng.choice(shared.poll_ids)
        if turn % 2 == 0:
            timed(common, lambda: client.json("GET", f"/api/v1/task?id={task_id}"))
        else:
            timed(detail, lambda: client.json("GET", f"/api/v1/tasks/{task_id}"))
        turn += 1
    client.close()


def uploader(shared: Shared, index: int, csv_bytes: bytes) -> None:
    client = Client(shared.port, shared.token)
    register, upload, submit = (shared.act("upload POST /api/v1/uploads/tasks"),
                                shared.act("upload POST .../tasks/<id>/files"),
                                shared.act("upload POST .../tasks/<id>/submit"))
    number = 0
    while not shared.stop.is_set():
        number += 1
        status, body = timed(register, lambda: client.json(
            "POST", "/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "parquet"}, "project": shared.project}
        ), expect=(201,))
        if status != 201:
            shared.stop.wait(0.5)
            continue
        task_id = body["id"]
        form, content_type = multipart("files", f"rows-{index}-{number}.csv", csv_bytes)
        status, _ = timed(upload, lambda: client.request("POST", f"/api/v1/uploads/tasks/{task_id}/files", form, content_type),
                          expect=(201,))
        if status != 201:
            continue
        status, _ = timed(submit, lambda: client.json("POST", f"/api/v1/uploads/tasks/{task_id}/submit"), expect=(202,))
        if status == 202:
            with shared.lock:
                shared.accepted_uploads.append(task_id)
                shared.poll_ids.append(task_id)
            shared.followed.put(task_id)
        shared.stop.wait(shared.args.upload_pause)
    client.close()


def listener(shared: Shared) -> None:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    handshake, follow = shared.act("websocket connect /api/v1/tasks/<id>/ws"), shared.act("websocket follow to final frame")
    while not shared.drain_stop.is_set():
        try:
            task_id = shared.followed.get(timeout=0.2)
        except queue.Empty:
            if shared.uploads_done.is_set() and shared.followed.empty():
                return
            continue
        uri = f"ws://{HOST}:{shared.port}/api/v1/tasks/{task_id}/ws?token={shared.token}"
        started = time.perf_counter()
        last = None
        try:
            with connect(uri, open_timeout=15, close_timeout=5, proxy=None, max_size=1 << 20) as socket_:
                handshake.ok(time.perf_counter() - started)
                limit = time.monotonic() + shared.args.task_timeout
                while time.monotonic() < limit and not shared.drain_stop.is_set():
                    try:
                        frame = json.loads(socket_.recv(timeout=1))
                    except TimeoutError:
                        continue
                    last = frame.get("task", {})
                    if last.get("finished"):
                        break
        except (WebSocketException, OSError, ValueError) as exc:
            if not (last or {}).get("finished"):
                follow.fail(time.perf_counter() - started, f"{task_id}: {type(exc).__name__}: {exc}")
                continue
        elapsed = time.perf_counter() - started
        if last and last.get("finished"):
            with shared.lock:
                shared.ws_done[task_id] = run_status(last)
            if run_status(last) == "succeeded":
                follow.ok(elapsed)
            else:
                follow.fail(elapsed, f"{task_id}: final frame {last}")
        elif not shared.drain_stop.is_set():
            follow.fail(elapsed, f"{task_id}: no final frame within {shared.args.task_timeout}s (last {last})")


def run_id_of(message: str) -> str | None:
    words = (message or "").split()
    return words[-1] if len(words) >= 2 and words[-2] == "run" else None


def syncer(shared: Shared, job_id: str) -> None:
    client = Client(shared.port, shared.token)
    base = f"/api/v1/project/{shared.project}/jobs/{job_id}"
    start, watch, whole = (shared.act("sync POST .../jobs/<id>/sync"), shared.act("sync GET .../jobs/<id>/tasks"),
                           shared.act("sync run, request to succeeded"))
    while not shared.stop.is_set():
        began = time.perf_counter()
        status, body = timed(start, lambda: client.json("POST", f"{base}/sync"))
        run_id = run_id_of(body.get("message", "")) if status == 200 else None
        if run_id is None:
            if status == 200:
                start.fail(None, f"no run id in {body}")
            shared.stop.wait(1)
            continue
        with shared.lock:
            shared.accepted_runs[run_id] = job_id
        final = None
        limit = time.monotonic() + shared.args.task_timeout
        while final is None and time.monotonic() < limit and not shared.drain_stop.is_set():
            shared.drain_stop.wait(0.25)
            status, body = timed(watch, lambda: client.json("GET", f"{base}/tasks"))
            if status == 200:
                run = next((item for item in body.get("data") or [] if item["id"] == run_id), None)
                if run and run["status"] in FINAL_RUN:
                    final = run
        if final is None:
            continue  # the drain reports it as lost
        if final["status"] == "succeeded":
            whole.ok(time.perf_counter() - began)
        else:
            whole.fail(time.perf_counter() - began, f"run {run_id}: {final['status']}: {final.get('error')}")
    client.close()


def ratio_phase(args, d2d_port: int, base_port: int, handler_port: int, stack_port: int, token: str, task_id: str,
                job_id: str, seed: dict) -> dict:
    """Alternating slices of the same closed-loop clients on the baseline, the references and every hot read."""
    targets = {
        "baseline": (base_port, "", "/api/v1/task?id=" + task_id),
        "baseline_d2d_handler": (handler_port, "", "/api/v1/task?id=" + task_id),
        "d2d_stack": (stack_port, "", "/api/v1/task?id=" + task_id),
        "d2d_healthz": (d2d_port, "", "/healthz"),
        **read_targets(port=d2d_port, token=token, task_id=task_id, project="load", job_id=job_id),
    }
    # 002 status is signed with a nonce above the last one: each client its own key, signed ahead.
    per_client = int((1 + args.ratio_rounds * args.ratio_slice) * 1000 / args.ratio_clients) + 50
    compute_paths = [ComputeStatusPaths(seed["signers"][index], per_client) for index in range(args.ratio_clients)]
    totals = {name: {"requests": 0, "errors": 0, "seconds": 0.0, "latencies": [], "samples": []} for name in targets}

    def slice_(name: str, seconds: float, record: bool) -> None:
        port, auth, fixed = targets[name]
        stop_at = time.monotonic() + seconds
        results = [(0, 0, [], []) for _ in range(args.ratio_clients)]

        def one(index: int) -> None:
            client = Client(port, auth)
            path_of = compute_paths[index] if fixed is None else (lambda: fixed)
            done, errors, latencies, samples = 0, 0, [], []
            while time.monotonic() < stop_at:
                target = path_of()
                started = time.perf_counter()
                try:
                    status, body = client.request("GET", target)
                except (OSError, http.client.HTTPException) as exc:
                    status, body = None, repr(exc).encode()
                latencies.append(time.perf_counter() - started)
                if status == 200:
                    done += 1
                else:
                    errors += 1
                    if len(samples) < 2:
                        samples.append(f"HTTP {status}: {body[:200]!r}")
            client.close()
            results[index] = (done, errors, latencies, samples)

        began = time.perf_counter()
        threads = [threading.Thread(target=one, args=(index,), daemon=True) for index in range(args.ratio_clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        if record:
            total = totals[name]
            total["seconds"] += time.perf_counter() - began
            for done, errors, latencies, samples in results:
                total["requests"] += done
                total["errors"] += errors
                total["latencies"] += latencies
                total["samples"] = (total["samples"] + samples)[:3]

    for name in targets:  # warm-up: connections, imports, caches
        slice_(name, 1, record=False)
    for _ in range(args.ratio_rounds):
        for name in targets:
            slice_(name, args.ratio_slice, record=True)
    for total in totals.values():
        total["rps"] = total["requests"] / total["seconds"] if total["seconds"] else 0.0
    return totals


def first_run(client: Client, project: str, job_id: str, timeout: float) -> None:
    """Sync ``job_id`` once and wait for its run to succeed, so 004's run history has a run to list."""
    status, body = client.json("POST", f"/api/v1/project/{project}/jobs/{job_id}/sync")
    run_id = run_id_of(body.get("message", "")) if status == 200 else None
    if run_id is None:
        raise RuntimeError(f"warm-up sync of job {job_id}: HTTP {status} {body}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = client.json("GET", f"/api/v1/project/{project}/jobs/{job_id}/tasks")
        run = next((item for item in body.get("data") or [] if item["id"] == run_id), None) if status == 200 else None
        if run and run["status"] in FINAL_RUN:
            if run["status"] != "succeeded":
                raise RuntimeError(f"warm-up run {run_id} ended {run['status']}: {run.get('error')}")
            return
        time.sleep(0.2)
    raise RuntimeError(f"warm-up run {run_id} did not finish in {timeout}s")


def create_jobs(client: Client, project: str, count: int) -> tuple[list[str], str | None]:
    """``count`` manual jobs and one scheduled job, CSV file source to Parquet/CSV destinations."""
    manual = []
    for index in range(count + 1):
        scheduled = index == count
        body = {
            "name": f"load-{'scheduled' if scheduled else 'manual'}-{index}",
            "source": {"name": "load-orders", "type": "file", "version": "latest",
                       "config": {"path": "source", "format": "csv"}},
            "destination": {"name": f"load-out-{index}", "type": "csv" if scheduled else "parquet", "version": "latest",
                            "config": {"path": f"out-{index}"}},
            "frequency": "1-minutes" if scheduled else "",
            "activate": False,  # the scheduled one is activated when the mixed phase starts (make_scheduled_job_due)
        }
        status, answer = client.json("POST", f"/api/v1/project/{project}/jobs", body)
        if status != 200:
            raise RuntimeError(f"creating job {body['name']}: HTTP {status} {answer}")
        if scheduled:
            return manual, str(answer["data"]["id"])
        manual.append(str(answer["data"]["id"]))
    return manual, None


def warm_up(client: Client, project: str, csv_bytes: bytes, timeout: float) -> str:
    """One conversion through the worker (it imports the converters), finished: the ratio phase polls it."""
    status, body = client.json("POST", "/api/v1/uploads/tasks", {"service": "tabular", "params": {"to": "parquet"}, "project": project})
    if status != 201:
        raise RuntimeError(f"warm-up register: HTTP {status} {body}")
    task_id = body["id"]
    form, content_type = multipart("files", "warm-up.csv", csv_bytes)
    status, answer = client.request("POST", f"/api/v1/uploads/tasks/{task_id}/files", form, content_type)
    if status != 201:
        raise RuntimeError(f"warm-up upload: HTTP {status} {answer[:300]!r}")
    status, body = client.json("POST", f"/api/v1/uploads/tasks/{task_id}/submit")
    if status != 202:
        raise RuntimeError(f"warm-up submit: HTTP {status} {body}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = client.json("GET", f"/api/v1/tasks/{task_id}")
        if status == 200 and run_status(body) in FINAL_CONVERSION:
            if run_status(body) != "succeeded":
                raise RuntimeError(f"warm-up task {task_id} ended {run_status(body)}: {body.get('error')}")
            return task_id
        time.sleep(0.2)
    raise RuntimeError(f"warm-up task {task_id} did not finish in {timeout}s (is the worker running?)")


def drain(shared: Shared, client: Client, manual_jobs: list[str], scheduled_job: str | None, seconds: float,
          schedule_due: float | None) -> dict:
    """Wait for every accepted task and run to finish; return their final states as the API tells them.

    The scheduled job's schedule was made due at ``schedule_due`` (monotonic): django-q2's scheduler
    looks every 30 s, so its run is waited for until 40 s after that, when it has not come yet.
    """
    deadline = time.monotonic() + seconds
    schedule_wait = min(deadline, schedule_due + 40) if scheduled_job and schedule_due else 0
    pending_uploads = set(shared.accepted_uploads)
    uploads: dict[str, str] = {}
    runs: dict[str, str] = {}
    jobs = [*manual_jobs, *([scheduled_job] if scheduled_job else [])]
    scheduled_runs: set[str] = set()
    while True:
        for task_id in sorted(pending_uploads):
            status, body = client.json("GET", f"/api/v1/tasks/{task_id}")
            if status == 200:
                uploads[task_id] = run_status(body)
            elif status == 404:
                uploads[task_id] = "missing"
        pending_uploads = {task_id for task_id, state in uploads.items() if state not in FINAL_CONVERSION}
        for job_id in jobs:
            status, body = client.json("GET", f"/api/v1/project/{shared.project}/jobs/{job_id}/tasks")
            if status != 200:
                continue
            for run in body.get("data") or []:
                if job_id == scheduled_job or run["id"] in shared.accepted_runs:
                    runs[run["id"]] = run["status"]
                    if run.get("trigger") == "schedule":
                        scheduled_runs.add(run["id"])
        for run_id in shared.accepted_runs:
            runs.setdefault(run_id, "missing")
        pending_runs = [run_id for run_id, state in runs.items() if state not in FINAL_RUN]
        awaiting_schedule = not scheduled_runs and time.monotonic() < schedule_wait
        if (not pending_uploads and not pending_runs and not awaiting_schedule) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {"uploads": uploads, "runs": runs, "scheduled_runs": scheduled_runs}


# --- report -------------------------------------------------------------------------------


def fmt_ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.0f}"


def report(args, shared: Shared, mixed_seconds: float, ratio: dict, final: dict, db: dict, dead: list[str], env_label: str) -> int:
    print()
    print(f"d2d load benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {env_label}; "
          f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"mixed phase {mixed_seconds:.1f} s: {args.pollers} pollers, {args.uploaders} uploaders, {args.listeners} websocket "
          f"listeners, {args.sync_jobs} manual sync job(s) + 1 scheduled job; worker processes {args.workers}")
    ws_missing = [task_id for task_id in final["uploads"] if task_id not in shared.ws_done]
    if ws_missing:  # a listener gave up or never took it: the websocket did not follow the task to its end
        shared.act("websocket follow to final frame").fail(None, f"{len(ws_missing)} accepted upload(s) never followed: {ws_missing[:3]}")
    print()
    header = f"{'activity':46} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    print(header)
    print("-" * len(header))
    rows = []
    for name in sorted(shared.acts):
        act = shared.acts[name]
        rate = act.count / mixed_seconds if mixed_seconds else 0
        rows.append({"activity": name, "requests": act.count, "rps": round(rate, 1), "p50_ms": round(percentile(act.latencies, 0.5) * 1000, 1) if act.count else None,
                     "p99_ms": round(percentile(act.latencies, 0.99) * 1000, 1) if act.count else None, "errors": act.errors})
        print(f"{name:46} {act.count:>8} {rate:>8.1f} {fmt_ms(percentile(act.latencies, 0.5)):>8} "
              f"{fmt_ms(percentile(act.latencies, 0.99)):>8} {act.errors:>6}")
    errors = sum(act.errors for act in shared.acts.values())
    for act in shared.acts.values():
        for sample in act.samples:
            print(f"  error in {act.name}: {sample}")

    uploads, runs = final["uploads"], final["runs"]
    succeeded_uploads = sum(1 for state in uploads.values() if state == "succeeded")
    failed_uploads = {task_id: state for task_id, state in uploads.items() if state in FINAL_CONVERSION and state != "succeeded"}
    lost_uploads = {task_id: state for task_id, state in uploads.items() if state not in FINAL_CONVERSION}
    succeeded_runs = sum(1 for state in runs.values() if state == "succeeded")
    failed_runs = {run_id: state for run_id, state in runs.items() if state in FINAL_RUN and state != "succeeded"}
    lost_runs = {run_id: state for run_id, state in runs.items() if state not in FINAL_RUN}
    print()
    print(f"{'tasks':46} {'accepted':>8} {'finished':>8} {'failed':>8} {'lost':>8}")
    print(f"{'conversions (000 upload + submit, 202)':46} {len(uploads):>8} {succeeded_uploads:>8} {len(failed_uploads):>8} {len(lost_uploads):>8}")
    manual_runs = len(runs) - len(final["scheduled_runs"])
    print(f"{'pipeline syncs: manual (POST sync, 200)':46} {manual_runs:>8} "
          f"{sum(1 for r, s in runs.items() if s == 'succeeded' and r not in final['scheduled_runs']):>8} "
          f"{sum(1 for r in failed_runs if r not in final['scheduled_runs']):>8} {sum(1 for r in lost_runs if r not in final['scheduled_runs']):>8}")
    print(f"{'pipeline syncs: scheduled (django-q2 schedule)':46} {len(final['scheduled_runs']):>8} "
          f"{sum(1 for r in final['scheduled_runs'] if runs.get(r) == 'succeeded'):>8} "
          f"{sum(1 for r in final['scheduled_runs'] if r in failed_runs):>8} {sum(1 for r in final['scheduled_runs'] if r in lost_runs):>8}")
    print(f"websocket listeners saw the final frame of {len(uploads) - len(ws_missing)} of {len(uploads)} accepted uploads")
    for task_id, state in list(failed_uploads.items())[:5] + list(lost_uploads.items())[:5]:
        print(f"  conversion {task_id}: {state}")
    for run_id, state in list(failed_runs.items())[:5] + list(lost_runs.items())[:5]:
        print(f"  sync run {run_id}: {state}")
    print(f"database after the drain: {json.dumps(db)}")
    if dead:
        print(f"processes that died during the run: {', '.join(dead)}")

    read_checks = ratio_table(ratio)
    base_rps = ratio["baseline"]["rps"]
    polls = shared.acts.get("poll GET /api/v1/task?id=")
    poll_mixed = polls.count / mixed_seconds if polls and mixed_seconds else 0
    status_ratio = ratio["d2d_common"]["rps"] / base_rps if base_rps else 0
    ratio_errors = sum(total["errors"] for total in ratio.values())
    print(f"(under the mixed load the same endpoint answered {poll_mixed:.1f} req/s beside the other activities)")

    lost = len(lost_uploads) + len(lost_runs)
    failed_tasks = len(failed_uploads) + len(failed_runs)
    targets = [
        ("zero errors (requests, websockets, failed tasks)", errors + ratio_errors + failed_tasks == 0,
         f"{errors} request errors, {ratio_errors} in the ratio phase, {failed_tasks} failed tasks"),
        ("zero lost tasks (every accepted task finished)", lost == 0 and not dead, f"{lost} lost" + (f"; dead: {dead}" if dead else "")),
        (f"status polling >= {RATIO_TARGET} of the baseline", status_ratio >= RATIO_TARGET,
         f"{ratio['d2d_common']['rps']:.1f} / {base_rps:.1f} = {status_ratio:.2f}"),
        *read_checks,
    ]
    print()
    for name, passed, detail in targets:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    print(json.dumps({
        "seconds": round(mixed_seconds, 1), "database": env_label, "activities": rows, "errors": errors + ratio_errors,
        "tasks": {"uploads_accepted": len(uploads), "uploads_succeeded": succeeded_uploads, "runs_accepted": len(runs),
                  "runs_succeeded": succeeded_runs, "scheduled_runs": len(final["scheduled_runs"]), "failed": failed_tasks, "lost": lost},
        "ratio": {"baseline_rps": round(base_rps, 1), "status_rps": round(ratio["d2d_common"]["rps"], 1),
                  "detail_rps": round(ratio["d2d_detail"]["rps"], 1), "healthz_rps": round(ratio["d2d_healthz"]["rps"], 1),
                  "stack_rps": round(ratio["d2d_stack"]["rps"], 1),
                  "baseline_d2d_handler_rps": round(ratio["baseline_d2d_handler"]["rps"], 1),
                  "status_ratio": round(status_ratio, 3), "reads": ratio_json(ratio)},
        "pass": all(passed for _, passed, _ in targets),
    }))
    return 0 if all(passed for _, passed, _ in targets) else 1


LABELS = {"baseline": "minimal Django JsonResponse (bench/load_baseline.py)",
          "baseline_d2d_handler": "same project, d2d's ASGI handler (reference)",
          "d2d_stack": "same view, d2d settings+middleware, no query",
          "d2d_healthz": "d2d GET /healthz (no auth, SELECT 1)", **READS}


def ratio_table(ratio: dict) -> list[tuple[str, bool, str]]:
    """Print the ratio phase, each row against the minimal view under Django's handler and under d2d's;
    return issue 26's check of every hot read (share of d2d's handler's rate, p99)."""
    base_rps, handler_rps = ratio["baseline"]["rps"], ratio["baseline_d2d_handler"]["rps"]
    print()
    print(f"{'ratio phase (alternating slices, same clients)':52} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'ratio':>6} {'vs d2d handler':>14}")
    for name, total in ratio.items():
        share = total["rps"] / base_rps if base_rps else 0
        handler_share = total["rps"] / handler_rps if handler_rps else 0
        print(f"{LABELS[name]:52} {total['requests']:>8} {total['rps']:>8.1f} {fmt_ms(percentile(total['latencies'], 0.5)):>8} "
              f"{fmt_ms(percentile(total['latencies'], 0.99)):>8} {total['errors']:>6} {share:>6.2f} {handler_share:>14.2f}")
        for sample in total["samples"]:
            print(f"  error in {name}: {sample}")
    checks = []
    for name in READS:
        total = ratio[name]
        share = total["rps"] / handler_rps if handler_rps else 0
        p99 = percentile(total["latencies"], 0.99) * 1000
        checks.append((f"{READS[name]}: >= {READ_TARGET} of the minimal view through d2d's handler, p99 < {READ_P99_MS} ms",
                       share >= READ_TARGET and p99 < READ_P99_MS and not total["errors"],
                       f"{total['rps']:.1f} / {handler_rps:.1f} = {share:.2f}, p99 {p99:.0f} ms, {total['errors']} errors"))
    return checks


def ratio_json(ratio: dict) -> dict:
    return {name: {"rps": round(total["rps"], 1), "p50_ms": round(percentile(total["latencies"], 0.5) * 1000, 1),
                   "p99_ms": round(percentile(total["latencies"], 0.99) * 1000, 1), "errors": total["errors"]}
            for name, total in ratio.items()}


def report_reads(ratio: dict, env_label: str) -> int:
    """--reads-only: the ratio phase's table and the hot reads' checks."""
    print()
    print(f"d2d load benchmark (hot reads only), {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {env_label}; "
          f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    checks = ratio_table(ratio)
    print()
    for name, passed, detail in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    passed = all(passed for _, passed, _ in checks)
    print(json.dumps({"database": env_label, "reads": ratio_json(ratio), "pass": passed}))
    return 0 if passed else 1


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of the mixed phase")
    parser.add_argument("--pollers", type=int, default=4, help="closed-loop status pollers in the mixed phase")
    parser.add_argument("--uploaders", type=int, default=2, help="clients registering, uploading and submitting tasks")
    parser.add_argument("--upload-pause", type=float, default=0.5, help="seconds each uploader waits between uploads")
    parser.add_argument("--listeners", type=int, default=4, help="websocket listeners following accepted uploads")
    parser.add_argument("--sync-jobs", type=int, default=1, help="manual pipeline jobs, each synced again as soon as its run ends")
    parser.add_argument("--clients", type=int, help="shorthand: pollers = N, ratio clients = N")
    parser.add_argument("--ratio-clients", type=int, default=8, help="keep-alive clients of the ratio phase")
    parser.add_argument("--ratio-rounds", type=int, default=2, help="alternations of the ratio phase")
    parser.add_argument("--ratio-slice", type=float, default=3, help="seconds of each slice of the ratio phase")
    parser.add_argument("--workers", type=int, default=2, help="D2D_WORKERS of the qcluster")
    parser.add_argument("--drain", type=float, default=120, help="at most this long to wait for accepted tasks after the mixed phase")
    parser.add_argument("--task-timeout", type=float, default=120, help="a listener or syncer gives up on one task after this")
    parser.add_argument("--database-url", help="a PostgreSQL server (postgres://user:pass@127.0.0.1:5432/db): a scratch database is made on it")
    parser.add_argument("--reads-only", action="store_true", help="the ratio phase of the hot reads only, no mixed phase")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (server and worker logs under logs/)")
    args = parser.parse_args()
    if args.clients:
        args.pollers = args.ratio_clients = args.clients
    bounded = (args.seconds, args.drain, args.task_timeout, args.ratio_slice * args.ratio_rounds)
    if not all(0 < value <= 3600 for value in bounded) or min(args.pollers, args.ratio_clients, args.workers, args.sync_jobs) < 1:
        parser.error("durations must be in (0, 3600] and pollers, ratio clients, workers and sync jobs at least 1")
    if args.database_url and urlsplit_host(args.database_url) not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--database-url must point at a server on loopback (this benchmark sends traffic only to 127.0.0.1)")

    scratch = Path(tempfile.mkdtemp(prefix="d2d-load-"))
    (scratch / "logs").mkdir()
    processes = Processes(scratch / "logs")
    database_name = None
    previous_term = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    code = 2
    try:
        env = {key: value for key, value in os.environ.items() if key not in INHERITED_NOT_USED}
        env.update({
            "DJANGO_SETTINGS_MODULE": "d2d.settings",
            "D2D_DATA_DIR": str(scratch / "data"),
            "D2D_WORKERS": str(args.workers),
            "LOG_LEVEL": "warning",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "*",
        })
        env_label = "SQLite (embedded default), ORM broker, local files"
        if args.database_url:
            url, database_name = scratch_database(args.database_url)
            env["DATABASE_URL"] = url
            env_label = f"PostgreSQL {database_name} (scratch), ORM broker, local files"
        print(f"scratch folder {scratch}; migrating ...", flush=True)
        token, seed = prepare(env, args.ratio_clients)
        write_pipeline_source(scratch / "data" / "media")

        d2d_port, base_port, stack_port, handler_port = free_port(), free_port(), free_port(), free_port()
        processes.start("web", [PYTHON, "-m", "uvicorn", "d2d.asgi:application", "--host", HOST, "--port", str(d2d_port),
                                "--log-level", "warning", "--no-access-log"], env)
        processes.start("worker", [PYTHON, "manage.py", "qcluster"], env)
        base_env = {key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"}
        processes.start("baseline", [PYTHON, "-m", "uvicorn", "load_baseline:application", "--app-dir", str(HERE), "--host", HOST,
                                     "--port", str(base_port), "--log-level", "warning", "--no-access-log"], base_env)
        processes.start("baseline-d2d-handler", [PYTHON, "-m", "uvicorn", "load_baseline_d2d_handler:application", "--app-dir",
                                                 str(HERE), "--host", HOST, "--port", str(handler_port), "--log-level", "warning",
                                                 "--no-access-log"], base_env)
        processes.start("stack", [PYTHON, "-m", "uvicorn", "d2d.asgi:application", "--app-dir", str(HERE), "--host", HOST,
                                  "--port", str(stack_port), "--log-level", "warning", "--no-access-log"],
                        {**env, "DJANGO_SETTINGS_MODULE": "load_baseline_stack"})
        wait_for_http(d2d_port, "/healthz", processes.items)
        wait_for_http(stack_port, "/api/v1/task?id=0", processes.items)
        wait_for_http(base_port, "/api/v1/task?id=0", processes.items)
        wait_for_http(handler_port, "/api/v1/task?id=0", processes.items)
        print(f"d2d on {HOST}:{d2d_port}, baseline on {HOST}:{base_port}; warming up the worker ...", flush=True)

        setup = Client(d2d_port, token, timeout=60)
        csv_bytes = small_csv(200)
        warm_task = warm_up(setup, "load", csv_bytes, timeout=120)
        manual_jobs, scheduled_job = create_jobs(setup, "load", args.sync_jobs)
        first_run(setup, "load", manual_jobs[0], timeout=120)

        print(f"ratio phase: {args.ratio_rounds} x {args.ratio_slice:g} s per server, {args.ratio_clients} clients ...", flush=True)
        ratio = ratio_phase(args, d2d_port, base_port, handler_port, stack_port, token, warm_task, manual_jobs[0], seed)
        if args.reads_only:
            setup.close()
            code = report_reads(ratio, env_label)
            return code

        shared = Shared(args, d2d_port, token, "load")
        shared.poll_ids.append(warm_task)
        schedule_due = None
        if scheduled_job and make_scheduled_job_due(setup, "load", scheduled_job):
            schedule_due = time.monotonic()
        mixed_wall = time.time()
        print(f"mixed phase: {args.seconds:g} s ...", flush=True)
        threads = [threading.Thread(target=poller, args=(shared, index), daemon=True) for index in range(args.pollers)]
        threads += [threading.Thread(target=uploader, args=(shared, index, csv_bytes), daemon=True) for index in range(args.uploaders)]
        threads += [threading.Thread(target=syncer, args=(shared, job_id), daemon=True) for job_id in manual_jobs]
        listeners = [threading.Thread(target=listener, args=(shared,), daemon=True) for _ in range(args.listeners)]
        began = time.perf_counter()
        for thread in threads + listeners:
            thread.start()
        shared.stop.wait(args.seconds)
        shared.stop.set()
        mixed_seconds = time.perf_counter() - began
        drain_deadline = time.monotonic() + args.drain
        for thread in threads:  # pollers and uploaders end their request; syncers follow their last run
            thread.join(max(0.1, drain_deadline - time.monotonic()))
        shared.uploads_done.set()
        print(f"draining: {len(shared.accepted_uploads)} uploads and {len(shared.accepted_runs)} manual runs accepted ...", flush=True)
        final = drain(shared, setup, manual_jobs, scheduled_job, max(1.0, drain_deadline - time.monotonic()), schedule_due)
        for thread in listeners:
            thread.join(max(0.1, min(15, drain_deadline - time.monotonic())))
        shared.drain_stop.set()
        for thread in threads + listeners:
            thread.join(5)
        dead = processes.dead()
        db = database_counts(mixed_wall, mixed_seconds)
        setup.close()
        code = report(args, shared, mixed_seconds, ratio, final, db, dead, env_label)
        if code and not args.keep:
            print_log_errors(scratch / "logs")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", file=sys.stderr)
        code = 130
    except Exception as exc:  # noqa: BLE001 - any failure of the run is reported, then everything is stopped
        print(f"\nthe run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print_log_errors(scratch / "logs")
        code = 2
    finally:
        processes.stop()
        signal.signal(signal.SIGTERM, previous_term)
        if database_name:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001
                pass
            try:
                drop_database(args.database_url, database_name)
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop the scratch database {database_name}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"kept {scratch} (logs in {scratch / 'logs'})")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return code


def urlsplit_host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def print_log_errors(logs: Path, limit: int = 40) -> None:
    """The tracebacks and error lines of the servers' logs (the scratch folder is removed afterwards)."""
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        picked = [line for line in lines if any(word in line for word in ("Error", "Traceback", "ERROR", "Exception", "locked"))]
        if picked:
            print(f"--- {log.name}: {len(picked)} error lines, the last {min(limit, len(picked))}:")
            for line in picked[-limit:]:
                print(f"    {line[:300]}")


if __name__ == "__main__":
    sys.exit(main())
