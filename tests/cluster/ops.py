"""What an operator does to the cluster in the scenarios: source tables, jobs, runs, and reading their outcome."""

import json

import psycopg

from tests.cluster.harness import wait_until

FINISHED = ("succeeded", "failed", "cancelled")


def make_source_table(cluster, name: str, rows: int) -> None:
    """A table of ``rows`` rows in the database host's ``source`` database."""
    with psycopg.connect(cluster.dsn("source"), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, label text)")
        conn.execute(f"INSERT INTO {name} SELECT g, md5(g::text) FROM generate_series(1, {rows}) g")
        conn.execute(f"ANALYZE {name}")


def make_jobs(cluster, operator, *, names: list[str], source_config: dict | None = None, dest_type: str = "parquet",
              dest_config: dict | None = None, table: str, sync_mode: str = "full_refresh", start: bool = True,
              **env) -> list[int]:
    """One source (the ``source`` database) and one job per name syncing ``table`` into its own folder; their first runs' ids.

    Only that table: the other scenarios' tables live in the same schema.
    """
    db = cluster["db"]
    streams = {"streams": [{"name": table, "namespace": "public", "sync_mode": sync_mode}]}
    config = {"host": db.address, "port": 5432, "username": "postgres", "password": "unused-trust", "database": "source",
              "schemas": ["public"], **(source_config or {})}
    return cluster.django(cluster.workers[0], f"""
        from accounts.models import Project, User
        from pipelines.models import Destination, Source
        from pipelines.services import connector_create, job_create, job_sync_start
        user, project = User.objects.get(pk={operator['user']}), Project.objects.get(pk="{operator['project']}")
        result = []
        for name in {names!r}:
            connector_create(model=Source, project=project, user=user, name=name + "-src", type="postgres",
                             version="latest", config={config!r})
            connector_create(model=Destination, project=project, user=user, name=name + "-dst", type="{dest_type}",
                             version="latest", config={{"path": name, **{dest_config or {}!r}}})
            job = job_create(project=project, user=user, name=name, source={{"name": name + "-src"}},
                             destination={{"name": name + "-dst"}}, streams_config={streams!r})
            result.append(job_sync_start(job=job, user=user).pk if {start!r} else job.pk)
    """, **env)


def runs(cluster, ids: list[int]) -> dict[int, tuple]:
    """id -> (status, attempts, error, lease_expires_at) of pipeline runs, read on the database host."""
    rows = cluster.sql("SELECT id, status, attempts, error, lease_expires_at FROM pipelines_jobtask WHERE id = ANY(%s)",
                       (list(ids),))
    return {row[0]: row[1:] for row in rows}


def wait_finished(cluster, ids: list[int], *, timeout: float) -> dict[int, tuple]:
    def all_done():
        try:
            found = runs(cluster, ids)
        except psycopg.OperationalError:
            return None
        return found if len(found) == len(ids) and all(row[0] in FINISHED for row in found.values()) else None

    return wait_until(all_done, timeout=timeout, interval=1, message=f"{len(ids)} runs to finish")


def log_of(cluster, model: str, task_id) -> str:
    app, name = model.split(".")
    return "\n".join(row[0] for row in cluster.sql(
        "SELECT message FROM kernel_tasklogline WHERE task_id = %s AND content_type_id = "
        "(SELECT id FROM django_content_type WHERE app_label = %s AND model = %s) ORDER BY id", (str(task_id), app, name)))


def s3_client(cluster):
    import boto3

    from tests.cluster.harness import S3_KEY, S3_REGION, S3_SECRET

    return boto3.client("s3", endpoint_url=cluster.s3_endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY,
                        aws_secret_access_key=S3_SECRET)


def s3_ids(cluster, prefix: str, *, column: str = "id") -> list:
    """Every value of ``column`` in the Parquet files under ``prefix`` in the storage host's bucket (published ones only)."""
    import io

    import pyarrow.parquet as pq

    from tests.cluster.harness import S3_BUCKET

    client = s3_client(cluster)
    values = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".parquet"):
                body = client.get_object(Bucket=S3_BUCKET, Key=item["Key"])["Body"].read()
                values += pq.read_table(io.BytesIO(body), columns=[column]).column(column).to_pylist()
    return values


def s3_keys(cluster, prefix: str) -> list[str]:
    from tests.cluster.harness import S3_BUCKET

    client = s3_client(cluster)
    return [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET, Prefix=prefix)
            for item in page.get("Contents", [])]


def csv_upload(rows: int, seed: int) -> bytes:
    lines = ["id,name,score"] + [f"{n},name {seed}-{n},{n * 1.5}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def conversion_start(cluster, operator, web, *, rows: int = 200, seed: int = 0, submit: bool = True) -> str:
    """A tabular conversion (CSV to Parquet) made through a web host's API, as a client would; its id."""
    import requests

    base = f"http://{web.address}:8000/api/v1/uploads/tasks"
    headers = {"Authorization": f"Bearer {operator['token']}"}
    created = requests.post(base, json={"service": "tabular", "params": {"to": "parquet"}}, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    task = created.json()["id"]
    files = {"files": (f"table-{seed}.csv", csv_upload(rows, seed), "text/csv")}
    uploaded = requests.post(f"{base}/{task}/files", files=files, headers=headers, timeout=60)
    assert uploaded.status_code == 201, uploaded.text
    if submit:
        submitted = requests.post(f"{base}/{task}/submit", headers=headers, timeout=30)
        assert submitted.status_code == 202, submitted.text
    return str(task)


def conversions(cluster, ids: list[str]) -> dict[str, tuple]:
    """id -> (status, attempts, error, result files) of conversion tasks."""
    rows = cluster.sql("SELECT t.id::text, t.status, t.attempts, t.error, "
                       "(SELECT count(*) FROM conversions_resultfile r WHERE r.task_id = t.id) "
                       "FROM conversions_conversiontask t WHERE t.id::text = ANY(%s)", (list(ids),))
    return {row[0]: row[1:] for row in rows}


def s3_published_rows(cluster, prefix: str) -> list[dict]:
    """The rows of every file a manifest under ``prefix`` names (what a reader of the published data sees)."""
    import io

    import pyarrow.parquet as pq

    from tests.cluster.harness import S3_BUCKET

    client = s3_client(cluster)
    rows = []
    for key in s3_keys(cluster, prefix):
        if key.endswith("/_manifest.json"):
            for name in json.loads(client.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read())["files"]:
                rows += pq.read_table(io.BytesIO(client.get_object(Bucket=S3_BUCKET, Key=name)["Body"].read())).to_pylist()
    return rows
