"""Files go through Django STORAGES: local by default, S3 through django-storages, against a real S3 server."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings


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


def test_it_stores_files_on_an_s3_compatible_server(s3_server, s3_bucket):
    with override_settings(STORAGES=s3_server.storages(s3_bucket)):
        storage = storages["default"]
        assert storage.__class__.__name__ == "S3Storage"
        round_trip(storage)
        name = storage.save("checks/listed.txt", ContentFile(b"x"))
        objects = s3_server.client().list_objects_v2(Bucket=s3_bucket)
        assert name in [item["Key"] for item in objects.get("Contents", [])]
