"""Writers of one embedded store folder: serialized in a process, one process at a time.

Chroma's embedded client is thread-safe but not process-safe. Within a process, every
:class:`~langchain_cogenesis.retrievers.store.PrivateStore` on one folder shares a
:class:`Folder` and its write lock; across processes, the first one to write holds the
folder's lock file (:data:`LOCK_FILE`) and a second writer gets
:class:`~langchain_cogenesis.errors.StoreLocked`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.errors import StoreLocked

LOCK_FILE = "cogenesis-writer.lock"


class Folder:
    """Per store folder, in this process: one write lock and the writer lock file."""

    def __init__(self) -> None:
        self.write_lock = threading.RLock()
        self.lock_fd: int | None = None
        self.holders = 0
        # collections whose index passed the probe: bounded, and probed again hourly
        self.checked: BoundedCache[str, bool] = BoundedCache(max_size=4096, max_age=3600.0)


_folders: dict[str, Folder] = {}
_folders_lock = threading.Lock()


def folder_for(location: str) -> Folder:
    """The one :class:`Folder` of ``location`` in this process."""
    with _folders_lock:
        return _folders.setdefault(location, Folder())


def acquire_writer(path: Path, folder: Folder) -> None:
    """Hold the store's lock file for this process; refuse when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer is the user's duty
        return
    with _folders_lock:
        if folder.lock_fd is not None:
            folder.holders += 1
            return
        lock_path = path / LOCK_FILE
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(
                f"Another process (pid {holder}) is writing to the store at {path}. "
                "Chroma's embedded store is not safe for several processes: stop that "
                "process, or serve the store with `chroma run --path "
                f"{path}` and set COGENESIS_CHROMA_URL (or chroma_url=) in every process. "
                "Nothing was written."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        folder.lock_fd, folder.holders = fd, 1


def release_writer(folder: Folder) -> None:
    """Give up one hold on the lock file; the last one closes it."""
    with _folders_lock:
        if folder.lock_fd is None:
            return
        folder.holders -= 1
        if folder.holders <= 0:
            os.close(folder.lock_fd)  # closing the descriptor releases the flock
            folder.lock_fd, folder.holders = None, 0
