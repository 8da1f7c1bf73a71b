"""Three real apiserver replicas as `minik8s up` runs them, their data folders read by another user
would: private folders and files, and no Secret in the clear on any replica (issue #13).

Followers hold what the leader sent them over Raft; so a Secret sealed only on the leader's disk
would still show up here. The daemon itself sets umask 077, which this covers for the files
the replica writes after it started (the journal's metadata, rewritten at every election).
"""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from minik8s.pki.encryption import ensure_encryption_config
from tests.support.ports import free_ports
from tests.support.replicas import ReplicaSet
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(180)

SECRETS = "/api/v1/namespaces/default/secrets"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ReplicaSet]:
    config = ensure_encryption_config(tmp_path / "encryption.yaml")
    replicas = ReplicaSet(tmp_path, flags=("--encryption-provider-config", str(config)))
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_replica_keeps_its_folder_private_and_no_secret_in_the_clear(cluster: ReplicaSet) -> None:
    leader = cluster.replicas[cluster.leader_index()]
    body = {"metadata": {"name": "db"}, "stringData": {"password": PASSWORD}}
    created = httpx.post(f"{leader.url}{SECRETS}", json=body, timeout=10)
    assert created.status_code == 201, created.text
    revision = created.json()["metadata"]["resourceVersion"]
    for replica in cluster.replicas:
        url = f"{replica.url}{SECRETS}/db"

        def data(url: str = url) -> dict[str, str] | None:
            found: dict[str, str] | None = httpx.get(url, params={"resourceVersion": revision}, timeout=5).json().get(
                "data")
            return found

        read = wait_for(f"{replica.name} to have the Secret", data, timeout=10)
        assert base64.b64decode(read["password"]).decode() == PASSWORD

    for replica in cluster.replicas:
        assert mode_of(replica.data_dir) == 0o700
        files = [path for path in replica.data_dir.iterdir() if path.is_file()]
        assert {"raft.wal", "raft.meta"} <= {path.name for path in files}
        assert {path.name: oct(mode_of(path)) for path in files if mode_of(path) != 0o600} == {}
        disk = b"".join(path.read_bytes() for path in files)
        assert b"k8s:enc:aesgcm:v1:key1:" in disk
        assert PASSWORD.encode() not in disk and base64.b64encode(PASSWORD.encode()) not in disk


def test_an_apiserver_without_a_cluster_secret_does_not_start(tmp_path: Path) -> None:
    http_port, raft_port = free_ports(2)
    finished = subprocess.run(
        [sys.executable, "-m", "minik8s.apiserver.main", "--listen", f"127.0.0.1:{http_port}",
         "--raft-address", f"127.0.0.1:{raft_port}", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == 2
    assert "--secret-file is required" in finished.stderr
    assert not (tmp_path / "data").exists()


def test_a_bad_encryption_config_stops_the_start_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "encryption.yaml"
    config.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
                      "- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n")
    http_port, raft_port = free_ports(2)
    finished = subprocess.run(
        [sys.executable, "-m", "minik8s.apiserver.main", "--listen", f"127.0.0.1:{http_port}",
         "--raft-address", f"127.0.0.1:{raft_port}", "--data-dir", str(tmp_path / "data"),
         "--secret-file", str(tmp_path / "secret"), "--encryption-provider-config", str(config)],
        capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == 1
    assert "resources[0].providers[0].aesgcm.keys[0].secret" in finished.stderr
    assert "got 5, expected one of [16 24 32]" in finished.stderr
    assert not (tmp_path / "data").exists()
