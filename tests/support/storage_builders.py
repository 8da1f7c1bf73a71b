"""PersistentVolumes, claims and StorageClasses for tests, built with keyword arguments.

Each builder returns the object as a client would post it (no status unless asked): a 1Gi
ReadWriteOnce hostPath volume, a 1Gi ReadWriteOnce claim, the `standard` local-path class. `uid`,
`phase`, `annotations` and the like fill in what the API or a controller would have set, for the
pure plans that read stored objects.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import (
    DEFAULT_CLASS_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    WAIT_FOR_FIRST_CONSUMER,
)
from tests.support.builders import sleeper


def _meta(name: str, *, namespace: str | None, uid: str | None, labels: dict[str, str] | None,
          annotations: dict[str, str] | None, deleting: bool = False) -> JsonObject:
    metadata: JsonObject = {"name": name}
    for key, value in (("namespace", namespace), ("uid", uid), ("labels", labels), ("annotations", annotations)):
        if value:
            metadata[key] = value
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return metadata


def pv(name: str, *, capacity: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), path: str = "/data/pv",
       storage_class: str = "", claim: JsonObject | None = None, phase: str | None = None, policy: str = "Retain",
       node: str | None = None, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
       uid: str | None = None, deleting: bool = False, **spec: Any) -> JsonObject:
    """A hostPath volume; `claim` pre-binds it (its claimRef names that claim, with the claim's uid if it has one);
    `node` pins it with a required `kubernetes.io/hostname` node affinity."""
    body: JsonObject = {"capacity": {"storage": capacity}, "accessModes": list(modes), "hostPath": {"path": path},
                        "persistentVolumeReclaimPolicy": policy, **spec}
    if storage_class:
        body["storageClassName"] = storage_class
    if claim is not None:
        metadata = claim["metadata"]
        body["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": metadata.get("namespace", "default"),
                            "name": metadata["name"], "uid": metadata.get("uid", "")}
    if node is not None:
        body["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    volume: JsonObject = {"apiVersion": "v1", "kind": "PersistentVolume",
                          "metadata": _meta(name, namespace=None, uid=uid, labels=labels, annotations=annotations,
                                            deleting=deleting),
                          "spec": body}
    if phase is not None:
        volume["status"] = {"phase": phase}
    return volume


def pvc(name: str, *, namespace: str = "default", request: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
        storage_class: str | None = None, volume_name: str | None = None, phase: str | None = None,
        uid: str | None = None, annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None,
        deleting: bool = False, **spec: Any) -> JsonObject:
    """A claim; `storage_class` None leaves the class out (the default class applies), "" asks for none."""
    body: JsonObject = {"accessModes": list(modes), "resources": {"requests": {"storage": request}}, **spec}
    if storage_class is not None:
        body["storageClassName"] = storage_class
    if volume_name is not None:
        body["volumeName"] = volume_name
    claim: JsonObject = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": _meta(name, namespace=namespace, uid=uid, labels=labels,
                                           annotations=annotations, deleting=deleting),
                         "spec": body}
    if phase is not None:
        claim["status"] = {"phase": phase}
    return claim


def storage_class(name: str = "standard", *, provisioner: str = LOCAL_PATH_PROVISIONER,
                  binding_mode: str = WAIT_FOR_FIRST_CONSUMER, policy: str = "Delete", default: bool = False,
                  **fields: Any) -> JsonObject:
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if default else None
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": _meta(name, namespace=None, uid=None, labels=None, annotations=annotations),
            "provisioner": provisioner, "reclaimPolicy": policy, "volumeBindingMode": binding_mode, **fields}


def claim_pod(name: str, claim: str, *, namespace: str | None = None, node_name: str | None = None,
              mount_path: str = "/data", read_only: bool = False) -> JsonObject:
    """A pod running a sleeper that mounts claim `claim` at `mount_path`."""
    container = {**sleeper("app"), "volumeMounts": [{"name": "data", "mountPath": mount_path}]}
    source: JsonObject = {"claimName": claim}
    if read_only:
        source["readOnly"] = True
    spec: JsonObject = {"containers": [container], "volumes": [{"name": "data", "persistentVolumeClaim": source}]}
    if node_name:
        spec["nodeName"] = node_name
    metadata: JsonObject = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
