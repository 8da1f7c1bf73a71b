"""`describe pv|pvc|sc`: kubectl's sections, in its order and words."""

from __future__ import annotations

from datetime import UTC, datetime

from minik8s.cli.describers import Evidence, describe
from tests.support.storage_builders import claim_pod, pv, pvc, storage_class

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_a_provisioned_volume_shows_its_claim_node_affinity_and_directory() -> None:
    volume = pv("pvc-1", node="node-1", policy="Delete", storage_class="standard", phase="Bound",
                claim=pvc("data", uid="u"), hostPath={"path": "/var/lib/minik8s/volumes/pvc-1", "type": ""})
    volume["metadata"]["finalizers"] = ["kubernetes.io/pv-protection"]
    assert lines(describe("PersistentVolume", Evidence(volume, events=[]), now=NOW)) == [
        "Name: pvc-1", "Labels: <none>", "Annotations: <none>", "Finalizers: [kubernetes.io/pv-protection]",
        "StorageClass: standard", "Status: Bound", "Claim: default/data", "Reclaim Policy: Delete",
        "Access Modes: RWO", "Capacity: 1Gi", "Node Affinity:", "Required Terms:",
        "Term 0: kubernetes.io/hostname in [node-1]", "Message:", "Source:",
        "Type: HostPath (bare host directory volume)", "Path: /var/lib/minik8s/volumes/pvc-1", "HostPathType:",
        "Events: <none>"]


def test_a_deleted_claim_is_terminating_and_lists_the_pods_using_it() -> None:
    claim = pvc("data", storage_class="standard", volume_name="pvc-1", phase="Bound", deleting=True)
    claim["status"].update({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]})
    claim["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
    pods = [claim_pod("web", "data"), claim_pod("api", "data"), claim_pod("other", "logs")]
    text = describe("PersistentVolumeClaim", Evidence(claim, events=[], pods=pods), now=datetime(2026, 1, 1, 0, 0, 5,
                                                                                                 tzinfo=UTC))
    assert lines(text) == [
        "Name: data", "Namespace: default", "StorageClass: standard", "Status: Terminating (lasts 5s)",
        "Volume: pvc-1", "Labels: <none>", "Annotations: <none>", "Finalizers: [kubernetes.io/pvc-protection]",
        "Capacity: 1Gi", "Access Modes: RWO", "Used By: api", "web", "Events: <none>"]


def test_the_default_class_says_so() -> None:
    text = describe("StorageClass", Evidence(storage_class(default=True), events=[]), now=NOW)
    assert lines(text) == [
        "Name: standard", "IsDefaultClass: Yes", "Annotations: storageclass.kubernetes.io/is-default-class=true",
        "Provisioner: minik8s.io/local-path", "Parameters: <none>", "AllowVolumeExpansion: <unset>",
        "MountOptions: <none>", "ReclaimPolicy: Delete", "VolumeBindingMode: WaitForFirstConsumer", "Events: <none>"]
