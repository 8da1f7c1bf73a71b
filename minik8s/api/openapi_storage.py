"""OpenAPI schemas of PersistentVolume, PersistentVolumeClaim (core/v1) and StorageClass (storage.k8s.io/v1).

The fields minik8s serves, under Kubernetes' names, so `kubectl explain pv.spec.hostPath` and the
fuzzer see them; `openapi_kinds` merges `STORAGE_KINDS` into its table.
"""

from __future__ import annotations

from minik8s.api.openapi_core import OBJECT_REFERENCE
from minik8s.api.openapi_schema import (
    LABEL_SELECTOR,
    QUANTITY,
    TIME,
    Schema,
    array,
    boolean,
    kind_object,
    map_of,
    obj,
    ref,
    string,
    string_map,
)
from minik8s.api.persistent_volumes import ACCESS_MODES
from minik8s.api.registry import STORAGE_GROUP

_ACCESS_MODES = array(string(enum=ACCESS_MODES), "The ways the volume can be mounted.")
_VOLUME_MODE = string("Filesystem (a formatted directory) or Block.", enum=("Block", "Filesystem"))
_REQUIREMENT = obj("A requirement on a node's labels or fields.", {
    "key": string(), "operator": string(enum=("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")),
    "values": array(string())}, required=("key", "operator"))
_NODE_SELECTOR = obj("Node selector terms, ORed.", {"nodeSelectorTerms": array(obj("Requirements, ANDed.", {
    "matchExpressions": array(_REQUIREMENT), "matchFields": array(_REQUIREMENT)}))}, required=("nodeSelectorTerms",))
_PERSISTENT_VOLUME = kind_object("A piece of storage in the cluster, provisioned by an administrator or a "
                                 "StorageClass's provisioner.", "", "v1", "PersistentVolume", {
    "spec": obj("The volume's source, capacity and binding.", {
        "capacity": map_of(ref(QUANTITY), "The volume's capacity: `storage`."),
        "accessModes": _ACCESS_MODES,
        "claimRef": ref(OBJECT_REFERENCE),
        "persistentVolumeReclaimPolicy": string("What happens when the claim is released.",
                                                enum=("Delete", "Recycle", "Retain")),
        "storageClassName": string("The StorageClass the volume belongs to."),
        "mountOptions": array(string()),
        "volumeMode": _VOLUME_MODE,
        "nodeAffinity": obj("The nodes the volume can be reached from.", {"required": _NODE_SELECTOR}),
        "volumeAttributesClassName": string(),
        "hostPath": obj("A directory of the node.", {"path": string(), "type": string()}, required=("path",)),
        "local": obj("A local disk or directory of the node (nodeAffinity required).",
                     {"path": string(), "fsType": string()}, required=("path",)),
    }),
    "status": obj("The volume's phase.", {
        "phase": string(enum=("Pending", "Available", "Bound", "Released", "Failed")), "message": string(),
        "reason": string(), "lastPhaseTransitionTime": ref(TIME)}),
})
_CLAIM_CONDITION = obj("A condition of the claim.", {
    "type": string(), "status": string(), "lastProbeTime": ref(TIME), "lastTransitionTime": ref(TIME),
    "reason": string(), "message": string()}, required=("type", "status"))
_PERSISTENT_VOLUME_CLAIM = kind_object("A user's request for storage.", "", "v1", "PersistentVolumeClaim", {
    "spec": obj("What the claim asks for.", {
        "accessModes": _ACCESS_MODES,
        "selector": ref(LABEL_SELECTOR),
        "resources": obj("The storage requested.", {"requests": map_of(ref(QUANTITY)),
                                                    "limits": map_of(ref(QUANTITY))}),
        "volumeName": string("The volume bound to the claim."),
        "storageClassName": string("The StorageClass the claim asks for."),
        "volumeMode": _VOLUME_MODE,
        "dataSource": obj("A data source.", {"apiGroup": string(), "kind": string(), "name": string()}),
        "dataSourceRef": obj("A data source.", {"apiGroup": string(), "kind": string(), "name": string(),
                                                "namespace": string()}),
        "volumeAttributesClassName": string(),
    }),
    "status": obj("The claim's phase and what it is bound to.", {
        "phase": string(enum=("Pending", "Bound", "Lost")), "accessModes": _ACCESS_MODES,
        "capacity": map_of(ref(QUANTITY)), "conditions": array(_CLAIM_CONDITION)}),
})
_STORAGE_CLASS = kind_object("A class of storage: who provisions its volumes and how they bind.",
                             STORAGE_GROUP, "v1", "StorageClass", {
    "provisioner": string("The provisioner of the class's volumes."),
    "parameters": string_map("Parameters for the provisioner."),
    "reclaimPolicy": string(enum=("Delete", "Retain")),
    "mountOptions": array(string()),
    "allowVolumeExpansion": boolean(),
    "volumeBindingMode": string(enum=("Immediate", "WaitForFirstConsumer")),
    "allowedTopologies": array(obj("A topology term.", {"matchLabelExpressions": array(obj(
        "A label requirement.", {"key": string(), "values": array(string())}, required=("key", "values")))})),
}, required=("provisioner",))

STORAGE_KINDS: dict[tuple[str, str], Schema] = {
    ("", "PersistentVolume"): _PERSISTENT_VOLUME,
    ("", "PersistentVolumeClaim"): _PERSISTENT_VOLUME_CLAIM,
    (STORAGE_GROUP, "StorageClass"): _STORAGE_CLASS,
}
