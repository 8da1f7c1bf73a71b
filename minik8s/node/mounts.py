"""The mounts the node agent makes under a pod's directory, and their safe removal.

Two kinds, both as the kubelet makes them: a tmpfs for each volume that must never reach the
disk (secret, projected and downwardAPI volumes, `emptyDir` with `medium: Memory`), and a bind
mount for each subPath (sub_path.py), made from a file descriptor so that nothing a container
does inside its volume can redirect it. Both need root (CAP_SYS_ADMIN): the agent is started
as root; without it a mount fails with a clear error instead of falling back to the disk.

A pod's directory is removed only once nothing is mounted under it any more: `shutil.rmtree`
does not stop at mount points, and a subPath bind of a hostPath volume would otherwise take
the host's files with it. Which mounts exist is read from /proc/self/mountinfo (parsed purely).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

log = logging.getLogger(__name__)

MOUNTINFO: Final = Path("/proc/self/mountinfo")
MS_NOSUID: Final = 0x2
MS_NODEV: Final = 0x4
MS_BIND: Final = 0x1000
MNT_DETACH: Final = 0x2
TMPFS_DIR_MODE: Final = 0o755
UNMOUNT_ROUNDS: Final = 4


class MountError(OSError):
    """A mount the agent needs could not be made (or removed)."""


class Mounter(Protocol):
    """The mount operations the agent performs; `HostMounter` does them, tests record them."""

    def mount_tmpfs(self, target: Path, *, size_bytes: int | None) -> None: ...

    def bind(self, source: str, target: Path) -> None: ...

    def unmount(self, target: Path) -> None: ...

    def is_mount_point(self, path: Path) -> bool: ...


def tmpfs_options(size_bytes: int | None) -> str:
    options = f"mode={TMPFS_DIR_MODE:o}"
    return options if size_bytes is None else f"{options},size={size_bytes}"


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in a path as octal escapes (`\\040`)."""
    out, index = [], 0
    while index < len(field):
        if field[index] == "\\" and field[index + 1:index + 4].isdigit():
            out.append(chr(int(field[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def mount_points(mountinfo: str) -> list[str]:
    """Every mount point in a mountinfo text (its fifth field), in mount order."""
    return [_unescape(line.split(" ")[4]) for line in mountinfo.splitlines() if len(line.split(" ")) > 4]


def mount_points_under(mountinfo: str, directory: str) -> list[str]:
    """Mount points at or below `directory` (an absolute, resolved path), innermost (last mounted) first."""
    prefix = directory.rstrip("/") + "/"
    found = [point for point in mount_points(mountinfo) if point == directory or point.startswith(prefix)]
    return list(reversed(list(dict.fromkeys(found))))


class HostMounter:
    """mount(2) and umount2(2) through libc: no helper binary, the agent's own privileges."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

    def _mount(self, source: str, target: Path, fstype: str | None, flags: int, data: str | None) -> None:
        result = self._libc.mount(source.encode(), str(target).encode(), fstype.encode() if fstype else None,
                                  ctypes.c_ulong(flags), data.encode() if data else None)
        if result != 0:
            code = ctypes.get_errno()
            hint = " (the node agent must run as root to mount)" if code in (errno.EPERM, errno.EACCES) else ""
            raise MountError(code, f"mounting {fstype or 'bind of ' + source} at {target}: {os.strerror(code)}{hint}")

    def mount_tmpfs(self, target: Path, *, size_bytes: int | None) -> None:
        self._mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_options(size_bytes))

    def bind(self, source: str, target: Path) -> None:
        self._mount(source, target, None, MS_BIND, None)

    def is_mount_point(self, path: Path) -> bool:
        """Whether a separate file system is mounted at `path` (a tmpfs has a device of its own)."""
        try:
            return path.lstat().st_dev != path.parent.lstat().st_dev
        except OSError:
            return False

    def unmount(self, target: Path) -> None:
        if self._libc.umount2(str(target).encode(), MNT_DETACH) != 0:
            code = ctypes.get_errno()
            if code != errno.EINVAL:  # EINVAL: nothing is mounted there (any more)
                raise MountError(code, f"unmounting {target}: {os.strerror(code)}")


def ensure_tmpfs(path: Path, mounter: Mounter, *, size_bytes: int | None) -> bool:
    """A tmpfs mounted at `path` (created when missing); True when it was mounted now."""
    if path.is_dir() and mounter.is_mount_point(path):
        return False
    path.mkdir(parents=True, exist_ok=True)
    mounter.mount_tmpfs(path, size_bytes=size_bytes)
    return True


def read_mountinfo() -> str:
    return MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")


def unmount_all_under(directory: Path, mounter: Mounter, *,
                      mountinfo: Callable[[], str] = read_mountinfo) -> list[str]:
    """Unmount everything at or below `directory`; the mount points still there afterwards."""
    resolved = os.path.realpath(directory)
    remaining = mount_points_under(mountinfo(), resolved)
    for _ in range(UNMOUNT_ROUNDS):  # a point mounted twice needs a second round
        if not remaining:
            break
        for point in remaining:
            try:
                mounter.unmount(Path(point))
            except MountError as error:
                log.warning("%s", error)
        left = mount_points_under(mountinfo(), resolved)
        if left == remaining:
            break  # no progress: leave them
        remaining = left
    return remaining


def remove_pod_directory(pod_dir: Path, mounter: Mounter, *, mountinfo: Callable[[], str] = read_mountinfo) -> bool:
    """Unmount the pod's tmpfs volumes and subPath binds, then delete its directory; True when it went.

    Anything left mounted (or mountinfo unreadable) keeps the directory: deleting through a mount
    would delete what it shows."""
    if not os.path.lexists(pod_dir):
        return True
    try:
        remaining = unmount_all_under(pod_dir, mounter, mountinfo=mountinfo)
    except OSError as error:
        log.error("not removing %s: cannot tell what is mounted under it (%s)", pod_dir, error)
        return False
    if remaining:
        log.error("not removing %s: still mounted under it: %s", pod_dir, ", ".join(remaining))
        return False
    shutil.rmtree(pod_dir, ignore_errors=True)
    return not os.path.lexists(pod_dir)
