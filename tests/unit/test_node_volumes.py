"""Pod volumes become the right host paths and files, and mounts land where the spec says."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from minik8s.node.env import ConfigError
from minik8s.node.projection import ProjectedFile, project_files
from minik8s.node.runtime import Mount
from minik8s.node.volume_mounts import container_mounts, plan_mount
from minik8s.node.volumes import (
    apply_volume,
    plan_volumes,
    prepare_volumes,
    read_only_volumes,
    write_files,
)

OBJECTS = {
    ("ConfigMap", "default", "web"): {"data": {"index.html": "<h1>hi</h1>", "app.conf": "port=80"}},
    ("Secret", "default", "creds"): {"data": {"password": base64.b64encode(b"s3cret").decode()}},
}


def lookup(kind, namespace, name):
    return OBJECTS.get((kind, namespace, name))


def pod_with(*volumes):
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": {"volumes": list(volumes)}}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_empty_dir_is_a_world_writable_directory_under_the_pod(tmp_path):
    paths = prepare_volumes(pod_with({"name": "scratch", "emptyDir": {}}), pod_dir=tmp_path, lookup=lookup)
    assert paths == {"scratch": tmp_path / "volumes" / "scratch"}
    assert paths["scratch"].is_dir()
    assert mode_of(paths["scratch"]) == 0o777


def test_memory_medium_and_sourceless_volumes_are_directories_too(tmp_path):
    pod = pod_with({"name": "ram", "emptyDir": {"medium": "Memory"}}, {"name": "bare"})
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)
    assert paths["ram"].is_dir() and paths["bare"].is_dir()


def test_empty_dir_content_survives_a_resync(tmp_path):
    pod = pod_with({"name": "scratch", "emptyDir": {}})
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)
    (paths["scratch"] / "data").write_text("kept")
    prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)
    assert (paths["scratch"] / "data").read_text() == "kept"


def test_config_map_volume_holds_a_file_per_key(tmp_path):
    paths = prepare_volumes(pod_with({"name": "site", "configMap": {"name": "web"}}), pod_dir=tmp_path, lookup=lookup)
    directory = paths["site"]
    assert sorted(p.name for p in directory.iterdir()) == ["app.conf", "index.html"]
    assert (directory / "index.html").read_text() == "<h1>hi</h1>"
    assert mode_of(directory / "index.html") == 0o644


def test_secret_volume_files_are_decoded_with_the_default_mode(tmp_path):
    volume = {"name": "s", "secret": {"secretName": "creds", "defaultMode": 0o400}}
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup)
    assert (paths["s"] / "password").read_bytes() == b"s3cret"
    assert mode_of(paths["s"] / "password") == 0o400


def test_items_select_keys_with_paths_and_modes(tmp_path):
    volume = {
        "name": "site",
        "configMap": {"name": "web", "items": [{"key": "app.conf", "path": "conf/app.conf", "mode": 0o600}]},
    }
    paths = prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup)
    assert [str(p.relative_to(paths["site"])) for p in paths["site"].rglob("*") if p.is_file()] == ["conf/app.conf"]
    assert mode_of(paths["site"] / "conf" / "app.conf") == 0o600


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"name": "v", "configMap": {"name": "missing"}}, 'configmap "missing" not found'),
        ({"name": "v", "secret": {"secretName": "missing"}}, 'secret "missing" not found'),
        (
            {"name": "v", "configMap": {"name": "web", "items": [{"key": "nope", "path": "x"}]}},
            "configmap references non-existent config key: nope",
        ),
        (
            {"name": "v", "secret": {"secretName": "creds", "items": [{"key": "nope", "path": "x"}]}},
            "secret references non-existent secret key: nope",
        ),
        ({"name": "v", "nfs": {"server": "x", "path": "/"}}, "volume type nfs is not supported"),
        ({"name": "v", "persistentVolumeClaim": {"claimName": "c"}},
         'volume "v": its claim has not been resolved to a volume of this node'),
        (
            {"name": "v", "configMap": {"name": "web", "items": [{"key": "app.conf", "path": "../escape"}]}},
            "invalid path '../escape'",
        ),
    ],
)
def test_unsatisfiable_volumes_are_config_errors(tmp_path, volume, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        prepare_volumes(pod_with(volume), pod_dir=tmp_path, lookup=lookup)


def test_optional_missing_sources_give_empty_or_partial_volumes(tmp_path):
    pod = pod_with(
        {"name": "a", "configMap": {"name": "missing", "optional": True}},
        {"name": "b", "configMap": {"name": "web", "optional": True,
                                    "items": [{"key": "nope", "path": "x"}, {"key": "app.conf", "path": "c"}]}},
    )
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)
    assert list(paths["a"].iterdir()) == []
    assert [p.name for p in paths["b"].iterdir()] == ["c"]


def test_projected_files_are_rewritten_only_when_changed_and_stale_ones_go(tmp_path):
    directory = tmp_path / "v"
    directory.mkdir()
    first = {"a": ProjectedFile(b"1", 0o644), "sub/b": ProjectedFile(b"2", 0o644)}
    assert write_files(directory, first) is True
    inode = (directory / "a").stat().st_ino
    assert write_files(directory, first) is False  # nothing to do: untouched
    assert (directory / "a").stat().st_ino == inode

    second = {"a": ProjectedFile(b"1", 0o600), "c": ProjectedFile(b"3", 0o644)}
    assert write_files(directory, second) is True
    assert sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) == ["a", "c"]
    assert mode_of(directory / "a") == 0o600
    assert not any(p.name.startswith(".tmp-") for p in directory.iterdir())


def test_a_config_map_update_reaches_the_existing_volume(tmp_path):
    objects = {("ConfigMap", "default", "web"): {"data": {"k": "old"}}}
    pod = pod_with({"name": "v", "configMap": {"name": "web"}})
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lambda *key: objects.get(key))
    objects[("ConfigMap", "default", "web")] = {"data": {"k": "new", "k2": "more"}}
    prepare_volumes(pod, pod_dir=tmp_path, lookup=lambda *key: objects.get(key))
    assert (paths["v"] / "k").read_text() == "new"
    assert (paths["v"] / "k2").read_text() == "more"


def test_projection_replaces_a_directory_where_a_file_now_belongs(tmp_path):
    directory = tmp_path / "v"
    directory.mkdir()
    write_files(directory, {"x/y": ProjectedFile(b"1", 0o644)})
    write_files(directory, {"x": ProjectedFile(b"2", 0o644)})
    assert (directory / "x").read_bytes() == b"2"


def test_binary_data_of_config_maps_is_decoded():
    files = project_files(
        "ConfigMap", {"defaultMode": 0o644}, {"binaryData": {"bin": base64.b64encode(b"\x00\xff").decode()}},
        optional=False,
    )
    assert files == {"bin": ProjectedFile(b"\x00\xff", 0o644)}


def test_host_path_is_the_host_path_itself(tmp_path):
    target = tmp_path / "host" / "data"
    pod = pod_with({"name": "h", "hostPath": {"path": str(target), "type": "DirectoryOrCreate"}})
    paths = prepare_volumes(pod, pod_dir=tmp_path / "pod", lookup=lookup)
    assert paths == {"h": target}
    assert target.is_dir()


def test_file_or_create_creates_an_empty_file(tmp_path):
    target = tmp_path / "marker"
    prepare_volumes(pod_with({"name": "h", "hostPath": {"path": str(target), "type": "FileOrCreate"}}),
                    pod_dir=tmp_path / "pod", lookup=lookup)
    assert target.is_file() and target.read_bytes() == b""


@pytest.mark.parametrize(
    ("kind", "prepare", "message"),
    [
        ("Directory", None, "is not a directory"),
        ("File", None, "is not a file"),
        ("Directory", "file", "is not a directory"),
        ("File", "dir", "is not a file"),
        ("DirectoryOrCreate", "file", "is not a directory"),
        ("Socket", "file", "is not a socket file"),
        ("Bogus", "file", "Bogus is an invalid volume type"),
    ],
)
def test_host_path_type_checks(tmp_path, kind, prepare, message):
    target = tmp_path / "thing"
    if prepare == "file":
        target.write_text("x")
    elif prepare == "dir":
        target.mkdir()
    with pytest.raises(ConfigError, match=message):
        prepare_volumes(pod_with({"name": "h", "hostPath": {"path": str(target), "type": kind}}),
                        pod_dir=tmp_path / "pod", lookup=lookup)


def test_host_path_of_existing_things_passes_its_check(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    pod = pod_with(
        {"name": "d", "hostPath": {"path": str(tmp_path / "d"), "type": "Directory"}},
        {"name": "f", "hostPath": {"path": str(tmp_path / "f"), "type": "File"}},
        {"name": "any", "hostPath": {"path": str(tmp_path / "whatever")}},
    )
    assert set(prepare_volumes(pod, pod_dir=tmp_path / "pod", lookup=lookup)) == {"d", "f", "any"}


def test_planning_touches_no_disk(tmp_path):
    pod = pod_with({"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "web"}})
    plans = plan_volumes(pod, pod_dir=tmp_path / "pod", lookup=lookup)
    assert [(plan.name, plan.kind) for plan in plans] == [("e", "emptyDir"), ("c", "configMap")]
    assert sorted(plans[1].files) == ["app.conf", "index.html"]
    assert not (tmp_path / "pod").exists()
    assert apply_volume(plans[0]) is True and apply_volume(plans[0]) is False


def test_mounts_follow_volume_mounts_and_force_config_volumes_read_only(tmp_path):
    pod = pod_with({"name": "data", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "web"}})
    paths = prepare_volumes(pod, pod_dir=tmp_path, lookup=lookup)
    container = {
        "name": "app",
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "data", "mountPath": "/ro", "readOnly": True},
            {"name": "conf", "mountPath": "/etc/app"},
        ],
    }
    assert container_mounts(container, paths, read_only_volumes=read_only_volumes(pod)) == [
        Mount(source=str(paths["data"]), target="/data", read_only=False),
        Mount(source=str(paths["data"]), target="/ro", read_only=True),
        Mount(source=str(paths["conf"]), target="/etc/app", read_only=True),
    ]


def test_sub_path_mounts_a_sub_directory_created_on_demand(tmp_path):
    paths = prepare_volumes(pod_with({"name": "data", "emptyDir": {}}), pod_dir=tmp_path, lookup=lookup)
    container = {"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/var/lib/db", "subPath": "db/one"}]}
    [mount] = container_mounts(container, paths)
    assert mount.source == str(paths["data"] / "db" / "one")
    assert (paths["data"] / "db" / "one").is_dir()


def test_sub_path_naming_a_projected_file_mounts_that_file(tmp_path):
    paths = prepare_volumes(pod_with({"name": "c", "configMap": {"name": "web"}}), pod_dir=tmp_path, lookup=lookup)
    [mount] = container_mounts({"name": "app", "volumeMounts": [
        {"name": "c", "mountPath": "/etc/app.conf", "subPath": "app.conf"}]}, paths)
    assert Path(mount.source).is_file()


def test_sub_path_expr_expands_the_environment(tmp_path):
    planned = plan_mount({"name": "v", "mountPath": "logs", "subPathExpr": "$(POD_NAME)"}, tmp_path, env={"POD_NAME": "p1"})
    assert planned.source == tmp_path / "p1"
    assert planned.target == "/logs"


@pytest.mark.parametrize(
    ("sub_path", "message"),
    [("/etc", "must not be an absolute path"), ("a/../../x", "must not contain '..'")],
)
def test_sub_paths_may_not_leave_the_volume(tmp_path, sub_path, message):
    with pytest.raises(ConfigError, match=message):
        container_mounts({"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/m", "subPath": sub_path}]},
                         {"v": tmp_path})


def test_sub_path_through_a_symlink_out_of_the_volume_is_refused(tmp_path):
    volume = tmp_path / "vol"
    volume.mkdir()
    os.symlink(tmp_path / "outside", volume / "link")
    with pytest.raises(ConfigError, match="failed to prepare subPath"):
        container_mounts({"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/m", "subPath": "link/x"}]},
                         {"v": volume})
    assert not (tmp_path / "outside").exists()


def test_mount_of_an_undeclared_volume_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match='cannot find volume "ghost" to mount into container "app"'):
        container_mounts({"name": "app", "volumeMounts": [{"name": "ghost", "mountPath": "/g"}]}, {})
