"""A disk that fills up: a small tmpfs as one replica's data directory, and a file that takes its space.

The replica must stop acknowledging (it cannot journal) without corrupting anything, and serve again
once the space is back. The mount is the suite's own and is always unmounted afterwards (root only).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

FILLER = ".filler"
CHUNK = 1024 * 1024


def available() -> str | None:
    """Why a tmpfs cannot be mounted here (None when it can)."""
    return None if os.geteuid() == 0 else "mounting a tmpfs needs root"


def mount_tmpfs(target: Path, size_bytes: int) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(target)],
                   check=True, capture_output=True, timeout=30)


def unmount(target: Path) -> None:
    """Unmount (lazily when a killed replica's files are still being let go); a path not mounted is fine."""
    if os.path.ismount(target):
        subprocess.run(["umount", "-l", str(target)], check=True, capture_output=True, timeout=30)


def fill(folder: Path) -> int:
    """Take every free byte of the folder's filesystem with one file; the bytes taken."""
    taken = 0
    block = b"\0" * CHUNK
    with (folder / FILLER).open("wb", buffering=0) as filler:
        while True:
            try:
                taken += filler.write(block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                break
    return taken


def free(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (folder / FILLER).unlink()
