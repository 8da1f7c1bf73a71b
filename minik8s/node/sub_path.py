"""subPath mounts without the check-then-mount race, as the kubelet makes them.

A container that can write into a volume can swap a directory of it for a symlink to `/`
between the moment the agent checks the subPath and the moment Docker mounts it; Docker
would then follow the symlink and mount the host's root. The kubelet's answer
(pkg/volume/util/subpath) is followed here:

1. resolve the subPath's symlinks and refuse a result outside the volume;
2. open that resolved path one component at a time from the volume's root (`openat` with
   O_NOFOLLOW), creating missing directories on the way, and refuse any symlink met: the
   file descriptor then names the very directory (or file) that was checked;
3. bind-mount `/proc/self/fd/N` (that exact inode, whatever the path shows by now) onto a
   path under the pod's directory that no container can reach
   (`volume-subpaths/<volume>/<container>/<index>`), and give Docker that path.

Steps 1 and 2 are `open_sub_path`; 3 is `bind_sub_path`. The bind survives until the pod's
directory is removed (mounts.remove_pod_directory), or is replaced when the container is made again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath

from minik8s.node.env import ConfigError
from minik8s.node.mounts import Mounter

OPEN_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SubPathEscape(ConfigError):
    """The subPath leads out of its volume (or was swapped for a symlink while it was opened)."""


def within(root: Path, sub_path: str) -> PurePosixPath:
    """The subPath with its symlinks resolved, relative to the (resolved) volume root; SubPathEscape outside it."""
    resolved = Path(os.path.realpath(root / sub_path))
    if not resolved.is_relative_to(root):
        raise SubPathEscape(f"subpath {str(resolved)!r} not within volume path {str(root)!r}")
    return PurePosixPath(resolved.relative_to(root))


def _open_child(parent: int, name: str, *, create_mode: int | None) -> int:
    """openat(parent, name) without following a symlink; a missing directory is made when asked."""
    try:
        child = os.open(name, OPEN_PATH, dir_fd=parent)
    except FileNotFoundError:
        if create_mode is None:
            raise
        with contextlib.suppress(FileExistsError):  # made meanwhile: checked below like any other
            os.mkdir(name, create_mode, dir_fd=parent)
        directory = os.open(name, OPEN_DIRECTORY, dir_fd=parent)  # fails on a symlink (ELOOP)
        try:
            os.fchmod(directory, create_mode)  # mkdir's mode is cut by the umask
        finally:
            os.close(directory)
        child = os.open(name, OPEN_PATH, dir_fd=parent)
    if stat.S_ISLNK(os.fstat(child).st_mode):
        os.close(child)
        raise SubPathEscape(f"path component {name!r} is a symlink")
    return child


def open_sub_path(root: Path, sub_path: str, *, create_mode: int | None = None) -> int:
    """An O_PATH descriptor of `root/sub_path`, reached without following any symlink.

    `root` must be resolved. Symlinks inside the subPath are resolved first and must stay in the
    volume; the walk then meets none, or the path changed under it (SubPathEscape). Missing
    directories are created with `create_mode` (None: FileNotFoundError)."""
    relative = within(root, sub_path)
    current = os.open(root, OPEN_PATH | os.O_DIRECTORY)
    try:
        for part in relative.parts:
            child = _open_child(current, part, create_mode=create_mode)
            os.close(current)
            current = child
    except BaseException as error:
        os.close(current)
        if isinstance(error, OSError) and error.errno == errno.ELOOP:  # a symlink swapped in as it was made
            raise SubPathEscape(f"path component of {sub_path!r} is a symlink") from error
        raise
    return current


def sub_path_target(pod_dir: Path, volume: str, container: str, index: int) -> Path:
    """Where the kubelet binds a subPath: under the pod's directory, out of every container's reach."""
    return pod_dir / "volume-subpaths" / volume / container / str(index)


def _prepare_target(target: Path, *, directory: bool, mounter: Mounter) -> None:
    """An empty directory (or file) to bind onto; a bind left from an earlier container is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        mounter.unmount(target)  # an earlier container's bind: this one is made afresh
        if target.is_dir() != directory or target.is_symlink():
            if target.is_dir() and not target.is_symlink():
                target.rmdir()
            else:
                target.unlink()
    if directory:
        target.mkdir(exist_ok=True)
    else:
        target.touch(exist_ok=True)


def bind_sub_path(volume_path: Path, sub_path: str, target: Path, mounter: Mounter, *,
                  create_mode: int | None) -> None:
    """Bind `volume_path/sub_path` onto `target` through a descriptor of the checked path."""
    root = Path(os.path.realpath(volume_path))
    descriptor = open_sub_path(root, sub_path, create_mode=create_mode)
    try:
        is_directory = stat.S_ISDIR(os.fstat(descriptor).st_mode)
        _prepare_target(target, directory=is_directory, mounter=mounter)
        mounter.bind(f"/proc/self/fd/{descriptor}", target)
    finally:
        os.close(descriptor)
