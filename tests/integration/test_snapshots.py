"""Snapshots on real replica processes: save from a live 3-replica cluster, restore into a new home, start it.

The CLI runs as a subprocess (as a user runs it); the replicas are real apiserver processes
(tests/support/replicas.py), the old cluster's with periodic snapshots every second. The restored
cluster's replicas run in the new home's data directories, where `snapshot restore` left the seed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from minik8s.api.snapshot_format import SnapshotHeader, encode_snapshot, write_file
from minik8s.client.kubeconfig import write_kubeconfig
from tests.support.encryption import aesgcm, write_config
from tests.support.replicas import ReplicaSet
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
SECRETS = "/api/v1/namespaces/default/secrets"
ENVIRONMENT = {**{k: v for k, v in os.environ.items() if k not in ("MINIK8S_HOME", "KUBECONFIG")},
               "PYTHONPATH": str(REPO)}
SECRET_VALUE = "restored-hunter2"
OBJECTS = 150

pytestmark = pytest.mark.timeout(180)


def minik8s(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=ENVIRONMENT, cwd=REPO, check=False)


def succeed(*args: str) -> str:
    result = minik8s(*args)
    assert result.returncode == 0, f"minik8s {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def old_cluster(tmp_path: Path) -> Iterator[ReplicaSet]:
    flags = ("--encryption-provider-config", str(write_config(tmp_path / "encryption.yaml", aesgcm("key1"), {"identity": {}})),
             "--snapshot-dir", str(tmp_path / "periodic"), "--snapshot-interval", "1s", "--snapshot-retention", "2")
    (tmp_path / "old").mkdir()
    replicas = ReplicaSet(tmp_path / "old", flags=flags)
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


def raft(url: str) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(f"{url}/debug/raft", timeout=5).json()
    return status


def fill(cluster: ReplicaSet) -> dict[str, str]:
    """Objects written through every replica; their resourceVersions by name."""
    versions = {}
    for index in range(OBJECTS):
        replica = cluster.replicas[index % len(cluster.replicas)]
        response = httpx.post(f"{replica.url}{CONFIGMAPS}", timeout=10,
                              json={"metadata": {"name": f"cm-{index}"}, "data": {"n": str(index)}})
        assert response.status_code == 201, response.text
        versions[f"cm-{index}"] = response.json()["metadata"]["resourceVersion"]
    secret = {"metadata": {"name": "s"}, "stringData": {"password": SECRET_VALUE}}
    assert httpx.post(f"{cluster.replicas[0].url}{SECRETS}", json=secret, timeout=10).status_code == 201
    return versions


def test_save_restore_start_keeps_every_object_and_its_resource_version(old_cluster: ReplicaSet,
                                                                         tmp_path: Path) -> None:
    versions = fill(old_cluster)
    leader = old_cluster.leader_index()
    follower = old_cluster.replicas[(leader + 1) % 3]
    last = httpx.post(f"{old_cluster.replicas[leader].url}{CONFIGMAPS}", json={"metadata": {"name": "last"}},
                      timeout=10).json()
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, servers=[follower.url])  # a follower answers after its read barrier
    saved = tmp_path / "backup.snap"
    assert "Snapshot saved at" in succeed("snapshot", "save", str(saved), "--kubeconfig", str(kubeconfig))
    status = json.loads(succeed("snapshot", "status", str(saved), "-o", "json"))
    old_id = raft(follower.url)["cluster_id"]
    assert status["checksum_ok"] and status["cluster_id"] == old_id != ""
    assert status["revision"] >= int(last["metadata"]["resourceVersion"])  # the write acknowledged just before
    assert status["encrypted_values"] == 1 and SECRET_VALUE.encode() not in saved.read_bytes()
    check_periodic_snapshots(old_cluster, tmp_path / "periodic")
    old_cluster.stop_all()

    home = tmp_path / "restored"
    succeed("snapshot", "restore", str(saved), "--home", str(home), "--encryption-provider-config",
            str(tmp_path / "encryption.yaml"), "--replicas", "3", "--nodes", "0")
    restored = ReplicaSet(home / "data", flags=("--encryption-provider-config", str(home / "encryption.yaml")))
    restored.start_all()
    try:
        check_restored(restored, versions, revision=status["revision"], old_id=old_id)
    finally:
        restored.stop_all()
    assert not any(home.glob("data/*/seed.snapshot")), "a replica kept its seed after loading it"


def check_periodic_snapshots(cluster: ReplicaSet, folder: Path) -> None:
    """The leader wrote snapshots every second; at most 2 are kept, and every replica names the newest."""
    files = wait_for("3 periodic snapshots to have been taken",
                     lambda: names if len(names := sorted(p.name for p in folder.glob("snapshot-*.snap"))) == 2
                     and all(raft(r.url).get("last_snapshot") for r in cluster.replicas) else None, timeout=30)
    newest = raft(cluster.replicas[0].url)["last_snapshot"]
    assert Path(newest["file"]).name in files or Path(newest["file"]).name > files[-1]
    assert json.loads(succeed("snapshot", "status", str(folder / files[-1]), "-o", "json"))["checksum_ok"]


def check_restored(cluster: ReplicaSet, versions: dict[str, str], *, revision: int, old_id: str) -> None:
    follower = cluster.replicas[(cluster.leader_index() + 1) % 3]
    listing = httpx.get(f"{follower.url}{CONFIGMAPS}", timeout=10).json()
    found = {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in listing["items"]}
    assert {name: found.get(name) for name in versions} == versions
    secret = httpx.get(f"{follower.url}{SECRETS}/s", timeout=10).json()
    assert base64.b64decode(secret["data"]["password"]).decode() == SECRET_VALUE
    ids = {raft(replica.url)["cluster_id"] for replica in cluster.replicas}
    assert len(ids) == 1 and old_id not in ids and "" not in ids
    created = httpx.post(f"{follower.url}{CONFIGMAPS}", json={"metadata": {"name": "after"}}, timeout=10)
    assert int(created.json()["metadata"]["resourceVersion"]) > revision


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    not_snapshot = tmp_path / "notes.txt"
    not_snapshot.write_text("hello, world")
    used_home = tmp_path / "used"
    used_home.mkdir()
    (used_home / "cluster.json").write_text("{}")
    empty = tmp_path / "empty.snap"
    write_file(empty, encode_snapshot(SnapshotHeader("c", 0, 0, 0), []))
    cases = [
        (("snapshot", "status", str(not_snapshot)), "is not a minik8s snapshot"),
        (("snapshot", "status", str(tmp_path / "absent.snap")), "No such file"),
        (("snapshot", "restore", str(not_snapshot), "--home", str(tmp_path / "new")), "is not a minik8s snapshot"),
        (("snapshot", "restore", str(empty), "--home", str(used_home)), "already holds a cluster"),
        (("snapshot", "save", str(tmp_path / "x.snap"), "--home", str(tmp_path / "nothing")), "no cluster configured"),
        (("snapshot", "save", str(tmp_path / "missing" / "x.snap"), "--home", str(tmp_path)), "does not exist"),
    ]
    for args, expected in cases:
        result = minik8s(*args)
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1 and expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "new").exists() and not (tmp_path / "x.snap").exists()
    assert [path.name for path in used_home.iterdir()] == ["cluster.json"]
