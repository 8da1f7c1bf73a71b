"""Files that survive a crash whole, and the replica's answer to a disk that fails: stop.

`write_atomically` writes a temporary file, syncs it, renames it over the target and syncs the
directory, so a crash at any point leaves the old file or the new one, never a mix or an empty
file; only after it returns may anything depend on the new content.

`fail_stop` is what the journal does when the disk refuses a write or a sync (ENOSPC, EIO): as etcd
does, the replica logs one line and exits at once. Going on would be worse either way: a write that
failed half-way leaves a torn record, and after a failed fsync the kernel may have dropped the dirty
pages, so retrying it can "succeed" without the data (the 2018 "fsyncgate"). Nothing written after
the last good sync was acknowledged, and a restart once the disk is fixed (space freed) cuts the torn
tail and rejoins.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import NoReturn, Protocol

log = logging.getLogger(__name__)

EXIT_STORAGE_FAILED = 1  # the daemons' "failed" exit code (minik8s/daemon/entry.py)
PRIVATE_FILE_MODE = 0o600


class StorageFailure(Protocol):
    def __call__(self, action: str, path: Path, error: Exception) -> NoReturn: ...


def fail_stop(action: str, path: Path, error: Exception) -> NoReturn:
    """Log why and exit the process now, from whatever thread (the Raft thread, usually)."""
    log.critical("stopping this replica: %s %s failed: %s. Nothing written after the last successful "
                 "sync was acknowledged; restart it once the disk is fixed (space freed) and it recovers "
                 "from its journal", action, path, getattr(error, "strerror", None) or error)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(EXIT_STORAGE_FAILED)


def sync_directory(folder: Path) -> None:
    """Make the names in `folder` (a rename, a new or removed file) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_all(descriptor: int, data: bytes | memoryview, offset: int) -> None:
    """pwrite until every byte is written (a short write is possible, e.g. as the disk fills)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        view, offset = view[written:], offset + written


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` by `data`: temporary file, fsync, rename, fsync of the directory."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        write_all(descriptor, data, 0)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    sync_directory(path.parent)
