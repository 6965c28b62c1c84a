"""Storage paths for file connectors: relative names inside Django's default storage, never outside it."""

import posixpath

from django.core.files.storage import storages

from pipelines.connectors.base import CheckFailed


def clean_path(path: str, root: str = "") -> str:
    """A normalised storage name under ``root``; refuses absolute paths and '..' (they would escape it)."""
    path = (path or "").replace("\\", "/").strip()
    normal = posixpath.normpath(path) if path else ""
    if path.startswith("/") or normal.startswith("..") or "/../" in f"/{normal}/":
        raise CheckFailed(f"path {path!r} must be relative to the project's storage folder and stay inside it")
    normal = "" if normal == "." else normal
    return posixpath.join(root, normal) if root and normal else (root or normal)


def default_storage():
    return storages["default"]


def local_path(storage, name: str) -> str | None:
    """The filesystem path of a storage name, or None for storages without one (S3)."""
    try:
        return storage.path(name)
    except NotImplementedError:
        return None
