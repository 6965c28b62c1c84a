"""Benchmark: a PostgreSQL table synced full-refresh to Parquet by d2d, against COPY, connectorx, dlt and pandas.

Usage: .venv/bin/python bench/pipeline_sync.py [--rows 5000000] [--install-baselines] [--skip-pandas]
       [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep] [--d2d-on-postgres] [--repeat 1]

Loads a scratch table of --rows rows of mixed types (bigint, int, double, numeric(12,2), text,
timestamptz, date, boolean) into a scratch database, then measures, each in its own
process so peak memory (max RSS) is that approach's own:

1. psql:       ``psql -c "COPY table TO STDOUT" > /dev/null`` (the server's export rate, in C);
2. copy:       psycopg reading ``COPY table TO STDOUT`` to the end;
3. d2d:        ``manage.py pipelines_sync`` of a job postgres -> parquet (full refresh) on a scratch
               embedded d2d (SQLite, local storage), the whole run as a user starts it; with
               --d2d-on-postgres its own database is a scratch PostgreSQL one, as in production,
               where a table past the source's chunk_rows loads in chunks (pipelines.chunked);
4. connectorx: ``connectorx.read_sql(..., return_type="arrow")`` then ``pyarrow.parquet.write_table``;
5. dlt:        a dlt pipeline, ``sql_database`` source (pyarrow backend) to the filesystem destination as parquet;
6. pandas:     ``pandas.read_sql`` then ``DataFrame.to_parquet`` (what a user writes by hand).

connectorx and dlt run in their own venv (.venv-bench, made by --install-baselines from
bench/requirements-baselines.txt), so their pins never touch d2d's; without it they are skipped.
It prints rows/s, peak memory and the Parquet types each wrote for the int and numeric columns,
and d2d's ratios to each (targets: >= 0.9 of psql COPY, ahead of connectorx and dlt, < 500 MB).
With --repeat N every approach runs N times, in rounds (psql, d2d, ..., then again), and the best
run of each is compared: on a shared VM whose neighbours steal CPU, one run of each can differ by
a fifth from the next for reasons that have nothing to do with the approach.
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

    fresh_database(base_url, database)
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


def fresh_database(base_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def child_psql(url: str) -> dict:
    started = time.perf_counter()
    subprocess.run(["psql", url, "-q", "-c", f"COPY {TABLE} TO STDOUT"], stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - started
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    return {"rows": rows, "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def child_connectorx(url: str, out: str) -> dict:
    import connectorx
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = connectorx.read_sql(url.replace("postgres://", "postgresql://", 1), f"SELECT * FROM {TABLE}", return_type="arrow")
    path = os.path.join(out, "connectorx.parquet")
    pq.write_table(table, path)
    return {"rows": table.num_rows, "seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "types": parquet_types(path)}


def child_dlt(url: str, out: str) -> dict:
    import dlt
    from dlt.sources.sql_database import sql_database

    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name="bench", destination=dlt.destinations.filesystem(bucket_url=f"file://{out}/dlt"), dataset_name="bench",
        pipelines_dir=os.path.join(out, "dlt-state"),
    )
    source = sql_database(credentials=url.replace("postgres://", "postgresql+psycopg2://", 1), table_names=[TABLE], backend="pyarrow")
    pipeline.run(source, loader_file_format="parquet")
    seconds = time.perf_counter() - started
    files = sorted(Path(out, "dlt").rglob(f"{TABLE}/*.parquet"))
    import pyarrow.parquet as pq

    rows = sum(pq.ParquetFile(file).metadata.num_rows for file in files)
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_mb(), "types": parquet_types(files[0]) if files else {}}


def parquet_types(path) -> dict:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    return {name: str(schema.field(name).type) for name in ("qty", "amount") if name in schema.names}


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


def scratch_d2d_job(url: str, out: str, *, name: str, streams: list[dict], path: str, **source_options):
    """A scratch embedded d2d (SQLite, local storage under ``out``) with one job from the PostgreSQL at ``url`` to Parquet."""
    os.environ.update({"D2D_DATA_DIR": out, "DJANGO_SETTINGS_MODULE": "d2d.settings", "LOG_LEVEL": "warning"})
    os.environ.pop("DATABASE_URL", None)
    if os.environ.get("BENCH_D2D_DATABASE_URL"):  # d2d's own state on PostgreSQL, as in production
        os.environ["DATABASE_URL"] = os.environ["BENCH_D2D_DATABASE_URL"]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from urllib.parse import urlparse

    from django.core.management import call_command

    from accounts.services import project_create, user_create
    from pipelines.services import job_create

    call_command("migrate", verbosity=0)
    user = user_create(username="bench", email="bench@example.com", password="bench-password-1")
    project = project_create(project_id="bench", name="Bench", owner=user)
    parsed = urlparse(url)
    source_config = {
        "host": parsed.hostname,
        "port": parsed.port or 5432,
        "database": parsed.path.lstrip("/"),
        "username": parsed.username or "postgres",
        "password": parsed.password or "",
        **source_options,
    }
    return job_create(
        project=project,
        user=user,
        name=name,
        source={"name": "pg", "type": "postgres", "version": "latest", "config": source_config},
        destination={"name": "lake", "type": "parquet", "version": "latest", "config": {"path": path}},
        streams_config={"streams": streams},
        activate=False,
    )


def child_d2d(url: str, out: str) -> dict:
    job = scratch_d2d_job(
        url,
        out,
        name="bench",
        streams=[{"name": TABLE}],
        path="bench",
        read_parallelism=int(os.environ.get("BENCH_READ_PARALLELISM", "1")),
        copy_client=os.environ.get("BENCH_COPY_CLIENT", "auto"),
        **json.loads(os.environ.get("BENCH_SOURCE_OPTIONS", "{}")),
    )
    from django.core.management import call_command

    from pipelines.models import JobTask

    before = peak_mb()
    started = time.perf_counter()
    call_command("pipelines_sync", job.name, "--no-progress", stdout=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    task = JobTask.objects.get(job=job)
    files = sorted(Path(out, "media").rglob(f"{TABLE}/*.parquet"))
    return {
        "rows": task.rows_synced, "seconds": seconds, "peak_mb": peak_mb(), "peak_mb_before_sync": before,
        "types": parquet_types(files[0]) if files else {},
    }


BASELINE_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def install_baselines() -> None:
    if not BASELINE_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_PYTHON.parent.parent)], check=True)
    subprocess.run([str(BASELINE_PYTHON), "-m", "pip", "install", "-q", "-r", str(ROOT / "bench" / "requirements-baselines.txt")], check=True)


def run_child(kind: str, url: str, out: str, python: str = sys.executable) -> dict:
    os.makedirs(out, exist_ok=True)
    result = subprocess.run(
        [python, __file__, "--child", kind, "--url", url, "--out", out],
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
    parser.add_argument("--install-baselines", action="store_true", help="make .venv-bench with connectorx and dlt first")
    parser.add_argument("--only", default="", help="comma-separated approaches to run (default: all), e.g. psql,d2d")
    parser.add_argument("--parallelism", type=int, default=1, help="d2d's read_parallelism (connections per table)")
    parser.add_argument("--copy-client", default="auto", choices=["auto", "psql", "libpq"], help="what drains d2d's COPY")
    parser.add_argument("--source-option", action="append", default=[], metavar="KEY=VALUE", help="more of d2d's source config (JSON values)")
    parser.add_argument(
        "--d2d-on-postgres", action="store_true",
        help="d2d's own database on the benchmark's PostgreSQL (a scratch database) instead of the embedded SQLite: "
        "as in production, where tables past chunk_rows load in chunks",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each approach, in rounds; the best of each is compared")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        handlers = {
            "psql": lambda: child_psql(args.url),
            "copy": lambda: child_copy(args.url),
            "pandas": lambda: child_pandas(args.url, args.out),
            "d2d": lambda: child_d2d(args.url, args.out),
            "connectorx": lambda: child_connectorx(args.url, args.out),
            "dlt": lambda: child_dlt(args.url, args.out),
        }
        print(json.dumps(handlers[args.child]()))
        return

    if args.install_baselines:
        install_baselines()
    os.environ["BENCH_READ_PARALLELISM"], os.environ["BENCH_COPY_CLIENT"] = str(args.parallelism), args.copy_client
    options = dict(option.split("=", 1) for option in args.source_option)
    os.environ["BENCH_SOURCE_OPTIONS"] = json.dumps({key: json.loads(value) for key, value in options.items()})
    database = f"d2d_bench_{os.getpid()}"
    url = scratch_url(args.database_url, database)
    out = tempfile.mkdtemp(prefix="d2d-bench-")
    state = f"d2d_bench_state_{os.getpid()}"
    if args.d2d_on_postgres:
        os.environ["BENCH_D2D_DATABASE_URL"] = scratch_url(args.database_url, state)
        print(f"d2d's own database: {state} (PostgreSQL)")
    print(f"loading {args.rows:,} rows into {database}.{TABLE} ...", flush=True)
    started = time.perf_counter()
    load(args.database_url, database, args.rows)
    print(f"loaded in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        wanted = set(filter(None, args.only.split(","))) or {"psql", "copy", "d2d", "connectorx", "dlt", "pandas"}
        if args.skip_pandas:
            wanted.discard("pandas")
        results = {}
        for round_ in range(args.repeat):
            for kind in ("psql", "copy", "d2d", "connectorx", "dlt", "pandas"):
                if kind not in wanted:
                    continue
                if kind in ("connectorx", "dlt") and not BASELINE_PYTHON.exists():
                    if round_ == 0:
                        print(f"{kind} skipped: no .venv-bench (run with --install-baselines)")
                    continue
                python = str(BASELINE_PYTHON) if kind in ("connectorx", "dlt") else sys.executable
                if kind == "d2d" and args.d2d_on_postgres:
                    fresh_database(args.database_url, state)  # each run starts from an empty d2d, as on SQLite
                folder = os.path.join(out, f"{kind}-{round_}")
                result = run_child(kind, url, folder, python=python)
                shutil.rmtree(folder, ignore_errors=True)
                if args.repeat > 1:
                    print(f"round {round_ + 1}: {kind} {result['seconds']:.2f}s", flush=True)
                if kind not in results or result["seconds"] < results[kind]["seconds"]:
                    results[kind] = result
    finally:
        if not args.keep:
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                if args.d2d_on_postgres:
                    conn.execute(f'DROP DATABASE IF EXISTS "{state}" WITH (FORCE)')
            shutil.rmtree(out, ignore_errors=True)

    if args.repeat > 1:
        print(f"\nbest of {args.repeat} runs each:")
    print(f"\n{'approach':<11} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak MB':>9}  parquet types (qty, amount)")
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        result["rate"] = rate
        types = ", ".join(result.get("types", {}).values())
        print(f"{name:<11} {result['rows']:>12,} {result['seconds']:>9.2f} {rate:>12,.0f} {result['peak_mb']:>9.0f}  {types}")
    d2d = results["d2d"]
    assert d2d["rows"] == args.rows, f"d2d synced {d2d['rows']} of {args.rows} rows"
    targets = {"psql": ">= 0.9", "copy": "", "connectorx": "> 1", "dlt": "> 1", "pandas": ">= 3"}
    print()
    for name, target in targets.items():
        if name in results:
            print(f"d2d / {name + ' rate:':<16} {d2d['rate'] / results[name]['rate']:.2f}" + (f"  (target {target})" if target else ""))
    print(f"d2d peak memory:   {d2d['peak_mb']:.0f} MB (before the sync: {d2d['peak_mb_before_sync']:.0f} MB; target < 500)")


if __name__ == "__main__":
    main()
