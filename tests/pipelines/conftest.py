"""Real sources for pipeline tests: a scratch PostgreSQL database and MariaDB databases on loopback, files in storage."""

import os
import posixpath
import uuid

import psycopg
import pymysql
import pytest
from django.core.files.storage import storages

from kernel.runner import execute
from pipelines.models import Destination, Source
from pipelines.services import connector_create, job_create, job_sync_start

PG = {"host": "127.0.0.1", "port": 5432, "username": "postgres", "password": "pg-Secret-42"}
MARIADB = {"host": "127.0.0.1", "port": 3306, "username": "root", "password": ""}


@pytest.fixture(scope="session")
def pg_database():
    """One scratch database for the session's sources and destinations (not the Django test database)."""
    name = f"d2dp_scratch_{os.getpid()}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg(pg_database):
    """A fresh schema in the scratch database: (config for a source, connection to load data with)."""
    schema = f"s_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(host="127.0.0.1", user="postgres", dbname=pg_database, autocommit=True)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}"')
    config = {**PG, "database": pg_database, "schemas": [schema]}
    yield config, conn, schema
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


@pytest.fixture
def pg_dest(pg_database):
    """A config for a PostgreSQL destination writing into its own fresh schema, and a connection to check it."""
    schema = f"d_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(host="127.0.0.1", user="postgres", dbname=pg_database, autocommit=True)
    yield {**PG, "database": pg_database, "schema": schema}, conn, schema
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


@pytest.fixture
def mariadb():
    name = f"d2dp_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    conn.select_db(name)
    yield {**MARIADB, "database": name}, conn
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE `{name}`")
    conn.close()


@pytest.fixture
def storage():
    return storages["default"]


class RootedStorage:
    """Storage as project alpha's file connectors see it: rooted at pipelines/alpha/."""

    def __init__(self, storage, root: str):
        self.storage, self.root = storage, root

    def path(self, name: str) -> str:
        path = self.storage.path(posixpath.join(self.root, name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def exists(self, name: str) -> bool:
        return self.storage.exists(posixpath.join(self.root, name))

    def save(self, name: str, content) -> str:
        return self.storage.save(posixpath.join(self.root, name), content)


@pytest.fixture
def project_storage(storage):
    return RootedStorage(storage, "pipelines/alpha")


def is_local(storage) -> bool:
    """Whether files are on this machine's disk (the default) or in an object store (the S3 pass)."""
    try:
        storage.path("")
    except NotImplementedError:
        return False
    return True


@pytest.fixture
def folder(storage):
    """A fresh folder name, made in storage (for connectors used directly), removed afterwards with its twin in alpha's root."""
    import shutil

    name = f"pipelines-test/{uuid.uuid4().hex[:10]}"
    if not is_local(storage):  # object stores have no folders to make: the name is a key prefix
        yield name
        return
    os.makedirs(storage.path(name), exist_ok=True)
    yield name
    shutil.rmtree(storage.path(name), ignore_errors=True)
    for project in ("alpha", "beta"):
        shutil.rmtree(storage.path(f"pipelines/{project}/{name}"), ignore_errors=True)


def run_sync(job, user=None):
    """One sync of ``job`` in this process through the real runner (lease, attempts, log); needs transactional_db."""
    task = job_sync_start(job=job, user=user, publish=False)
    execute("pipelines.JobTask", str(task.pk))
    task.refresh_from_db()
    return task


def make_job(project, user, source_type, source_config, dest_type, dest_config, streams_config=None, name="job"):
    source = connector_create(
        model=Source, project=project, user=user, name=f"{name}-src", type=source_type, version="latest", config=source_config
    )
    destination = connector_create(
        model=Destination, project=project, user=user, name=f"{name}-dst", type=dest_type, version="latest", config=dest_config
    )
    return job_create(
        project=project,
        user=user,
        name=name,
        source={"name": source.name},
        destination={"name": destination.name},
        streams_config=streams_config,
    )


@pytest.fixture(scope="session")
def s3_auth_server(tmp_path_factory):
    """A second moto_server on loopback that checks signatures, as AWS does (the run's s3_server accepts any key).

    moto checks requests once INITIAL_NO_AUTH_ACTION_COUNT of them have passed: the first three
    make an IAM user, its access key and a policy allowing S3; from then on only that key works.
    """
    import json
    import signal
    import subprocess
    import sys

    import boto3

    from tests.support.processes import free_port, wait_for_port
    from tests.support.s3_server import S3Server

    port = free_port()
    log = open(tmp_path_factory.mktemp("s3auth") / "moto_server.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"},
    )
    try:
        server = S3Server(f"http://127.0.0.1:{port}")
        wait_for_port(port, timeout=30, process=process)  # no HTTP request: moto would count it
        iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="d2d")
        key = iam.create_access_key(UserName="d2d")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="d2d", PolicyName="s3", PolicyDocument=json.dumps(policy))
        yield S3Server(server.endpoint, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.close()
