"""A value that every process on this host sees change at once, and reads without a system call.

A process may keep something in its own memory (accounts keeps live API tokens there) for as long
as this value has not changed since it read it; whoever makes such copies stale, in any process
on the host (web server, worker, ``manage.py``), changes the value. It lives in a small file that
every process maps into memory shared with the others (``mmap``, ``MAP_SHARED``), so reading it is
a memory read: no file is opened and the GIL is not released. Under concurrent requests that is
what matters: reading even a tiny cache file per request cost a fifth of the status endpoint's
throughput, mostly in threads waiting to get the GIL back after each system call (docs/load.md).

A change writes 8 fresh random bytes. A reader that catches a half-written value holds a value
that differs from the old one and from the new one, which only costs it a miss. Only processes
that map the same file see a change, so this is for one host with one data dir: with several
hosts, use a shared cache instead. A process keeps the file it mapped first; a file deleted while
d2d runs is not noticed until its processes restart.
"""

import logging
import mmap
import os
import secrets
import threading

logger = logging.getLogger(__name__)

SIZE = 8


class HostGeneration:
    """The shared value behind ``path``: ``read()`` it before reading what it guards, ``change()`` it
    after making that stale. Both answer None / do nothing when the file cannot be mapped."""

    def __init__(self, path: str):
        self.path = str(path)
        self._map: mmap.mmap | None = None
        self._unavailable = False
        self._lock = threading.Lock()

    def read(self) -> bytes | None:
        mapping = self._map or self._mapping()
        return None if mapping is None else mapping[:SIZE]

    def change(self) -> None:
        mapping = self._map or self._mapping()
        if mapping is not None:
            mapping[:SIZE] = secrets.token_bytes(SIZE)

    def _mapping(self) -> mmap.mmap | None:
        with self._lock:
            if self._map is None and not self._unavailable:
                try:
                    self._map = self._open()
                except OSError as exc:
                    self._unavailable = True
                    logger.warning("host generation file %s unusable (%s): copies in process memory are off", self.path, exc)
            return self._map

    def _open(self) -> mmap.mmap:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < SIZE:
                os.ftruncate(descriptor, SIZE)  # growing only: a file another process made stays as it is
            return mmap.mmap(descriptor, SIZE)  # MAP_SHARED, read and write: the mapping outlives the descriptor
        finally:
            os.close(descriptor)
