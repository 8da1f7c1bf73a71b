"""Volumes as the kubelet secures them: Secrets (and every secret-bearing volume) in memory, never on disk;
an fsGroup owning the pod's volumes; projected tokens private to the pod's user."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from minik8s.node.env import ConfigError
from minik8s.node.projection import TokenSource
from minik8s.node.volumes import apply_volume, plan_volumes, prepare_volumes
from tests.support.mounts import RecordingMounter

SECRET = {"data": {"password": base64.b64encode(b"s3cret").decode()}}
CONFIG = {"data": {"app.conf": "port=80"}}
TOKEN = TokenSource("", 3600)  # no expirationSeconds: an hour
# As root (the agent, and CI) any group will do; otherwise one the test may give its files.
FS_GROUP = 4321 if os.geteuid() == 0 else os.getgid()


def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return {("Secret", "creds"): SECRET, ("ConfigMap", "web"): CONFIG}.get((kind, name))


def pod_with(*volumes: dict[str, Any], pod_context: dict[str, Any] | None = None,
             containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"volumes": list(volumes), "containers": containers or [{"name": "app"}]}
    if pod_context is not None:
        spec["securityContext"] = pod_context
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": spec}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


TOKEN_VOLUME = {"name": "api", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}},
                                                         {"secret": {"name": "creds"}}]}}
SECRET_VOLUME = {"name": "s", "secret": {"secretName": "creds"}}


@pytest.mark.parametrize(("volume", "medium", "size"), [
    (SECRET_VOLUME, "memory", None),
    (TOKEN_VOLUME, "memory", None),
    ({"name": "d", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
     "memory", None),
    ({"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}, "memory", 64 * 2**20),
    ({"name": "e", "emptyDir": {}}, "disk", None),
    ({"name": "c", "configMap": {"name": "web"}}, "disk", None),
])
def test_secret_bearing_volumes_and_memory_empty_dirs_live_in_memory(tmp_path: Path, volume: dict[str, Any],
                                                                     medium: str, size: int | None) -> None:
    [plan] = plan_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup, tokens={TOKEN: "t"})
    assert (plan.medium, plan.size_bytes) == (medium, size)


def test_a_secret_volume_is_a_tmpfs_mounted_before_any_file_is_written(tmp_path: Path) -> None:
    mounter = RecordingMounter()
    written_after_mount: list[bool] = []
    original = mounter.mount_tmpfs

    def mount_then_check(target: Path, *, size_bytes: int | None) -> None:
        written_after_mount.append(not any(target.iterdir()))
        original(target, size_bytes=size_bytes)

    mounter.mount_tmpfs = mount_then_check  # type: ignore[method-assign]
    paths = prepare_volumes(pod_with(SECRET_VOLUME), pod_dir=tmp_path, lookup=lookup, mounter=mounter)
    assert mounter.calls == [("tmpfs", str(tmp_path / "volumes" / "s"), "None")]
    assert written_after_mount == [True]
    assert (paths["s"] / "password").read_bytes() == b"s3cret" and mode_of(paths["s"] / "password") == 0o644
    prepare_volumes(pod_with(SECRET_VOLUME), pod_dir=tmp_path, lookup=lookup, mounter=mounter)
    assert len(mounter.calls) == 1  # mounted once; a resync rewrites only what changed


def test_a_secret_is_never_written_to_disk_when_no_tmpfs_can_be_mounted(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot keep volume 's' in memory: .*Operation not permitted"):
        prepare_volumes(pod_with(SECRET_VOLUME), pod_dir=tmp_path, lookup=lookup, mounter=RecordingMounter(refuse=True))
    assert not (tmp_path / "volumes" / "s" / "password").exists()


def test_a_memory_empty_dir_gets_its_size_limit_and_stays_world_writable(tmp_path: Path) -> None:
    mounter = RecordingMounter()
    volume = {"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup, mounter=mounter)
    assert mounter.calls == [("tmpfs", str(paths["m"]), str(2**20))]
    assert mode_of(paths["m"]) == 0o777


def test_an_fs_group_owns_an_empty_dir_with_group_write_and_setgid(tmp_path: Path) -> None:
    pod = pod_with({"name": "e", "emptyDir": {}}, pod_context={"fsGroup": FS_GROUP})
    directory = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)["e"]
    assert directory.stat().st_gid == FS_GROUP
    assert mode_of(directory) == 0o777 | stat.S_ISGID


def test_an_fs_group_owns_secret_files_group_readable(tmp_path: Path) -> None:
    volume = {"name": "s", "secret": {"secretName": "creds", "defaultMode": 0o400}}
    directory = prepare_volumes(pod_with(volume, pod_context={"fsGroup": FS_GROUP}), pod_dir=tmp_path,
                                lookup=lookup)["s"]
    assert (directory / "password").stat().st_gid == FS_GROUP and mode_of(directory / "password") == 0o440
    assert directory.stat().st_gid == FS_GROUP and mode_of(directory) == 0o755 | stat.S_ISGID
    inode = (directory / "password").stat().st_ino
    prepare_volumes(pod_with(volume, pod_context={"fsGroup": FS_GROUP}), pod_dir=tmp_path, lookup=lookup)
    assert (directory / "password").stat().st_ino == inode  # already right: not rewritten at each resync


def test_a_projected_token_is_private_once_the_pod_has_an_fs_group(tmp_path: Path) -> None:
    pod = pod_with(TOKEN_VOLUME, pod_context={"fsGroup": FS_GROUP})
    directory = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup, tokens={TOKEN: "t"})["api"]
    assert mode_of(directory / "token") == 0o640 and (directory / "token").stat().st_gid == FS_GROUP
    assert mode_of(directory / "password") == 0o644  # the other sources keep the volume's mode


def test_a_projected_token_belongs_to_the_user_every_container_runs_as(tmp_path: Path) -> None:
    user = 1000 if os.geteuid() == 0 else os.getuid()
    pod = pod_with(TOKEN_VOLUME, pod_context={"runAsUser": user}, containers=[{"name": "a"}, {"name": "b"}])
    directory = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup, tokens={TOKEN: "t"})["api"]
    assert mode_of(directory / "token") == 0o600 and (directory / "token").stat().st_uid == user


def test_a_host_path_is_never_chowned_to_the_fs_group(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    before = host.stat()
    [plan] = plan_volumes(pod_with({"name": "h", "hostPath": {"path": str(host)}}, pod_context={"fsGroup": FS_GROUP}),
                          pod_dir=tmp_path, lookup=lookup)
    apply_volume(plan, RecordingMounter())
    assert (host.stat().st_gid, host.stat().st_mode) == (before.st_gid, before.st_mode)
