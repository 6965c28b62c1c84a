"""Task files through Django storage: generated names only, local copies for converters, purge by prefix."""

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages

from conversions.converters.base import extension_of
from kernel.scratch import remove_folders_of_ended_runs, remove_tree, work_root
from kernel.storage import delete_prefix as _delete_prefix


def storage():
    return storages["default"]


class LocalFile(File):
    """A file already on local disk: FileSystemStorage moves it instead of copying."""

    def __init__(self, path: Path):
        super().__init__(open(path, "rb"), name=path.name)
        self._path = str(path)

    def temporary_file_path(self) -> str:
        return self._path


def input_name(task, client_name: str) -> str:
    """Where an input is stored: a random name keeping only a plain extension of the client's name."""
    ext = extension_of(client_name)
    return f"{task.storage_prefix}/inputs/{uuid.uuid4().hex}{'.' + ext if ext else ''}"


def result_name(task, batch: str, output_name: str) -> str:
    # output_name was made safe by Job.output_path (at most one folder level of our own choosing).
    return f"{task.storage_prefix}/results/{batch}/{output_name}"


def save_local(name: str, path: Path) -> str:
    """Save a local file under ``name`` and return the name storage chose."""
    with LocalFile(path) as handle:
        return storage().save(name, handle)


def workdir(task) -> Path:
    """A private scratch folder next to the media root, so finished files move into storage by rename.

    Named after the task, so the next attempt after a killed worker can find and remove it.
    """
    base = work_root()
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"conv-{task.pk}-", dir=base))


def sweep_workdirs(task) -> int:
    """Remove the scratch folders a killed attempt of ``task`` left behind; returns how many.

    Safe only at the start of an attempt: the runner's lease guarantees no other attempt runs.
    """
    stale = list(work_root().glob(f"conv-{task.pk}-*"))
    for folder in stale:
        remove_tree(folder)
    return len(stale)


def sweep_ended_workdirs(model) -> int:
    """Remove scratch folders of tasks that no attempt is using: ended, deleted or gone."""
    folders: dict[str, list[Path]] = {}
    for folder in work_root().glob("conv-*-*"):
        task_id = folder.name[len("conv-") : len("conv-") + 36]
        with contextlib.suppress(ValueError):
            folders.setdefault(str(uuid.UUID(task_id)), []).append(folder)
    return remove_folders_of_ended_runs(model, folders)


def delete_other_result_batches(task, keep_batch: str) -> int:
    """Delete the task's stored result batches other than ``keep_batch``; returns how many files went.

    Each attempt publishes into a batch folder of its own, so this also clears the outputs of an
    attempt killed between storing its files and swapping the result rows.
    """
    return _delete_prefix(storage(), f"{task.storage_prefix}/results", keep=[keep_batch])


def local_path(name: str, scratch: Path) -> Path:
    """A local path to read a stored file: the file itself on local storage, else a copy in ``scratch``."""
    store = storage()
    try:
        return Path(store.path(name))
    except NotImplementedError:
        target = scratch / uuid.uuid4().hex
        with store.open(name, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        return target


def delete_names(names) -> None:
    store = storage()
    for name in names:
        if name:
            store.delete(name)


def delete_prefix(prefix: str) -> int:
    """Delete every stored file of conversions under ``prefix``; returns how many."""
    return _delete_prefix(storage(), prefix)
