"""Local scratch folders of task attempts: where they live, and removing them whatever they hold."""

import contextlib
import os
import shutil
from pathlib import Path

from django.conf import settings

from kernel.models import ACTIVE_STATUSES


def work_root() -> Path:
    """This deployment's scratch space (DATA_DIR/work), not the shared /tmp: the sweep below removes
    folders whose task its own database does not know, which must never be another deployment's."""
    return Path(settings.DATA_DIR) / "work"


def _writable_then_retry(function, path, _exc) -> None:
    """rmtree's onexc: a converter or an algorithm may leave read-only folders; make them writable."""
    for target in {os.path.dirname(path), path}:
        with contextlib.suppress(OSError):
            os.chmod(target, 0o700)
    with contextlib.suppress(OSError):
        function(path)


def remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, onexc=_writable_then_retry)


def remove_folders_of_ended_runs(model, folders: dict[str, list[Path]], *, field: str = "pk") -> int:
    """Remove the folders whose task (``field`` = key) is not queued, running or retrying; returns how many.

    The caller lists the folders first and this reads the statuses after, so a folder a new
    attempt made meanwhile belongs to a task already seen as live.
    """
    if not folders:
        return 0
    live = {
        str(value)
        for value in model._base_manager.filter(**{f"{field}__in": list(folders), "status__in": ACTIVE_STATUSES})
        .values_list(field, flat=True)
    }
    ended = [path for key, paths in folders.items() if key not in live for path in paths]
    for path in ended:
        remove_tree(path)
    return len(ended)
