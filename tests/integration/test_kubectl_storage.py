"""The real kubectl (v1.32) on the storage kinds: apply, `get pv,pvc,sc` with its columns, describe, explain."""

from __future__ import annotations

from pathlib import Path

from tests.support.kubectl import Kubectl

MANIFEST = """\
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/pv1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def header_and_row(output: str, name: str) -> tuple[list[str], list[str]]:
    """The header of the block whose row starts with `name`, and that row, split on runs of spaces."""
    blocks = [block.splitlines() for block in output.strip().split("\n\n")]
    for block in blocks:
        for row in block[1:]:
            if row.startswith(name):
                return [c for c in block[0].split("   ") if c.strip()], row.split()
    raise AssertionError(f"no row {name} in:\n{output}")


def test_get_pv_pvc_sc_prints_kubectls_columns(kubectl: Kubectl, tmp_path: Path) -> None:
    (tmp_path / "storage.yaml").write_text(MANIFEST)
    applied = kubectl("apply", "-f", str(tmp_path / "storage.yaml")).stdout.split("\n")
    assert applied[:2] == ["persistentvolume/pv1 created", "persistentvolumeclaim/data created"]
    output = kubectl("get", "pv,pvc,sc").stdout
    header, row = header_and_row(output, "persistentvolume/pv1")
    assert [c.strip() for c in header] == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                                           "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert row[:5] == ["persistentvolume/pv1", "2Gi", "RWO", "Retain", "Pending"]
    header, row = header_and_row(output, "persistentvolumeclaim/data")
    assert [c.strip() for c in header] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                                           "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert row[:4] == ["persistentvolumeclaim/data", "Pending", "standard", "<unset>"]
    header, row = header_and_row(output, "storageclass.storage.k8s.io/standard")
    assert [c.strip() for c in header] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                           "ALLOWVOLUMEEXPANSION", "AGE"]
    assert row[:6] == ["storageclass.storage.k8s.io/standard", "(default)", "minik8s.io/local-path", "Delete",
                       "WaitForFirstConsumer", "false"]


def test_describe_and_explain(kubectl: Kubectl) -> None:
    described = kubectl("describe", "sc", "standard").stdout
    assert "IsDefaultClass:        Yes" in described and "Provisioner:           minik8s.io/local-path" in described
    explained = kubectl("explain", "pv.spec.hostPath").stdout
    assert "FIELD: hostPath <Object>" in explained and "path\t<string> -required-" in explained
    assert "persistentvolumeclaim" not in kubectl("get", "all").stdout  # claims are not in the `all` category
