"""Scenario 5: the storage host unreachable during a publish: the run retries cleanly, nothing half published is seen.

A stream already published (every row 'old') is published again (every row 'new') in many files; the
storage host's link goes down once the new files have begun to arrive, and comes back. Whenever the
storage answers, its manifest names a whole set: all 'old' or all 'new', never a mix; the run ends
succeeded with every row once.
"""

import json
import time

import psycopg
import pytest

from tests.cluster.conftest import print_figures
from tests.cluster.harness import S3_BUCKET, wait_until
from tests.cluster.ops import FINISHED, make_jobs, runs, s3_client, s3_keys

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROWS = 400_000  # in 80 files of 5,000 rows, about 100 MB: a publish of some seconds
DOWN_SECONDS = 20


def published_notes(cluster, folder: str) -> tuple[set, int]:
    """(the notes of the rows the manifest names, how many rows), read again when a publish replaced the set meanwhile.

    A reader that read the old manifest may find its files gone once the new one landed: it reads the new one.
    """
    from botocore.exceptions import ClientError

    for _ in range(5):
        try:
            return _published_notes(cluster, folder)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchKey":
                raise
    raise AssertionError("the manifest kept naming files that are gone")


def _published_notes(cluster, folder: str) -> tuple[set, int]:
    import io

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    client = s3_client(cluster)
    manifest = json.loads(client.get_object(Bucket=S3_BUCKET, Key=f"{folder}/_manifest.json")["Body"].read())
    notes, count, ids = set(), 0, []
    for name in manifest["files"]:
        table = pq.read_table(io.BytesIO(client.get_object(Bucket=S3_BUCKET, Key=name)["Body"].read()), columns=["id", "note"])
        notes |= set(pc.unique(table.column("note")).to_pylist())
        ids += table.column("id").to_pylist()
        count += table.num_rows
    assert len(ids) == len(set(ids)), "no row twice in a published set"
    return notes, count


def test_it_publishes_whole_or_not_at_all_when_storage_goes_away(cluster, operator, workers):
    figures = {"rows": ROWS}
    with psycopg.connect(cluster.dsn("source"), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ledger")
        conn.execute("CREATE TABLE ledger (id bigint PRIMARY KEY, note text, body text)")
        conn.execute(f"INSERT INTO ledger SELECT g, 'old', repeat(md5(g::text), 8) FROM generate_series(1, {ROWS}) g")
    [first] = make_jobs(cluster, operator, names=["ledger"], dest_config={"rows_per_file": 5_000}, table="ledger")
    folder = f"pipelines/{operator['project']}/ledger/ledger"
    wait_until(lambda: runs(cluster, [first])[first][0] in FINISHED, timeout=180, message="the first publish")
    assert runs(cluster, [first])[first][0] == "succeeded"
    assert published_notes(cluster, folder) == ({"old"}, ROWS)
    before = len(s3_keys(cluster, folder + "/"))
    with psycopg.connect(cluster.dsn("source"), autocommit=True) as conn:
        conn.execute("UPDATE ledger SET note = 'new'")
    job = cluster.sql("SELECT job_id FROM pipelines_jobtask WHERE id = %s", (first,))[0][0]
    second = cluster.django(cluster.workers[0], f"""
        from pipelines.models import Job
        from pipelines.services import job_sync_start
        job = Job.objects.get(pk={job})
        result = job_sync_start(job=job).pk
    """)
    wait_until(lambda: len(s3_keys(cluster, folder + "/")) > before + 2, timeout=180, interval=0.05,
               message="the second publish under way")
    storage = cluster["storage"]
    cut_at = time.monotonic()
    storage.link_down()
    time.sleep(DOWN_SECONDS)
    storage.link_up()
    figures["storage_down_s"] = round(time.monotonic() - cut_at, 1)
    seen = []
    while runs(cluster, [second])[second][0] not in FINISHED:
        notes, count = published_notes(cluster, folder)
        seen.append(tuple(sorted(notes)))
        assert len(notes) == 1 and count == ROWS, f"a whole set is published: {notes}, {count} rows"
        time.sleep(0.5)
    status, attempts, error, _ = runs(cluster, [second])[second]
    figures |= {"finished_after_return_s": round(time.monotonic() - cut_at - DOWN_SECONDS, 1), "attempts": attempts,
                "status": status, "sets_seen_meanwhile": sorted(set(seen))}
    if status != "succeeded":  # the runner's attempts ran out while storage was away: a rerun must succeed
        figures["first_error"] = error[:120]
        rerun = cluster.django(cluster.workers[0], f"""
            from pipelines.models import Job
            from pipelines.services import job_sync_start
            result = job_sync_start(job=Job.objects.get(pk={job})).pk
        """)
        wait_until(lambda: runs(cluster, [rerun])[rerun][0] in FINISHED, timeout=180, message="the rerun")
        status = runs(cluster, [rerun])[rerun][0]
    assert status == "succeeded"
    assert published_notes(cluster, folder) == ({"new"}, ROWS)
    manifest = json.loads(s3_client(cluster).get_object(Bucket=S3_BUCKET, Key=f"{folder}/_manifest.json")["Body"].read())
    assert sorted(s3_keys(cluster, folder + "/")) == sorted([*manifest["files"], f"{folder}/_manifest.json"]), \
        "only the published set remains"
    print_figures("scenario 5, the storage host unreachable during a publish", figures)
