"""Fixtures of the OLake UI's browser tests: a live d2d serving the UI build, its user, a PostgreSQL source database."""

import os
import subprocess
import sys
from contextlib import contextmanager

import psycopg
import pytest

from accounts.models import Project, Role
from accounts.services import membership_set, project_create
from tests.e2e.olake_ui import ui_dist
from tests.support.processes import ROOT, child_env, free_port, wait_for_port


@pytest.fixture
def scratch_source_db():
    """A real PostgreSQL database on loopback with two small tables for the UI's source."""
    name = f"d2d_ui_src_{os.getpid()}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, updated_at timestamptz DEFAULT now())")
        conn.execute("INSERT INTO customers (id, name) SELECT g, 'customer ' || g FROM generate_series(1, 25) g")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total numeric(10, 2))")
        conn.execute("INSERT INTO orders SELECT g, 1 + g % 25, g * 1.5 FROM generate_series(1, 60) g")
    yield name
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def ui_user(make_user):
    """A d2d user who edits project olake, the project the UI's hard-coded 123 stands for."""
    olake = Project.objects.filter(pk="olake").first() or project_create(project_id="olake", name="OLake")
    user = make_user("uiuser")
    membership_set(project=olake, user=user, role=Role.EDITOR)
    return user


@contextmanager
def running_d2d(tmp_path, cluster_factory, **extra):
    """uvicorn serving the UI build, unable to reach anything but loopback, plus a qcluster worker, both with ``extra`` in their environment."""
    dist = ui_dist()
    port = free_port()
    env = child_env(D2D_OLAKE_UI_DIR=str(dist), ALLOWED_HOSTS="127.0.0.1", CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}", **extra)
    log_path = tmp_path / "d2d-web.log"
    log = open(log_path, "ab")
    web = subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz.loopback_server", "d2d.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    cluster = cluster_factory(**extra)
    try:
        wait_for_port(port, timeout=60, process=web)
        yield f"http://127.0.0.1:{port}", log_path, cluster
    finally:
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()


@pytest.fixture
def d2d_server(tmp_path, cluster_factory):
    """d2d on its local storage, serving the UI build."""
    with running_d2d(tmp_path, cluster_factory) as server:
        yield server


@pytest.fixture
def d2d_on_s3(tmp_path, cluster_factory, s3_server, s3_bucket):
    """d2d whose storage is a bucket of the run's S3 server (moto): its Iceberg catalog's warehouse is on S3."""
    with running_d2d(
        tmp_path, cluster_factory, D2D_STORAGE="s3", AWS_STORAGE_BUCKET_NAME=s3_bucket, AWS_S3_ENDPOINT_URL=s3_server.endpoint,
        AWS_S3_REGION_NAME=s3_server.region, AWS_ACCESS_KEY_ID=s3_server.access_key, AWS_SECRET_ACCESS_KEY=s3_server.secret_key,
        AWS_LOCATION="d2d",
    ) as server:
        yield server
