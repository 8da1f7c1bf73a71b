"""The agent's real mounts, made as root: a Secret volume on a tmpfs, a subPath bound from a descriptor that a
symlink swapped to `/` cannot redirect, and a pod directory removed only after all of it is unmounted."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minik8s.node.mounts import (
    HostMounter,
    mount_points_under,
    read_mountinfo,
    remove_pod_directory,
    unmount_all_under,
)
from minik8s.node.volume_mounts import SubPathBinds, container_mounts
from minik8s.node.volumes import prepare_volumes
from tests.support.requirements import unavailable

SECRET = {"data": {"password": base64.b64encode(b"s3cret").decode()}}


def filesystem_of(path: Path) -> str:
    """The file system type mountinfo gives for the mount at `path`."""
    for line in read_mountinfo().splitlines():
        fields = line.split(" ")
        if fields[4] == os.path.realpath(path):
            return fields[fields.index("-") + 1]
    return ""


@pytest.fixture
def pod_dir(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        unavailable("mounting needs root (the node agent runs as root)")
    directory = tmp_path / "pods" / "u1"
    directory.mkdir(parents=True)
    yield directory
    unmount_all_under(tmp_path, HostMounter())  # whatever a failed test left behind


def pod_with(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"volumes": list(volumes), "containers": [{"name": "app"}]}}


def test_a_secret_volume_is_a_tmpfs_and_goes_with_the_pod(pod_dir: Path) -> None:
    mounter = HostMounter()
    paths = prepare_volumes(pod_with({"name": "s", "secret": {"secretName": "creds"}}), pod_dir=pod_dir,
                            lookup=lambda kind, namespace, name: SECRET, mounter=mounter)
    assert filesystem_of(paths["s"]) == "tmpfs"
    assert (paths["s"] / "password").read_bytes() == b"s3cret"
    assert remove_pod_directory(pod_dir, mounter) is True
    assert not pod_dir.exists() and not mount_points_under(read_mountinfo(), os.path.realpath(pod_dir))


def test_a_sub_path_swapped_for_a_symlink_to_root_still_shows_the_volume(pod_dir: Path, tmp_path: Path) -> None:
    host = tmp_path / "host-data"  # a hostPath volume: what the bind shows belongs to the host
    (host / "db").mkdir(parents=True)
    (host / "db" / "rows").write_text("kept")
    mounter = HostMounter()
    container = {"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/db", "subPath": "db"}]}
    [mount] = container_mounts(container, {"data": host}, binds=SubPathBinds(pod_dir, mounter))
    os.rename(host / "db", host / "db.old")
    os.symlink("/", host / "db")  # what a container with the volume mounted can do after the check
    assert sorted(os.listdir(mount.source)) == ["rows"]  # what Docker mounts: the directory that was checked
    assert remove_pod_directory(pod_dir, mounter) is True
    assert (host / "db.old" / "rows").read_text() == "kept"  # removing the pod took nothing of the host's
