"""Storage paths for file connectors: relative names inside Django's default storage, never outside it."""

import posixpath

from django.core.files.storage import storages

from pipelines.connectors.base import CheckFailed


def clean_path(path: str) -> str:
    """A normalised relative storage name; refuses absolute paths and '..' (they would escape the storage)."""
    path = (path or "").replace("\\", "/").strip()
    normal = posixpath.normpath(path) if path else ""
    if path.startswith("/") or normal.startswith("..") or "/../" in f"/{normal}/":
        raise CheckFailed(f"path {path!r} must be relative to the storage and stay inside it")
    return "" if normal == "." else normal


def default_storage():
    return storages["default"]


def local_path(storage, name: str) -> str | None:
    """The filesystem path of a storage name, or None for storages without one (S3)."""
    try:
        return storage.path(name)
    except NotImplementedError:
        return None
