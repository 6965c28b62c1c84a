"""Benchmark: the admin index's dashboard with 100,000 pipeline runs (plus conversions and platform tasks).

Usage: .venv/bin/python bench/admin_dashboard.py [--runs 100000] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

With --database-url, a scratch database d2d_bench_dashboard is created on that server (and dropped
afterwards unless --keep); without it, a scratch SQLite file. The runs are spread over 30 days in a
realistic mix of statuses (most succeeded, some failed, a few queued, running, or with an expired
lease), with rows and bytes. The script renders the admin index as a superuser: once cold, then
--repeat times, and prints the best and median render time and the number of queries.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_DB = "d2d_bench_dashboard"


def scratch_database(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    return url.rsplit("/", 1)[0] + "/" + SCRATCH_DB


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")


def fill(runs: int) -> None:
    """``runs`` pipeline runs over 30 days, a tenth as many conversions, a hundredth as many platform tasks."""
    from django.utils import timezone

    from accounts.services import project_create, user_create
    from conversions.models import ConversionTask
    from kernel.models import PlatformTask, TaskStatus
    from pipelines.models import ChangeCapture, Destination, Job, JobTask, Source

    S = TaskStatus
    rng = random.Random(22)
    owner = user_create(username="bench", email="bench@example.com", password="bench-dashboard-1")
    project = project_create(project_id="bench", name="Bench", owner=owner)
    source = Source.objects.create(project=project, name="src", type="postgres", config={})
    destination = Destination.objects.create(project=project, name="dst", type="parquet", config={})
    jobs = [Job.objects.create(project=project, name=f"job-{n}", source=source, destination=destination) for n in range(50)]
    ChangeCapture.objects.create(job=jobs[0], slot_name="d2d_bench", position=1 << 24, lag_bytes=1 << 20, slot_bytes=1 << 30, measured_at=timezone.now())
    now = timezone.now()
    weights = [(S.SUCCEEDED, 880), (S.FAILED, 90), (S.CANCELLED, 20), (S.QUEUED, 4), (S.RUNNING, 4), (S.RETRYING, 2)]
    statuses, cum = [status for status, _ in weights], [weight for _, weight in weights]

    def fields(status):
        created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        started = created + timedelta(seconds=rng.uniform(1, 60))
        finished = started + timedelta(seconds=rng.uniform(5, 600)) if status in (S.SUCCEEDED, S.FAILED, S.CANCELLED) else None
        lease = now + timedelta(seconds=60) if rng.random() < 0.7 else now - timedelta(seconds=300)
        return {
            "status": status, "created_at": created, "queued_at": created, "started_at": started, "finished_at": finished,
            "attempts": 1, "progress": 100 if status == S.SUCCEEDED else rng.randint(0, 99),
            "error": "OperationalError: connection to the source was lost" if status == S.FAILED else "",
            "lease_expires_at": lease if status == S.RUNNING else None,
        }

    batch = 5000
    for start in range(0, runs, batch):
        rows = []
        for _ in range(min(batch, runs - start)):
            status = rng.choices(statuses, cum)[0]
            rows.append(JobTask(job=rng.choice(jobs), project=project, rows_synced=rng.randint(0, 10**6), bytes_synced=rng.randint(0, 10**8), **fields(status)))
        JobTask.objects.bulk_create(rows)
    ConversionTask.objects.bulk_create(
        [ConversionTask(project=project, service="tabular", **fields(rng.choices(statuses, cum)[0])) for _ in range(runs // 10)], batch_size=batch
    )
    PlatformTask.objects.bulk_create([PlatformTask(**fields(rng.choices(statuses, cum)[0])) for _ in range(runs // 100)], batch_size=batch)
    owner.is_staff = owner.is_superuser = True
    owner.save()


def render_index() -> tuple[float, int, int]:
    """(seconds, queries, bytes) of one render of the admin index as the superuser."""
    from django.contrib import admin
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="bench")
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = admin.site.index(request)
        response.render()
        seconds = time.perf_counter() - started
    assert response.status_code == 200 and b"Pipeline runs" in response.content
    return seconds, len(captured), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="d2d-bench-dashboard-"))
    os.environ["D2D_DATA_DIR"] = str(scratch)
    os.environ.pop("REDIS_URL", None)  # the dashboard's figures come from the database; workers from the ORM broker's cache
    if args.database_url:
        os.environ["DATABASE_URL"] = scratch_database(args.database_url)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "d2d.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fill(args.runs)
        print(f"created {args.runs:,} pipeline runs (+{args.runs // 10:,} conversions, +{args.runs // 100:,} platform tasks) "
              f"in {time.perf_counter() - started:.1f}s on {connection.vendor}")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        cold, queries, size = render_index()
        times = [render_index()[0] for _ in range(args.repeat)]
        print(f"admin index with dashboard: cold {cold * 1000:.0f} ms; best {min(times) * 1000:.0f} ms, "
              f"median {statistics.median(times) * 1000:.0f} ms over {args.repeat}; {queries} queries; {size:,} bytes")
    finally:
        connection.close()
        if args.database_url and not args.keep:
            drop_database(args.database_url)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
