"""Files go through Django STORAGES: local by default, S3 through django-storages, against a real S3 server."""

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings
from moto.server import ThreadedMotoServer

from tests.support.processes import free_port


@pytest.fixture
def s3_endpoint():
    """moto's S3-compatible HTTP server on loopback, with a bucket."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket="d2d-test")
    yield endpoint
    server.stop()


def s3_storages(endpoint: str) -> dict:
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "d2d-test",
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def round_trip(storage) -> None:
    name = storage.save("checks/hello.txt", ContentFile(b"hello d2d"))
    assert storage.exists(name)
    with storage.open(name) as handle:
        assert handle.read() == b"hello d2d"
    second = storage.save("checks/hello.txt", ContentFile(b"again"))
    assert second != name, "an existing file is never overwritten"
    storage.delete(name)
    storage.delete(second)
    assert not storage.exists(name)


def test_it_stores_files_locally_by_default(settings, tmp_path):
    assert storages["default"].__class__.__name__ == "FileSystemStorage"
    round_trip(storages["default"])


def test_it_stores_files_on_an_s3_compatible_server(s3_endpoint):
    with override_settings(STORAGES=s3_storages(s3_endpoint)):
        storage = storages["default"]
        assert storage.__class__.__name__ == "S3Storage"
        round_trip(storage)
        name = storage.save("checks/listed.txt", ContentFile(b"x"))
        objects = boto3.client(
            "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        ).list_objects_v2(Bucket="d2d-test")
        assert name in [item["Key"] for item in objects.get("Contents", [])]
