"""Benchmark: CDC lag from a row's commit in PostgreSQL to its change published by d2d, under a steady write load.

Usage: .venv/bin/python bench/cdc_lag.py [--rate 1000] [--seconds 30] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Needs a source server with logical decoding (scripts/postgres-logical). A scratch database gets a
table; a scratch embedded d2d (SQLite, local storage) runs ``manage.py pipelines_sync`` of a CDC job
postgres -> parquet that keeps streaming (cdc_run_seconds). Once its initial load is published, a
writer commits --rate changes a second (70% inserts, 25% updates, 5% deletes; one transaction
each, the commit time in the row) for --seconds. A watcher sees each change folder appear (the
publish is one rename) and reads its rows: lag = publish time - commit time, for every insert and
update. It prints the writer's achieved rate, p50/p95/p99/max lag, and checks that every change
arrived exactly once (target: p50 <= 2 s at 1,000 changes/s).
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipeline_sync import ROOT, scratch_d2d_job, scratch_url

TABLE = "events"


def child_d2d(url: str, out: str, run_seconds: int, batch: int) -> None:
    """The d2d side: a scratch embedded d2d whose one CDC job streams for ``run_seconds``."""
    job = scratch_d2d_job(
        url, out, name="lag", streams=[{"name": TABLE, "sync_mode": "cdc"}], path="lag",
        cdc_run_seconds=run_seconds, cdc_batch_changes=batch,
    )
    from django.core.management import call_command

    try:
        call_command("pipelines_sync", job.name, "--no-progress", stdout=open(os.devnull, "w"))
    finally:
        from pipelines.services import job_capture_stop

        job_capture_stop(job=job)


class Writer(threading.Thread):
    """Commits changes at a steady rate, one transaction each; counts what it made."""

    def __init__(self, url: str, rate: int, seconds: int):
        super().__init__(daemon=True)
        self.url, self.rate, self.seconds = url, rate, seconds
        self.inserts = self.updates = self.deletes = 0
        self.elapsed = 0.0

    def run(self):
        import psycopg

        live, next_id = [], 1
        rng = random.Random(7)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")  # the writer's own commits must keep up with the rate
            started = time.perf_counter()
            total = self.rate * self.seconds
            for n in range(total):
                due = started + n / self.rate
                if (delay := due - time.perf_counter()) > 0:
                    time.sleep(delay)
                draw = rng.random()
                if draw < 0.05 and live:
                    conn.execute(f"DELETE FROM {TABLE} WHERE id = %s", [live.pop(rng.randrange(len(live)))])
                    self.deletes += 1
                elif draw < 0.30 and live:
                    conn.execute(f"UPDATE {TABLE} SET payload = md5(random()::text), written_at = clock_timestamp() WHERE id = %s", [rng.choice(live)])
                    self.updates += 1
                else:
                    conn.execute(f"INSERT INTO {TABLE} VALUES (%s, md5(%s::text), clock_timestamp())", [next_id, next_id])
                    live.append(next_id)
                    next_id += 1
                    self.inserts += 1
            self.elapsed = time.perf_counter() - started


class Watcher(threading.Thread):
    """Notes when each change folder appears and the lag of every insert and update in it."""

    def __init__(self, stream_folder: Path):
        super().__init__(daemon=True)
        self.folder = stream_folder
        self.seen: set[str] = set()
        self.lags: list[float] = []
        self.counts = {"c": 0, "u": 0, "d": 0}
        self.stop = threading.Event()

    def run(self):
        import pyarrow.parquet as pq

        while not self.stop.is_set():
            try:
                names = sorted(p.name for p in self.folder.iterdir() if p.name.startswith("inc-"))
            except FileNotFoundError:
                names = []
            for name in names:
                if name in self.seen:
                    continue
                published = time.time()
                self.seen.add(name)
                for file in sorted((self.folder / name).glob("*.parquet")):
                    table = pq.read_table(file, columns=["_op_type", "written_at"])
                    for op, written in zip(table.column("_op_type").to_pylist(), table.column("written_at").to_pylist()):
                        self.counts[op] += 1
                        if op in ("c", "u") and written is not None:
                            self.lags.append(published - written.timestamp())
            time.sleep(0.02)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000, help="changes per second the writer commits")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=2000, help="cdc_batch_changes of the source")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--run-seconds", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_d2d(args.url, args.out, args.run_seconds, args.batch)
        return

    import psycopg

    database = f"d2d_cdclag_{os.getpid()}"
    url = scratch_url(args.database_url, database)
    out = tempfile.mkdtemp(prefix="d2d-cdclag-")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    child = None
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, payload text, written_at timestamptz)")
        run_seconds = args.seconds + 5
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", "--url", url, "--out", out, "--run-seconds", str(run_seconds), "--batch", str(args.batch)],
            cwd=ROOT,
        )
        stream_folder = Path(out) / "media" / "pipelines" / "bench" / "lag" / TABLE
        deadline = time.monotonic() + 120
        while not stream_folder.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("d2d did not publish the initial load")
            time.sleep(0.05)
        watcher = Watcher(stream_folder)
        watcher.start()
        writer = Writer(url, args.rate, args.seconds)
        print(f"writing {args.rate:,} changes/s for {args.seconds} s ...", flush=True)
        writer.start()
        writer.join()
        made = writer.inserts + writer.updates + writer.deletes
        deadline = time.monotonic() + 60
        while sum(watcher.counts.values()) < made and time.monotonic() < deadline:
            time.sleep(0.1)
        watcher.stop.set()
        watcher.join()
        child.wait(timeout=120)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(out, ignore_errors=True)

    print(f"\nwriter: {made:,} changes ({writer.inserts:,} inserts, {writer.updates:,} updates, {writer.deletes:,} deletes) "
          f"in {writer.elapsed:.1f} s = {made / writer.elapsed:,.0f} changes/s")
    got = watcher.counts
    print(f"published: {got['c']:,} inserts, {got['u']:,} updates, {got['d']:,} deletes in {len(watcher.seen)} batches")
    exact = (got["c"], got["u"], got["d"]) == (writer.inserts, writer.updates, writer.deletes)
    print(f"every change exactly once: {'yes' if exact else 'NO'}")
    lags = watcher.lags
    print(f"lag commit -> published (s): p50 {percentile(lags, 0.5):.3f}  p95 {percentile(lags, 0.95):.3f}  "
          f"p99 {percentile(lags, 0.99):.3f}  max {max(lags):.3f}  (target p50 <= 2 s)")
    if not exact:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
