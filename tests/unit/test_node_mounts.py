"""What the agent mounts under a pod's directory is found again, and nothing is deleted through a mount."""

from __future__ import annotations

from pathlib import Path

from minik8s.node.mounts import (
    ensure_tmpfs,
    mount_points,
    mount_points_under,
    remove_pod_directory,
    tmpfs_options,
)
from tests.support.mounts import RecordingMounter

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
40 22 0:50 / /data/pods/abc/volumes/token rw,nosuid,nodev shared:20 - tmpfs tmpfs rw,mode=755
41 22 8:1 /srv/www /data/pods/abc/volume-subpaths/site/web/0 rw shared:1 - ext4 /dev/sda1 rw
42 22 0:51 / /data/pods/abcd/volumes/token rw shared:21 - tmpfs tmpfs rw
43 22 0:52 / /data/pods/abc/volumes/with\\040space rw shared:22 - tmpfs tmpfs rw
"""


def test_mount_points_are_read_with_their_escapes() -> None:
    assert mount_points(MOUNTINFO) == ["/", "/data/pods/abc/volumes/token", "/data/pods/abc/volume-subpaths/site/web/0",
                                       "/data/pods/abcd/volumes/token", "/data/pods/abc/volumes/with space"]


def test_the_mounts_of_one_pod_are_found_innermost_first_and_no_other_pods() -> None:
    assert mount_points_under(MOUNTINFO, "/data/pods/abc") == [
        "/data/pods/abc/volumes/with space", "/data/pods/abc/volume-subpaths/site/web/0",
        "/data/pods/abc/volumes/token"]


def test_a_tmpfs_is_private_to_root_writes_and_sized_when_asked() -> None:
    assert tmpfs_options(None) == "mode=755"
    assert tmpfs_options(64 * 2**20) == "mode=755,size=67108864"


def test_a_tmpfs_is_mounted_once(tmp_path: Path) -> None:
    mounter = RecordingMounter()
    assert ensure_tmpfs(tmp_path / "vol", mounter, size_bytes=None) is True
    assert ensure_tmpfs(tmp_path / "vol", mounter, size_bytes=None) is False
    assert mounter.calls == [("tmpfs", str(tmp_path / "vol"), "None")]


def test_a_pod_directory_goes_once_its_mounts_are_gone(tmp_path: Path) -> None:
    pod_dir = tmp_path / "pods" / "abc"
    (pod_dir / "volumes" / "token").mkdir(parents=True)
    (pod_dir / "volume-subpaths" / "site" / "web" / "0").mkdir(parents=True)
    mounter = RecordingMounter()
    mounter.points = [str(pod_dir / "volumes" / "token"), str(pod_dir / "volume-subpaths" / "site" / "web" / "0")]
    assert remove_pod_directory(pod_dir, mounter, mountinfo=mounter.mountinfo) is True
    assert not pod_dir.exists() and mounter.points == []
    assert [call[0] for call in mounter.calls] == ["unmount", "unmount"]


def test_a_pod_directory_with_a_mount_that_stays_is_kept_with_what_the_mount_shows(tmp_path: Path) -> None:
    """A subPath bind of a hostPath volume shows the host's files: deleting through it would delete them."""
    pod_dir = tmp_path / "pods" / "abc"
    bound = pod_dir / "volume-subpaths" / "host" / "web" / "0"
    bound.mkdir(parents=True)
    (bound / "host-file").write_text("the host's")
    mounter = RecordingMounter()
    mounter.points = [str(bound)]
    mounter.stuck = {str(bound)}
    assert remove_pod_directory(pod_dir, mounter, mountinfo=mounter.mountinfo) is False
    assert (bound / "host-file").read_text() == "the host's"


def test_a_pod_directory_is_kept_when_its_mounts_cannot_be_read(tmp_path: Path) -> None:
    pod_dir = tmp_path / "pods" / "abc"
    pod_dir.mkdir(parents=True)

    def unreadable() -> str:
        raise PermissionError("no /proc here")

    assert remove_pod_directory(pod_dir, RecordingMounter(), mountinfo=unreadable) is False
    assert pod_dir.exists()


def test_a_missing_pod_directory_is_nothing_to_do(tmp_path: Path) -> None:
    assert remove_pod_directory(tmp_path / "gone", RecordingMounter(), mountinfo=lambda: "") is True
