"""The node agent's claim resolution (the kubelet's checks and words) and which local-path directories it removes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import ANN_PROVISIONED_BY, LOCAL_PATH_NODE_LABEL, LOCAL_PATH_PROVISIONER
from minik8s.node.claims import ClaimError, ClaimVolume, mount_failure_message, resolve
from minik8s.node.local_volumes import directory_to_remove, remove_directory
from tests.support.storage_builders import claim_pod, pv, pvc

NODE = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}
BASE = Path("/var/lib/minik8s/n1/volumes")


def bound(**options: Any) -> JsonObject:
    return pvc("data", uid="u1", volume_name="v", phase="Bound", **options)


@pytest.mark.parametrize(("claim", "volume", "message"), [
    (None, None, 'error processing PVC default/data: failed to fetch PVC from API server: persistentvolumeclaims '
                 '"data" not found'),
    (pvc("data", uid="u1"), None, "error processing PVC default/data: PVC is not bound"),
    (bound(deleting=True), None, "error processing PVC default/data: PVC is being deleted"),
    (pvc("data", uid="u1", phase="Bound"), None, "error processing PVC default/data: PVC has empty "
                                                 "pvc.Spec.VolumeName"),
    (bound(), None, 'error processing PVC default/data: failed to fetch PV v from API server: persistentvolumes "v" '
                    "not found"),
    (bound(), pv("v"), "error processing PVC default/data: found PV object v but it has a nil pv.Spec.ClaimRef "
                       "indicating it is not yet bound to the claim"),
    (bound(), pv("v", claim=pvc("data", uid="other")), "error processing PVC default/data: found PV object v but its "
                                                       "pv.Spec.ClaimRef.UID other does not point to claim.UID u1"),
    (bound(), pv("v", claim=pvc("data", uid="u1"), node="n2"),
     'MountVolume.NodeAffinity check failed for volume "v" : no matching NodeSelectorTerms'),
])
def test_a_claim_that_cannot_be_mounted_says_why(claim: JsonObject | None, volume: JsonObject | None,
                                                 message: str) -> None:
    with pytest.raises(ClaimError) as error:
        resolve("default", "data", False, claim, volume, NODE)
    assert str(error.value) == message


def test_a_bound_claim_resolves_to_its_volumes_directory() -> None:
    static = pv("v", claim=pvc("data", uid="u1"), node="n1", hostPath={"path": "/srv/v", "type": "Directory"})
    assert resolve("default", "data", True, bound(), static, NODE) == ClaimVolume(
        "v", Path("/srv/v"), "hostPath", "Directory", None, True)
    provisioned = pv("v", claim=pvc("data", uid="u1"), annotations={ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER},
                     hostPath={"path": "/var/lib/v", "type": "DirectoryOrCreate"})
    assert resolve("default", "data", False, bound(), provisioned, NODE).create_mode == 0o777
    local = {**pv("v", claim=pvc("data", uid="u1")), "spec": {"claimRef": {"uid": "u1"}, "local": {"path": "/mnt"}}}
    assert resolve("default", "data", False, bound(), local, NODE).source == "local"


def test_the_failed_mount_message_lists_the_pods_volumes() -> None:
    pod = claim_pod("web", "data")
    pod["spec"]["volumes"].append({"name": "kube-api-access-x", "projected": {"sources": []}})
    assert mount_failure_message(pod, ["data"], "error processing PVC default/data: PVC is not bound") == (
        "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data kube-api-access-x]: "
        "error processing PVC default/data: PVC is not bound")


def released(path: str, *, node: str = "n1", phase: str = "Released", policy: str = "Delete",
             provisioner: str = LOCAL_PATH_PROVISIONER) -> JsonObject:
    return pv("pvc-1", phase=phase, policy=policy, labels={LOCAL_PATH_NODE_LABEL: node},
              annotations={ANN_PROVISIONED_BY: provisioner}, hostPath={"path": path, "type": "DirectoryOrCreate"})


@pytest.mark.parametrize(("volume", "expected"), [
    (released(f"{BASE}/pvc-1_default_data"), BASE / "pvc-1_default_data"),
    (released(f"{BASE}/pvc-1_default_data", phase="Bound"), None),
    (released(f"{BASE}/pvc-1_default_data", policy="Retain"), None),
    (released(f"{BASE}/pvc-1_default_data", node="n2"), None),
    (released(f"{BASE}/pvc-1_default_data", provisioner="example.com/other"), None),
    (released(str(BASE)), None),  # never the volumes directory itself
    (released(f"{BASE}/../../etc"), None),  # nor anything outside it
    (released("/etc/passwd"), None),
])
def test_only_this_nodes_released_local_path_directories_are_removed(volume: JsonObject, expected: Path | None) -> None:
    assert directory_to_remove(volume, "n1", BASE) == expected


def test_removing_a_directory_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("kept")
    link = tmp_path / "volume"
    link.symlink_to(outside)
    remove_directory(link)
    assert not link.exists() and (outside / "keep").read_text() == "kept"
    volume = tmp_path / "real"
    (volume / "sub").mkdir(parents=True)
    (volume / "sub" / "file").write_text("x")
    remove_directory(volume)
    assert not volume.exists()
