"""Benchmark: a PostgreSQL table synced full-refresh to Parquet by d2d, against COPY and pandas.

Usage: .venv/bin/python bench/pipeline_sync.py [--rows 5000000] [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

Loads a scratch table of --rows rows of mixed types (bigint, int, double, numeric, text,
timestamptz, date, boolean) into a scratch database, then measures, each in its own
process so peak memory (max RSS) is that approach's own:

1. copy:   psycopg reading ``COPY table TO STDOUT`` to the end (the source's own export rate);
2. d2d:    ``manage.py pipelines_sync`` of a job postgres -> parquet (full refresh) on a scratch
           embedded d2d (SQLite, local storage), the whole run as a user starts it;
3. pandas: ``pandas.read_sql`` then ``DataFrame.to_parquet`` (what a user writes by hand).

It prints rows/s and peak memory of each, and d2d's ratios: to COPY (target >= 0.6), to pandas
(target >= 3) and its peak memory (target < 500 MB, whatever the row count).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = "bench_rows"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scratch_url(base_url: str, name: str) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + name


def load(base_url: str, database: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    with psycopg.connect(scratch_url(base_url, database), autocommit=True) as conn:
        conn.execute(
            f"""CREATE UNLOGGED TABLE {TABLE} (
                id bigint PRIMARY KEY, qty int, price double precision, amount numeric(12, 2), label text,
                created_at timestamptz, day date, active boolean)"""
        )
        step = 1_000_000
        for start in range(0, rows, step):
            conn.execute(
                f"""INSERT INTO {TABLE} SELECT g, g %% 1000, g * 0.37, (g %% 100000) / 100.0, 'label ' || md5(g::text),
                    '2024-01-01'::timestamptz + g * interval '1 second', '2024-01-01'::date + (g %% 3650), g %% 3 = 0
                    FROM generate_series(%s, %s) g""",
                [start + 1, min(rows, start + step)],
            )
        conn.execute(f"VACUUM ANALYZE {TABLE}")


def child_copy(url: str) -> dict:
    import psycopg

    started = time.perf_counter()
    count = 0
    with psycopg.connect(url) as conn, conn.cursor().copy(f"COPY {TABLE} TO STDOUT") as copy:
        for _ in copy:
            count += 1
    return {"rows": count, "seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


def child_pandas(url: str, out: str) -> dict:
    import warnings

    import pandas as pd
    import psycopg

    warnings.simplefilter("ignore")  # pandas warns that a DBAPI connection is not SQLAlchemy
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        frame = pd.read_sql(f"SELECT * FROM {TABLE}", conn)
    frame.to_parquet(os.path.join(out, "pandas.parquet"))
    return {"rows": len(frame), "seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


def child_d2d(url: str, out: str) -> dict:
    os.environ.update({"D2D_DATA_DIR": out, "DJANGO_SETTINGS_MODULE": "d2d.settings", "LOG_LEVEL": "warning"})
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.services import project_create, user_create
    from pipelines.models import JobTask
    from pipelines.services import job_create

    call_command("migrate", verbosity=0)
    user = user_create(username="bench", email="bench@example.com", password="bench-password-1")
    project = project_create(project_id="bench", name="Bench", owner=user)
    from urllib.parse import urlparse

    parsed = urlparse(url)
    source_config = {
        "host": parsed.hostname,
        "port": parsed.port or 5432,
        "database": parsed.path.lstrip("/"),
        "username": parsed.username or "postgres",
        "password": parsed.password or "",
    }
    job = job_create(
        project=project,
        user=user,
        name="bench",
        source={"name": "pg", "type": "postgres", "version": "latest", "config": source_config},
        destination={"name": "lake", "type": "parquet", "version": "latest", "config": {"path": "bench"}},
        streams_config={"streams": [{"name": TABLE}]},
        activate=False,
    )
    before = peak_mb()
    started = time.perf_counter()
    call_command("pipelines_sync", job.name, "--no-progress", stdout=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    task = JobTask.objects.get(job=job)
    return {"rows": task.rows_synced, "seconds": seconds, "peak_mb": peak_mb(), "peak_mb_before_sync": before}


def run_child(kind: str, url: str, out: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--out", out],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-pandas", action="store_true", help="pandas holds the whole table in memory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        handlers = {"copy": lambda: child_copy(args.url), "pandas": lambda: child_pandas(args.url, args.out), "d2d": lambda: child_d2d(args.url, args.out)}
        print(json.dumps(handlers[args.child]()))
        return

    database = f"d2d_bench_{os.getpid()}"
    url = scratch_url(args.database_url, database)
    out = tempfile.mkdtemp(prefix="d2d-bench-")
    print(f"loading {args.rows:,} rows into {database}.{TABLE} ...", flush=True)
    started = time.perf_counter()
    load(args.database_url, database, args.rows)
    print(f"loaded in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        results = {"copy": run_child("copy", url, out)}
        results["d2d"] = run_child("d2d", url, os.path.join(out, "d2d"))
        if not args.skip_pandas:
            results["pandas"] = run_child("pandas", url, out)
    finally:
        if not args.keep:
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            shutil.rmtree(out, ignore_errors=True)

    print(f"\n{'approach':<8} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak MB':>9}")
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        result["rate"] = rate
        print(f"{name:<8} {result['rows']:>12,} {result['seconds']:>9.2f} {rate:>12,.0f} {result['peak_mb']:>9.0f}")
    d2d = results["d2d"]
    assert d2d["rows"] == args.rows, f"d2d synced {d2d['rows']} of {args.rows} rows"
    print(f"\nd2d / COPY rate:   {d2d['rate'] / results['copy']['rate']:.2f}  (target >= 0.6)")
    if "pandas" in results:
        print(f"d2d / pandas rate: {d2d['rate'] / results['pandas']['rate']:.2f}  (target >= 3)")
    print(f"d2d peak memory:   {d2d['peak_mb']:.0f} MB (before the sync: {d2d['peak_mb_before_sync']:.0f} MB; target < 500)")


if __name__ == "__main__":
    main()
