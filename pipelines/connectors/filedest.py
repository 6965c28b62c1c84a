"""Files in storage as a destination: a folder per stream, published atomically.

A stream is written into a private staging folder. Full refresh swaps it with the stream's
folder in one rename (renameat2 RENAME_EXCHANGE on Linux), so a reader sees the old files or
the new ones, never a mix. An incremental run publishes its rows as the sub-folder
``inc-<generation>``: a retry of the same increment replaces it instead of adding it twice.
Storages without local paths (S3) get the files uploaded under names of their own publish, then
``_manifest.json`` naming the current files, replaced in one request (the commit point: a publish
cut short leaves the old manifest and its files whole), then the files it no longer names are removed. A clear moves the stream's folder
aside in one rename, then removes it with whatever failed runs of that stream left behind.
"""

import contextlib
import ctypes
import hashlib
import json
import os
import posixpath
import re
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod

import pyarrow as pa

from pipelines.connectors.base import CheckFailed, DestinationConnector, Stream, StreamWriter
from pipelines.connectors.s3 import Bucket, BucketStorage, bucket_check
from pipelines.connectors.storage import clean_path, default_storage, local_path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
STAGING = ".d2d-staging"


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically; False where the platform cannot (then the caller renames twice)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def publish_folder(staging: str, target: str) -> None:
    """Make ``staging`` the folder at ``target``, replacing what was there in one step where possible."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.exists(target):
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # it now holds the old files
        return
    old = f"{target}.d2d-old-{uuid.uuid4().hex[:8]}"
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old)


def staging_name(relative: str) -> str:
    """A private folder name that says which stream it belongs to, so a clear can find a failed run's leftovers.

    The stream is named by a digest: stream names may hold anything, and a file name must stay short.
    """
    return f"{uuid.uuid4().hex}-{_digest(relative)}"


def _digest(relative: str) -> str:
    return hashlib.sha256(relative.encode()).hexdigest()[:16]


def _relative(folder: str, base: str) -> str:
    """``folder`` relative to ``base`` ("" is a bucket's root)."""
    return posixpath.relpath(folder, base) if base else folder


def _remove(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)  # a link goes, never what it points to
    else:
        shutil.rmtree(path)


def _delete_tree(storage, folder: str) -> None:
    """Every file under ``folder`` in a storage without local paths; the manifest first, so readers see no files at once."""
    try:
        dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files, key=lambda name: name != "_manifest.json"):
        storage.delete(posixpath.join(folder, name))
    for name in dirs:
        _delete_tree(storage, posixpath.join(folder, name))


class FileDestination(DestinationConnector):
    extension = ""
    spec = {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {"type": "string", "title": "Folder in d2d's storage; each stream gets a sub-folder"},
            "rows_per_file": {"type": "integer", "default": 1_000_000, "minimum": 1},
        },
        "additionalProperties": False,
    }

    def bucket(self) -> Bucket | None:
        """The user's own bucket when the config names one (OLake's "Amazon S3" fields), else None: d2d's storage."""
        if not self.config.get("s3_bucket"):
            return None
        return Bucket(
            name=self.config["s3_bucket"], region=self.config.get("s3_region") or "us-east-1",
            endpoint=self.config.get("s3_endpoint") or "", access_key=self.config.get("s3_access_key") or "",
            secret_key=self.config.get("s3_secret_key") or "",
        )

    def storage(self):
        """Where the files go: the config's bucket, or d2d's default storage (local or S3)."""
        if not hasattr(self, "_storage"):
            bucket = self.bucket()
            self._storage = BucketStorage(bucket) if bucket else default_storage()
        return self._storage

    def base(self) -> str:
        if self.bucket():
            # The user's bucket: s3_path is the folder (the bucket's root when empty), path one below it if given.
            prefix = clean_path(str(self.config.get("s3_path") or "").removeprefix(f"s3://{self.config['s3_bucket']}").strip("/"))
            return clean_path(self.config.get("path") or "", prefix)
        if not (self.config.get("path") or "").strip(". /"):
            raise CheckFailed("path must name a folder inside the storage")
        base = clean_path(self.config["path"], self.root)
        if not base:
            raise CheckFailed("path must name a folder inside the storage")
        return base

    def stream_folder(self, stream: Stream) -> str:
        """The stream's folder inside ``base``: never ``base`` itself, d2d's private folders, or outside it."""
        base = self.base()
        name = stream.destination_name or stream.name
        folder = clean_path(name, base)
        if folder == base or _relative(folder, base).split("/")[0].startswith(".d2d-"):
            raise CheckFailed(f"stream {stream.key}: destination name {name!r} must name a folder of its own inside {base}")
        return folder

    def check(self) -> None:
        bucket = self.bucket()
        if bucket is not None:
            bucket_check(bucket, write_prefix=self.base())
            return
        storage = default_storage()
        from django.core.files.base import ContentFile

        name = storage.save(posixpath.join(self.base(), f".d2d-check-{uuid.uuid4().hex[:8]}"), ContentFile(b"ok"))
        storage.delete(name)

    def open_stream(self, stream: Stream, *, mode: str, generation: int) -> StreamWriter:
        return _FolderWriter(self, stream, mode, generation)

    def open_parts(self, stream: Stream, *, key: str) -> "_PartsWriter | None":
        """Durable parts of a chunked full load (pipelines.chunked), private until published; None where
        the storage has no local paths (S3: there a load is written and published in one go)."""
        if local_path(self.storage(), self.base()) is None:
            return None
        return _PartsWriter(self, stream, key)

    def clear_stream(self, stream: Stream) -> None:
        storage = self.storage()
        base, folder = self.base(), self.stream_folder(stream)
        relative = _relative(folder, base)
        local = local_path(storage, folder)
        if local is None:
            _delete_tree(storage, folder)
            return
        root = os.path.realpath(local_path(storage, self.root) if self.root else storage.location)
        parent = os.path.realpath(os.path.dirname(local))
        if os.path.commonpath([root, parent]) != root:
            raise CheckFailed(f"stream {stream.key}: {folder} leads outside the project's storage folder; not cleared")
        staging = local_path(storage, posixpath.join(base, STAGING))
        if os.path.lexists(local):
            # Aside in one rename: a reader sees the whole stream or none of it, never half a folder.
            os.makedirs(staging, exist_ok=True)
            os.rename(local, os.path.join(staging, staging_name(relative)))
        mine = re.compile(rf"[0-9a-f]{{32}}-{_digest(relative)}")
        old = re.compile(rf"{re.escape(os.path.basename(local))}\.d2d-old-[0-9a-f]{{8}}")
        for where, pattern in ((staging, mine), (os.path.dirname(local), old)):
            if os.path.isdir(where):
                for entry in os.listdir(where):
                    if pattern.fullmatch(entry):
                        _remove(os.path.join(where, entry))

    # Each format implements these two.
    @abstractmethod
    def open_file(self, path: str, schema: pa.Schema): ...

    @abstractmethod
    def write_batch(self, handle, batch: pa.RecordBatch) -> None: ...

    def close_file(self, handle) -> None:
        handle.close()


class _RotatingFiles:
    """Files of one format in a local folder, a new one every ``rows_per_file`` rows: part-00000.ext, part-00001.ext, ..."""

    def __init__(self, destination: "FileDestination", folder: str, schema: pa.Schema):
        self.destination, self.folder, self.schema = destination, folder, schema
        self.rows_per_file = int(destination.config.get("rows_per_file", 1_000_000))
        self.files: list[str] = []
        self.handle, self.rows_in_file = None, 0

    def next_file(self):
        self.close()
        name = f"part-{len(self.files):05d}{self.destination.extension}"
        self.files.append(name)
        self.handle = self.destination.open_file(os.path.join(self.folder, name), self.schema)
        self.rows_in_file = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self.handle is None or self.rows_in_file >= self.rows_per_file:
            self.next_file()
        self.destination.write_batch(self.handle, batch)
        self.rows_in_file += batch.num_rows

    def close(self):
        if self.handle is not None:
            self.destination.close_file(self.handle)
            self.handle = None


class _FolderWriter(StreamWriter):
    def __init__(self, destination: FileDestination, stream: Stream, mode: str, generation: int):
        self.destination, self.stream, self.mode = destination, stream, mode
        self.storage = destination.storage()
        base = destination.base()
        folder = destination.stream_folder(stream)
        self.target = folder if mode == "replace" else posixpath.join(folder, f"inc-{generation:08d}")
        local = local_path(self.storage, base)
        if local is not None:
            private = staging_name(_relative(folder, base))
            self.staging = local_path(self.storage, posixpath.join(base, STAGING, private))
        else:
            self.staging = tempfile.mkdtemp(prefix="d2d-stage-")
        self.local = local is not None
        os.makedirs(self.staging, exist_ok=True)
        self.output = _RotatingFiles(destination, self.staging, stream.arrow_schema)

    @property
    def files(self) -> list[str]:
        return self.output.files

    def write(self, batch: pa.RecordBatch) -> None:
        self.output.write(batch)

    def publish(self) -> None:
        if not self.files and self.mode == "replace":
            self.output.next_file()  # an empty stream still gets a file with its columns
        self.output.close()
        if not self.files:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        if self.local:
            publish_folder(self.staging, self.storage.path(self.target))
            return
        self._upload()

    def _upload(self):
        """Upload under names of this publish, then the manifest (one PUT: the commit point), then drop the rest.

        A publish cut short (storage unreachable, worker lost) leaves the manifest and the files it names
        as they were: readers see the old set whole. An upload that fails removes what it had uploaded
        when storage lets it; otherwise the next publish removes the orphans.
        """
        from django.core.files import File
        from django.core.files.base import ContentFile

        folder = self.target
        old = set(self._listing(folder))
        run = uuid.uuid4().hex[:8]
        names = []
        try:
            for name in self.files:
                stem, extension = posixpath.splitext(name)
                with open(os.path.join(self.staging, name), "rb") as handle:
                    names.append(self.storage.save(posixpath.join(folder, f"{stem}-{run}{extension}"), File(handle)))
            manifest = posixpath.join(folder, "_manifest.json")
            content = ContentFile(json.dumps({"files": names}).encode())
            if isinstance(self.storage, BucketStorage):
                self.storage.save(manifest, content)  # a bucket's PUT replaces the old manifest in one request
            else:
                # _save writes under exactly this name, replacing the old manifest in one request (save() would
                # pick another name, and a delete first would leave a moment, or after a failure a folder, without one).
                self.storage._save(manifest, content)
        except BaseException:
            for name in names:
                with contextlib.suppress(Exception):  # storage may be the thing that failed; the cause is re-raised
                    self.storage.delete(name)
            raise
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        for stale in old - set(names) - {manifest}:
            self.storage.delete(stale)

    def _listing(self, folder):
        try:
            dirs, files = self.storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [posixpath.join(folder, name) for name in files]

    def abort(self) -> None:
        try:
            self.output.close()
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)


class ChunkParts(ABC):
    """The durable parts of a chunked full load (pipelines.chunked): a folder per chunk in a private folder.

    A chunk is written into a scratch folder and renamed into place when complete, so a part is
    whole or is not there; writing a chunk again replaces its part. Each destination says how it
    writes a chunk's files (``write_files``) and how it makes all of them visible (``publish``).
    """

    folder = ""

    def _part(self, index: int) -> str:
        return os.path.join(self.folder, f"chunk-{index:05d}")

    def prepare(self) -> None:
        """Remove what an attempt killed mid-write or mid-publish left: half-written chunks, a half-gathered folder."""
        os.makedirs(self.folder, exist_ok=True)
        for entry in os.listdir(self.folder):
            if entry == "ready" or entry.endswith(".tmp"):
                shutil.rmtree(os.path.join(self.folder, entry), ignore_errors=True)

    def has(self, index: int) -> bool:
        return os.path.isdir(self._part(index))

    def write_part(self, index: int, batches) -> tuple[int, int]:
        """Write one chunk's batches as its part; (rows, bytes)."""
        scratch = f"{self._part(index)}.{uuid.uuid4().hex[:8]}.tmp"
        os.makedirs(scratch)
        try:
            written = self.write_files(scratch, batches)
            shutil.rmtree(self._part(index), ignore_errors=True)
            os.rename(scratch, self._part(index))
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return written

    def part_files(self, index: int) -> list[str]:
        return [os.path.join(self._part(index), name) for name in sorted(os.listdir(self._part(index)))]

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @abstractmethod
    def write_files(self, folder: str, batches) -> tuple[int, int]:
        """Write the batches as files in ``folder``; (rows, bytes)."""

    @abstractmethod
    def publish(self, indexes: list[int]) -> None:
        """Make the parts of ``indexes`` the stream's data in one step, then remove the private folder."""


class _PartsWriter(ChunkParts):
    """Parts of a file destination: ``publish`` gathers their files into one folder and swaps it in, as a full refresh does."""

    def __init__(self, destination: "FileDestination", stream: Stream, key: str):
        self.destination, self.stream = destination, stream
        storage = destination.storage()
        base = destination.base()
        folder = destination.stream_folder(stream)
        self.target = storage.path(folder)
        self.folder = local_path(storage, posixpath.join(base, STAGING, f"{key}-{_digest(_relative(folder, base))}"))
        self.schema = stream.arrow_schema

    def write_files(self, folder: str, batches) -> tuple[int, int]:
        output = _RotatingFiles(self.destination, folder, self.schema)
        rows = nbytes = 0
        try:
            for batch in batches:
                output.write(batch)
                rows += batch.num_rows
                nbytes += batch.nbytes
        finally:
            output.close()
        return rows, nbytes

    def publish(self, indexes: list[int]) -> None:
        ready = os.path.join(self.folder, "ready")
        os.makedirs(ready)
        for index in indexes:
            for path in self.part_files(index):
                os.rename(path, os.path.join(ready, f"part-{index:05d}-{os.path.basename(path).removeprefix('part-')}"))
        if not os.listdir(ready):  # an empty stream still gets a file with its columns
            output = _RotatingFiles(self.destination, ready, self.schema)
            output.next_file()
            output.close()
        publish_folder(ready, self.target)
        shutil.rmtree(self.folder, ignore_errors=True)
