"""Fixtures for the conversions suites."""

import uuid

import pytest

from accounts.services import token_issue


@pytest.fixture
def alice_token(alice, project_a):
    return token_issue(user=alice, name="test")[1]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Each test stores files in its own folder, or key prefix on S3 (the worker and server get it through child_env)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    default = settings.STORAGES["default"]
    location = f"test-{uuid.uuid4().hex[:12]}" if settings.D2D_STORAGE == "s3" else tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": {**default.get("OPTIONS", {}), "location": location}}}
    from django.core.files.storage import storages

    storages._storages.pop("default", None)
    yield
    storages._storages.pop("default", None)
