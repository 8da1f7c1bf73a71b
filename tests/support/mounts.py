"""A recording stand-in for the agent's mounter: tests see which mounts were asked for, no root needed.

It keeps a mountinfo of its own: a tmpfs "mounted" here is a mount point until unmounted, and
`mountinfo()` renders the table as /proc/self/mountinfo would, for `remove_pod_directory`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from minik8s.node.mounts import MountError


class RecordingMounter:
    def __init__(self, *, refuse: bool = False) -> None:
        self.points: list[str] = []  # mount points, in mount order
        self.calls: list[tuple[str, ...]] = []
        self.refuse = refuse  # every mount fails as it does for a non-root agent
        self.stuck: set[str] = set()  # mount points that refuse to be unmounted
        self.on_bind: Callable[[str, Path], None] | None = None  # runs when a bind is asked for

    def mount_tmpfs(self, target: Path, *, size_bytes: int | None) -> None:
        self.calls.append(("tmpfs", str(target), str(size_bytes)))
        if self.refuse:
            raise MountError(errno.EPERM, f"mounting tmpfs at {target}: Operation not permitted")
        self.points.append(os.path.realpath(target))

    def bind(self, source: str, target: Path) -> None:
        self.calls.append(("bind", source, str(target)))
        if self.on_bind is not None:
            self.on_bind(source, target)
        if self.refuse:
            raise MountError(errno.EPERM, f"binding {source} at {target}: Operation not permitted")
        self.points.append(os.path.realpath(target))

    def unmount(self, target: Path) -> None:
        self.calls.append(("unmount", str(target)))
        point = os.path.realpath(target)
        if point in self.stuck:
            raise MountError(errno.EBUSY, f"unmounting {target}: Device or resource busy")
        if point in self.points:
            self.points.reverse()
            self.points.remove(point)
            self.points.reverse()

    def is_mount_point(self, path: Path) -> bool:
        return os.path.realpath(path) in self.points

    def mountinfo(self) -> str:
        lines = ["22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"]
        lines += [f"{30 + index} 22 0:{40 + index} / {point.replace(' ', chr(92) + '040')} rw shared:2 - tmpfs tmpfs rw"
                  for index, point in enumerate(self.points)]
        return "\n".join(lines) + "\n"
