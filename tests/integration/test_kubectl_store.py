"""The real kubectl (v1.32, on these machines) against 3 replicas: the basic object workflow."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.replicas import ReplicaSet

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: demo}
data:
  mode: {mode}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaSet]:
    replicas = ReplicaSet(tmp_path_factory.mktemp("kubectl-cluster"))
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


@pytest.fixture
def kubectl(cluster: ReplicaSet, tmp_path: Path):  # type: ignore[no-untyped-def]
    binary = shutil.which("kubectl")
    assert binary, "kubectl v1.32 is expected on this machine"
    server = cluster.replicas[1].url  # a follower or the leader: any replica serves everything

    def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [binary, "--server", server, "--cache-dir", str(tmp_path / "cache"), *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
        return result

    return run


def test_kubectl_gets_namespaces(kubectl) -> None:  # type: ignore[no-untyped-def]
    lines = kubectl("get", "namespaces").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert rows["default"] == "Active" and rows["kube-system"] == "Active"


def test_kubectl_create_get_apply_delete_a_configmap(kubectl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(CONFIGMAP.replace("{mode}", "fast"))
    assert kubectl("create", "-f", str(manifest)).stdout.strip() == "configmap/settings created"
    duplicate = kubectl("create", "-f", str(manifest), check=False)
    assert duplicate.returncode != 0
    assert 'Error from server (AlreadyExists): error when creating' in duplicate.stderr
    listed = yaml.safe_load(kubectl("get", "configmaps", "-o", "yaml").stdout)
    settings = next(i for i in listed["items"] if i["metadata"]["name"] == "settings")
    assert settings["data"] == {"mode": "fast"} and settings["metadata"]["labels"] == {"app": "demo"}

    manifest.write_text(CONFIGMAP.replace("{mode}", "safe"))
    assert kubectl("apply", "-f", str(manifest)).stdout.strip() == "configmap/settings configured"
    assert kubectl("apply", "-f", str(manifest)).stdout.strip() == "configmap/settings unchanged"
    assert kubectl("get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "safe"

    assert kubectl("delete", "-f", str(manifest)).stdout.strip() == 'configmap "settings" deleted'
    missing = kubectl("get", "cm", "settings", check=False)
    assert missing.returncode != 0
    assert missing.stderr.strip() == 'Error from server (NotFound): configmaps "settings" not found'


def test_kubectl_prints_invalid_objects_as_kubernetes_does(kubectl) -> None:  # type: ignore[no-untyped-def]
    bad = kubectl("create", "-f", "-", stdin=CONFIGMAP.replace("settings", "Bad_Name").replace("{mode}", "x"),
                  check=False)
    assert bad.returncode != 0
    assert 'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in bad.stderr
