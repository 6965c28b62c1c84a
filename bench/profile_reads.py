"""In-process cost of each hot read (bench/load_reads.py): CPU per request, queries and Python calls.

    .venv/bin/python bench/load.py --reads-only --keep          # leaves /tmp/d2d-load-XXXX
    .venv/bin/python bench/profile_reads.py /tmp/d2d-load-XXXX [--requests 300] [--profile NAME] [--sql]

The machine is shared, so the rates of bench/load.py move from run to run; the function calls a
request makes are the same in every run, and CPU time per request (process time, one thread, no
network) moves much less than wall time. Requests go through Django's test client: d2d's settings
and middleware, DRF, the token cache, the database of the kept scratch folder (SQLite, or
--database-url for a PostgreSQL one kept alive by hand), not uvicorn nor d2d's ASGI handler.
It writes to that scratch database only: a token for the bench user and, for 002, a finished
compute job of a fresh key (the bench's keys are not kept).
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scratch", help="a scratch folder kept by bench/load.py --keep")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint for the CPU figure")
    parser.add_argument("--database-url", help="the scratch PostgreSQL database, when the run used one")
    parser.add_argument("--profile", help="print cProfile's cumulative table for this endpoint (e.g. d2d_detail)")
    parser.add_argument("--sql", action="store_true", help="print each endpoint's queries")
    args = parser.parse_args()
    for key in ("DATABASE_URL", "REDIS_URL", "D2D_BROKER", "MEDIA_ROOT", "D2D_STORAGE"):
        os.environ.pop(key, None)
    os.environ.update(DJANGO_SETTINGS_MODULE="d2d.settings", D2D_DATA_DIR=str(Path(args.scratch) / "data"), DEBUG="0",
                      LOG_LEVEL="warning")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from accounts.services import token_issue
    from conversions.models import ConversionTask
    from load_reads import READS, read_targets
    from pipelines.models import Job

    user = User.objects.get(username="loadbench")
    _, token = token_issue(user=user, name="profile_reads")
    task = ConversionTask._base_manager.order_by("created_at").first()
    job = Job.objects.order_by("id").first()
    targets = read_targets(port=0, token=token, task_id=str(task.pk), project="load", job_id=str(job.pk))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    compute_paths = None
    print(f"{'hot read':52} {'CPU ms':>7} {'queries':>7} {'calls':>7}")
    for name, (_, _, fixed) in targets.items():
        if fixed is None:  # 002: signed by a key the bench made; sign with a fresh one of the same jobs
            from compute.models import ComputeJob

            compute = ComputeJob.objects.select_related("dataset").order_by("created_at").first()
            compute_paths = compute_paths or _compute_paths(compute, args.requests + 50)
        path_of = compute_paths if fixed is None else (lambda fixed=fixed: fixed)
        response = client.get(path_of())
        if response.status_code != 200:
            print(f"{READS[name]:52} HTTP {response.status_code}: {response.content[:200]!r}")
            continue
        queries = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path_of())
        started = time.process_time()
        for _ in range(args.requests):
            client.get(path_of())
        cpu = (time.process_time() - started) / args.requests * 1000
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20):
            client.get(path_of())
        profile.disable()
        print(f"{READS[name]:52} {cpu:>7.2f} {len(queries):>7} {pstats.Stats(profile).total_calls / 20:>7.0f}")
        if args.sql:
            for sql in queries:
                print(f"    {sql[:240]}")
        if args.profile == name:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    return 0


def _compute_paths(job, count: int):
    """The 002 requests of a new key whose own job is a copy of the bench's (the bench's keys are gone)."""
    from eth_account import Account

    from compute.models import ComputeJob

    account = Account.create()
    own = ComputeJob.objects.create(project=job.project, dataset=job.dataset, owner_address=account.address,
                                    status=job.status, stage=job.stage)
    from load_reads import ComputeStatusPaths

    return ComputeStatusPaths({"key": bytes(account.key), "address": account.address, "job_id": own.job_id,
                               "did": job.dataset.did}, count)


if __name__ == "__main__":
    sys.exit(main())
