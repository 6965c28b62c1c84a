"""Storage helpers every app needs and Django's Storage API leaves out."""

from pathlib import Path

from django.core.files.storage import Storage


def delete_prefix(store: Storage, prefix: str) -> int:
    """Delete every file under ``prefix`` (folders included, on any backend with listdir); returns how many.

    Local folders left empty are removed too, so a deleted task leaves no trace on disk.
    """
    count = 0
    try:
        folders, files = store.listdir(prefix)
    except (FileNotFoundError, NotImplementedError):
        return 0
    for file_name in files:
        store.delete(f"{prefix}/{file_name}")
        count += 1
    for folder in folders:
        count += delete_prefix(store, f"{prefix}/{folder}")
    try:
        Path(store.path(prefix)).rmdir()
    except (OSError, NotImplementedError):
        pass
    return count
