"""Storage helpers every app needs and Django's Storage API leaves out."""

from collections.abc import Iterable
from pathlib import Path

from django.core.files.storage import Storage


def delete_prefix(store: Storage, prefix: str, *, keep: Iterable[str] = ()) -> int:
    """Delete every file under ``prefix`` (folders included, on any backend with listdir) but the
    entries directly under it named in ``keep``; returns how many files went.

    Local folders left empty are removed too, so a deleted task leaves no trace on disk. A prefix
    that does not exist, or a backend that cannot list, has nothing to delete.
    """
    count = 0
    kept = set(keep)
    try:
        folders, files = store.listdir(prefix)
    except (FileNotFoundError, NotImplementedError):
        return 0
    for file_name in files:
        if file_name not in kept:
            store.delete(f"{prefix}/{file_name}")
            count += 1
    for folder in folders:
        if folder not in kept:
            count += delete_prefix(store, f"{prefix}/{folder}")
    try:
        Path(store.path(prefix)).rmdir()
    except (OSError, NotImplementedError):
        pass
    return count
