"""moto_server, the S3-compatible server the suite stores files in: a separate process on loopback.

`make test` starts one for the whole run and names it in D2D_TEST_S3_ENDPOINT (the S3 storage pass
and the worker processes it starts need it before Django's settings load); a pytest run without it
starts its own for the session. Either way it is a real HTTP server in another process, reached over
loopback as a deployment reaches its object store, never a thread inside pytest.
"""

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests

ACCESS_KEY = "d2d-test-access"
SECRET_KEY = "d2d-test-secret"
REGION = "us-east-1"
ENDPOINT_VARIABLE = "D2D_TEST_S3_ENDPOINT"


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server answers, and the credentials every client of it uses."""

    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, prefix: str = "d2d-test") -> str:
        """A new, empty bucket whose name no other test uses."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storages(self, bucket: str, *, location: str = "") -> dict:
        """A STORAGES setting whose default storage is ``bucket`` on this server (django-storages)."""
        return {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "endpoint_url": self.endpoint,
                    "region_name": self.region,
                    "access_key": self.access_key,
                    "secret_key": self.secret_key,
                    "location": location,
                    "file_overwrite": False,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }

    def storage_env(self, bucket: str) -> dict:
        """The environment a d2d process needs to keep its files in ``bucket`` (D2D_STORAGE=s3)."""
        return {
            "D2D_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def answers(self) -> bool:
        try:
            return requests.get(self.endpoint, timeout=2).status_code < 500
        except requests.RequestException:
            return False


def start_moto_server(port: int, log_path: Path) -> subprocess.Popen:
    """moto_server on 127.0.0.1:port in its own process group; raises if it does not answer in 30 s."""
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = S3Server(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while not server.answers():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"moto_server did not start on port {port}; see {log_path}")
        time.sleep(0.1)
    return process


def server_from_environment() -> S3Server | None:
    """The server `make test` started, if this run was given one; it must answer."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if not endpoint:
        return None
    server = S3Server(endpoint)
    if not server.answers():
        raise RuntimeError(f"{ENDPOINT_VARIABLE}={endpoint} does not answer: is moto_server running?")
    return server
