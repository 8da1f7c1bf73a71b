"""What the built-in provisioner makes for a claim, decided without side effects.

`minik8s.io/local-path` works as rancher's local-path-provisioner, driven as an external provisioner
(sig-storage-lib-external-provisioner): it acts on a claim the PV controller annotated with its name
(`volume.kubernetes.io/storage-provisioner`), not yet bound, and — its classes waiting for the first
consumer — once the scheduler chose the node (`volume.kubernetes.io/selected-node`). It then makes a
PersistentVolume `pvc-<claim uid>`: a `hostPath` directory `<node's local-path dir>/pvc-<uid>_<ns>_<claim>`
(`DirectoryOrCreate`: the node agent makes it, world-writable as rancher's helper does, when the first
pod mounts it), required node affinity to that node, the claim's size, access modes and mode, the
class's reclaim policy, pre-bound to the claim (the binder completes the binding), annotated
`pv.kubernetes.io/provisioned-by` and labelled with its node so that node's agent deletes it (and its
directory) once Released under `Delete`.

Refusals are rancher's: a claim with a selector, an access mode other than ReadWriteOnce(Pod), a Block
volume, no node chosen. A chosen node that no longer exists sends the claim back to the scheduler
(the selected-node annotation removed), as the external provisioner does for final errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import (
    JsonObject,
    annotations_of,
    is_deleting,
    labels_of,
    name_of,
    namespace_of,
    spec_of,
    uid_of,
)
from minik8s.api.persistent_volumes import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_PROVISIONED_BY,
    ANN_STORAGE_PROVISIONER,
    DELETE,
    FILESYSTEM,
    HOSTNAME_LABEL,
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_NODE_LABEL,
    LOCAL_PATH_PROVISIONER,
    READ_WRITE_ONCE,
    READ_WRITE_ONCE_POD,
    WAIT_FOR_FIRST_CONSUMER,
    access_modes,
    binding_mode,
    claim_class,
    reference_to_claim,
    selected_node,
)

ACCESS_MODE_MESSAGE = "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes"
BLOCK_MESSAGE = f"{LOCAL_PATH_PROVISIONER} does not support block volume provisioning"
SELECTOR_MESSAGE = "claim.Spec.Selector is not supported"
NO_NODE_MESSAGE = "configuration error, no node was specified"


@dataclass(frozen=True)
class Provisioned:
    volume: JsonObject


@dataclass(frozen=True)
class Refused:
    message: str
    reschedule: bool = False  # forget the selected node: the scheduler chooses again
    retry: bool = False  # the node may become ready (its agent has not registered its directory yet)


Outcome = Provisioned | Refused


def volume_name(claim: Mapping[str, Any]) -> str:
    return f"pvc-{uid_of(claim)}"


def wanted_provisioner(claim: Mapping[str, Any]) -> str:
    annotations = annotations_of(claim)
    return annotations.get(ANN_STORAGE_PROVISIONER) or annotations.get(ANN_BETA_STORAGE_PROVISIONER) or ""


def should_provision(claim: Mapping[str, Any], storage_class: Mapping[str, Any] | None) -> bool:
    """shouldProvision: ours to make, not bound, not being deleted, and (WaitForFirstConsumer) placed."""
    if spec_of(claim).get("volumeName") or is_deleting(claim) or wanted_provisioner(claim) != LOCAL_PATH_PROVISIONER:
        return False
    if storage_class is None or storage_class.get("provisioner") != LOCAL_PATH_PROVISIONER:
        return False
    return binding_mode(storage_class) != WAIT_FOR_FIRST_CONSUMER or selected_node(claim) is not None


def provision(claim: Mapping[str, Any], storage_class: Mapping[str, Any], node: Mapping[str, Any] | None) -> Outcome:
    """The volume for `claim` on `node` (the selected one; None when it does not exist), or why not."""
    spec = spec_of(claim)
    if spec.get("selector") is not None:
        return Refused(SELECTOR_MESSAGE)
    if any(mode not in (READ_WRITE_ONCE, READ_WRITE_ONCE_POD) for mode in access_modes(spec.get("accessModes"))):
        return Refused(ACCESS_MODE_MESSAGE)
    if (spec.get("volumeMode") or FILESYSTEM) != FILESYSTEM:
        return Refused(BLOCK_MESSAGE)
    chosen = selected_node(claim)
    if not chosen:
        return Refused(NO_NODE_MESSAGE)
    if node is None:
        return Refused(f'failed to get target node: nodes "{chosen}" not found', reschedule=True)
    base = annotations_of(node).get(LOCAL_PATH_DIR_ANNOTATION, "")
    if not base.startswith("/"):
        return Refused(f'node "{chosen}" publishes no {LOCAL_PATH_DIR_ANNOTATION} annotation: its node agent has '
                       "not registered a directory for volumes", retry=True)
    return Provisioned(_volume(claim, storage_class, node, base))


def _volume(claim: Mapping[str, Any], storage_class: Mapping[str, Any], node: Mapping[str, Any],
            base: str) -> JsonObject:
    name = volume_name(claim)
    node_name = name_of(node)
    hostname = labels_of(node).get(HOSTNAME_LABEL, node_name)
    spec = spec_of(claim)
    requests = (spec.get("resources") or {}).get("requests") or {}
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {LOCAL_PATH_NODE_LABEL: node_name},
                     "annotations": {ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER}},
        "spec": {
            "capacity": {"storage": requests.get("storage")},
            "accessModes": list(access_modes(spec.get("accessModes"))),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or DELETE,
            "storageClassName": claim_class(claim),
            "volumeMode": FILESYSTEM,
            "claimRef": reference_to_claim(claim),
            "hostPath": {"path": f"{base.rstrip('/')}/{name}_{namespace_of(claim)}_{name_of(claim)}",
                         "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [hostname]}]}]}},
        },
    }
