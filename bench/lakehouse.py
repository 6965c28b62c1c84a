"""Benchmark: d2d into Iceberg against pyiceberg appending the same Arrow table by hand, from PostgreSQL and from S3 Parquet.

Usage: .venv/bin/python bench/lakehouse.py [--rows 5000000] [--s3-rows 2000000] [--only pg,s3]
       [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

Two pairs, each approach in its own process so its peak memory (max RSS) is its own:

* pg:  a scratch table of --rows rows of mixed types (bench/pipeline_sync.py's) in PostgreSQL.
       d2d: ``manage.py pipelines_sync`` of a job postgres -> iceberg (d2d's SQL catalog on a scratch
       embedded d2d, warehouse in its local storage). By hand: ``COPY ... TO STDOUT (FORMAT csv)`` with
       psycopg to a file, Arrow's CSV reader into one table in the same column types, then pyiceberg's
       ``create_table`` + ``append`` on a SQL catalog (SQLite) with a local warehouse.
* s3:  --s3-rows rows of the same columns as Parquet files (10 of them) in a bucket of a moto_server
       started here on loopback. d2d: a job s3 -> iceberg. By hand: ``pyarrow.dataset`` over pyarrow's
       S3 filesystem read into one table, then ``create_table`` + ``append``.

It prints seconds, rows/s and peak memory of each, and each pair's ratio (by hand's seconds over
d2d's: above 1 means d2d is faster) measured in the same run.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from pipeline_sync import TABLE, fresh_database, load, peak_mb, scratch_url  # noqa: E402

BUCKET = "bench-lake"
S3_FILES = 10
KEYS = {"access_key": "bench", "secret_key": "bench-secret", "region": "us-east-1"}


def scratch_d2d(out: str):
    """A scratch embedded d2d (SQLite, local storage under ``out``): its bench user and project."""
    os.environ.update({"D2D_DATA_DIR": out, "DJANGO_SETTINGS_MODULE": "d2d.settings", "LOG_LEVEL": "warning"})
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.services import project_create, user_create

    call_command("migrate", verbosity=0)
    user = user_create(username="bench", email="bench@example.com", password="bench-password-1")
    return user, project_create(project_id="bench", name="Bench", owner=user)


def d2d_sync(out: str, source: dict, stream: str) -> dict:
    """One full refresh into Iceberg by ``manage.py pipelines_sync``, timed from the command's start."""
    user, project = scratch_d2d(out)
    from django.core.management import call_command

    from pipelines.models import JobTask
    from pipelines.services import job_create

    job = job_create(
        project=project, user=user, name="bench", source=source,
        destination={"name": "lake", "type": "iceberg", "version": "latest", "config": {"path": "lake"}},
        streams_config={"streams": [{"name": stream}]}, activate=False,
    )
    before = peak_mb()
    started = time.perf_counter()
    call_command("pipelines_sync", job.name, "--no-progress", stdout=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    task = JobTask.objects.get(job=job)
    if task.status != "succeeded":
        raise SystemExit(f"d2d's run {task.status}: {task.error}")
    return {"rows": task.rows_synced, "seconds": seconds, "peak_mb": peak_mb(), "peak_mb_before_sync": before}


def by_hand_append(out: str, table, started: float) -> dict:
    """pyiceberg's own way: a SQL catalog (SQLite) with a local warehouse, create_table + append."""
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = Path(out, "warehouse")
    warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("hand", uri=f"sqlite:///{out}/catalog.db", warehouse=f"file://{warehouse}")
    catalog.create_namespace("bench")
    iceberg = catalog.create_table(("bench", "rows"), schema=table.schema)
    iceberg.append(table)
    return {"rows": table.num_rows, "seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


COLUMNS = "id, qty, price, amount, label, created_at, day, active"


def arrow_schema():
    import pyarrow as pa

    return pa.schema([
        ("id", pa.int64()), ("qty", pa.int32()), ("price", pa.float64()), ("amount", pa.decimal128(12, 2)),
        ("label", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")), ("day", pa.date32()), ("active", pa.bool_()),
    ])


def child_pg_d2d(url: str, out: str) -> dict:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    config = {
        "host": parsed.hostname, "port": parsed.port or 5432, "database": parsed.path.lstrip("/"),
        "username": parsed.username or "postgres", "password": parsed.password or "",
    }
    return d2d_sync(out, {"name": "pg", "type": "postgres", "version": "latest", "config": config}, TABLE)


def child_pg_hand(url: str, out: str) -> dict:
    import psycopg
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    dump = Path(out, "dump.csv")
    with psycopg.connect(url) as conn, conn.cursor() as cursor, open(dump, "wb") as handle:
        with cursor.copy(f"COPY (SELECT {COLUMNS} FROM {TABLE}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                handle.write(block)
    schema = arrow_schema()
    table = pacsv.read_csv(
        dump, read_options=pacsv.ReadOptions(column_names=schema.names),
        convert_options=pacsv.ConvertOptions(column_types=schema, true_values=["t"], false_values=["f"]),
    )
    dump.unlink()
    return by_hand_append(out, table, started)


def s3_options(endpoint: str) -> dict:
    return {"endpoint": endpoint, "access_key_id": KEYS["access_key"], "secret_access_key": KEYS["secret_key"], "region": KEYS["region"]}


def child_s3_d2d(endpoint: str, out: str) -> dict:
    config = {"bucket_name": BUCKET, "path_prefix": "data", "file_format": "parquet", **s3_options(endpoint)}
    return d2d_sync(out, {"name": "bucket", "type": "s3", "version": "latest", "config": config}, "rows")


def child_s3_hand(endpoint: str, out: str) -> dict:
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    started = time.perf_counter()
    host = endpoint.split("://", 1)[1]
    fs = pafs.S3FileSystem(
        access_key=KEYS["access_key"], secret_key=KEYS["secret_key"], region=KEYS["region"], endpoint_override=host, scheme="http"
    )
    table = ds.dataset(f"{BUCKET}/data/rows", format="parquet", filesystem=fs).to_table()
    return by_hand_append(out, table, started)


def fill_bucket(endpoint: str, rows: int) -> None:
    """--s3-rows rows of the benchmark's columns as S3_FILES Parquet files under data/rows/."""
    import boto3
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=KEYS["region"],
        aws_access_key_id=KEYS["access_key"], aws_secret_access_key=KEYS["secret_key"],
    )
    client.create_bucket(Bucket=BUCKET)
    per_file = -(-rows // S3_FILES)
    for index in range(S3_FILES):
        start = index * per_file
        count = max(0, min(per_file, rows - start))
        ids = pa.array(range(start + 1, start + count + 1), pa.int64())
        table = pa.table({
            "id": ids,
            "qty": pc.cast(pc.remainder(ids, 1000), pa.int32()),
            "price": pc.multiply(pc.cast(ids, pa.float64()), 0.37),
            "amount": pc.cast(pc.divide(pc.cast(pc.remainder(ids, 100000), pa.float64()), 100.0), pa.decimal128(12, 2)),
            "label": pc.binary_join_element_wise("label ", pc.cast(ids, pa.string()), ""),
            "created_at": pc.cast(pc.add(pc.multiply(ids, 1_000_000), 1_704_067_200_000_000), pa.timestamp("us", tz="UTC")),
            "day": pc.cast(pc.cast(pc.add(pc.remainder(ids, 3650), 19723), pa.int32()), pa.date32()),
            "active": pc.equal(pc.remainder(ids, 3), 0),
        })
        path = Path(tempfile.mkdtemp()) / "part.parquet"
        pq.write_table(table, path)
        client.upload_file(str(path), BUCKET, f"data/rows/part-{index:03d}.parquet")
        shutil.rmtree(path.parent)


def start_moto(out: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(Path(out, "moto.log"), "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}"


def run_child(kind: str, target: str, out: str) -> dict:
    os.makedirs(out, exist_ok=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--target", target, "--out", out], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


CHILDREN = {"pg-d2d": child_pg_d2d, "pg-hand": child_pg_hand, "s3-d2d": child_s3_d2d, "s3-hand": child_s3_hand}


def report(name: str, d2d: dict, hand: dict) -> None:
    for label, result in (("d2d", d2d), ("pyiceberg by hand", hand)):
        rate = result["rows"] / result["seconds"]
        print(f"{name:3} {label:18} {result['rows']:>10,} rows {result['seconds']:8.2f} s {rate:>12,.0f} rows/s {result['peak_mb']:7.0f} MB peak")
    print(f"{name:3} ratio (by hand's seconds / d2d's): {hand['seconds'] / d2d['seconds']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--s3-rows", type=int, default=2_000_000)
    parser.add_argument("--only", default="pg,s3")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--target")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.target, args.out)))
        return
    work = tempfile.mkdtemp(prefix="d2d-bench-lake-")
    only = set(args.only.split(","))
    try:
        if "pg" in only:
            database = "d2d_bench_lake"
            load(args.database_url, database, args.rows)
            url = scratch_url(args.database_url, database)
            d2d = run_child("pg-d2d", url, f"{work}/pg-d2d")
            hand = run_child("pg-hand", url, f"{work}/pg-hand")
            report("pg", d2d, hand)
            if not args.keep:
                fresh_database(args.database_url, database)
        if "s3" in only:
            moto, endpoint = start_moto(work)
            try:
                fill_bucket(endpoint, args.s3_rows)
                d2d = run_child("s3-d2d", endpoint, f"{work}/s3-d2d")
                hand = run_child("s3-hand", endpoint, f"{work}/s3-hand")
                report("s3", d2d, hand)
            finally:
                os.killpg(moto.pid, signal.SIGTERM)
                moto.wait(timeout=10)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
