"""A subPath is opened without following symlinks and bound from that descriptor: a container that swaps
part of its volume for a symlink to `/` between the check and the mount gets its own directory, not the host's."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest

from minik8s.node import sub_path
from minik8s.node.env import ConfigError
from minik8s.node.sub_path import SubPathEscape, bind_sub_path, open_sub_path, sub_path_target
from minik8s.node.volume_mounts import SubPathBinds, container_mounts
from tests.support.mounts import RecordingMounter


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    root = tmp_path / "pod" / "volumes" / "data"
    (root / "db").mkdir(parents=True)
    (root / "db" / "mine").write_text("the pod's own")
    return root


def swap_for_symlink(path: Path, destination: str) -> None:
    """What a container with the volume mounted can do at any moment: replace a directory by a symlink."""
    os.rename(path, path.with_name(path.name + ".old"))
    os.symlink(destination, path)


def test_the_descriptor_names_the_checked_directory(volume: Path) -> None:
    descriptor = open_sub_path(volume.resolve(), "db")
    try:
        assert os.fstat(descriptor).st_ino == (volume / "db").stat().st_ino
    finally:
        os.close(descriptor)


def test_a_symlink_swapped_to_root_after_the_open_changes_nothing(volume: Path) -> None:
    descriptor = open_sub_path(volume.resolve(), "db")
    try:
        swap_for_symlink(volume / "db", "/")
        reached = f"/proc/self/fd/{descriptor}"
        assert os.stat(reached).st_ino != os.stat("/").st_ino
        assert os.listdir(reached) == ["mine"]
    finally:
        os.close(descriptor)


def test_a_symlink_swapped_in_between_the_check_and_the_open_is_refused(volume: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    checked = sub_path.within(volume.resolve(), "db")  # the check sees a directory …
    swap_for_symlink(volume / "db", "/")  # … then the container swaps it
    monkeypatch.setattr(sub_path, "within", lambda root, path: checked)
    with pytest.raises(SubPathEscape, match="is a symlink"):
        open_sub_path(volume.resolve(), "db")


def test_a_symlink_that_leads_out_of_the_volume_is_refused(volume: Path) -> None:
    os.symlink("/", volume / "escape")
    with pytest.raises(SubPathEscape, match="not within volume path"):
        open_sub_path(volume.resolve(), "escape/etc")


def test_a_symlink_that_stays_in_the_volume_is_followed(volume: Path) -> None:
    os.symlink("db", volume / "alias")
    descriptor = open_sub_path(volume.resolve(), "alias")
    try:
        assert os.fstat(descriptor).st_ino == (volume / "db").stat().st_ino
    finally:
        os.close(descriptor)


def test_missing_directories_are_made_with_the_mode_asked(volume: Path) -> None:
    os.close(open_sub_path(volume.resolve(), "new/deeper", create_mode=0o2775))
    assert stat.S_IMODE((volume / "new" / "deeper").stat().st_mode) == 0o2775
    with pytest.raises(FileNotFoundError):
        open_sub_path(volume.resolve(), "absent")


def test_the_bind_is_made_from_the_descriptor_even_when_the_path_is_swapped_meanwhile(volume: Path,
                                                                                      tmp_path: Path) -> None:
    """The race itself: the container swaps `db` for a symlink to `/` right before the mount is made."""
    mounter = RecordingMounter()
    seen: list[list[str]] = []

    def at_bind(source: str, target: Path) -> None:
        swap_for_symlink(volume / "db", "/")
        seen.append(sorted(os.listdir(source)))  # what a bind of `source` would show

    mounter.on_bind = at_bind
    target = sub_path_target(tmp_path / "pod", "data", "web", 0)
    bind_sub_path(volume, "db", target, mounter, create_mode=None)
    assert seen == [["mine"]]
    [(kind, source, bound)] = mounter.calls
    assert kind == "bind" and source.startswith("/proc/self/fd/") and bound == str(target)
    assert target.is_dir() and target.relative_to(tmp_path / "pod") == Path("volume-subpaths/data/web/0")


def test_a_file_sub_path_is_bound_onto_a_file_and_a_second_container_rebinds(volume: Path, tmp_path: Path) -> None:
    mounter = RecordingMounter()
    target = sub_path_target(tmp_path / "pod", "data", "web", 1)
    bind_sub_path(volume, "db/mine", target, mounter, create_mode=None)
    assert target.is_file()
    bind_sub_path(volume, "db/mine", target, mounter, create_mode=None)
    assert [call[0] for call in mounter.calls] == ["bind", "unmount", "bind"]


def test_container_mounts_hand_docker_the_bound_path(volume: Path, tmp_path: Path) -> None:
    mounter = RecordingMounter()
    container = {"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/all"},
                                                 {"name": "data", "mountPath": "/db", "subPath": "db"}]}
    mounts = container_mounts(container, {"data": volume}, binds=SubPathBinds(tmp_path / "pod", mounter))
    assert [mount.source for mount in mounts] == [str(volume), str(tmp_path / "pod/volume-subpaths/data/web/1")]


def test_a_sub_path_that_cannot_be_bound_is_a_config_error(volume: Path, tmp_path: Path) -> None:
    container = {"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/db", "subPath": "db"}]}
    with pytest.raises(ConfigError, match='failed to prepare subPath for volumeMount "data" of container "web"'):
        container_mounts(container, {"data": volume}, binds=SubPathBinds(tmp_path / "pod", RecordingMounter(refuse=True)))


def test_a_sub_path_through_a_file_cannot_be_created(volume: Path) -> None:
    container = {"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "db/mine/below"}]}
    with pytest.raises(ConfigError, match='failed to create subPath directory for volumeMount "data"'):
        container_mounts(container, {"data": volume})


def test_the_checked_path_is_relative_to_the_resolved_volume(volume: Path) -> None:
    assert sub_path.within(volume.resolve(), "db/./mine") == PurePosixPath("db/mine")
