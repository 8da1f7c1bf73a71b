"""The defaults of PersistentVolumes, PersistentVolumeClaims and StorageClasses, as Kubernetes fills them.

SetDefaults_PersistentVolume (a volume is `Retain`ed and `Filesystem` unless it says otherwise, a
hostPath's type is ""), SetDefaults_PersistentVolumeClaimSpec (`Filesystem`), SetDefaults_StorageClass
(reclaimPolicy `Delete`, volumeBindingMode `Immediate`), and the phase both volumes and claims start
in (`Pending`). Capacities and requests are stored in their canonical form (`1024Mi` reads back as
`1Gi`), as Kubernetes serializes every quantity. Malformed parts are left for validation to report.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import DELETE, FILESYSTEM, IMMEDIATE, PENDING, RETAIN
from minik8s.api.policy_defaults import canonical_amounts


def _object(owner: JsonObject, key: str) -> JsonObject | None:
    value = owner.get(key)
    return value if isinstance(value, dict) else None


def _fill(owner: JsonObject, key: str, value: Any) -> None:
    if owner.get(key) is None or owner.get(key) == "":
        owner[key] = value


def _default_phase(obj: JsonObject) -> None:
    status = _object(obj, "status")
    if status is not None:
        _fill(status, "phase", PENDING)


def default_persistent_volume(volume: JsonObject, _: bool) -> None:
    _default_phase(volume)
    spec = _object(volume, "spec")
    if spec is None:
        return
    _fill(spec, "persistentVolumeReclaimPolicy", RETAIN)
    _fill(spec, "volumeMode", FILESYSTEM)
    canonical_amounts(spec.get("capacity"))
    host_path = _object(spec, "hostPath")
    if host_path is not None and host_path.get("type") is None:
        host_path["type"] = ""


def default_claim_spec(spec: JsonObject) -> None:
    """SetDefaults_PersistentVolumeClaimSpec, shared with claim templates (StatefulSets)."""
    _fill(spec, "volumeMode", FILESYSTEM)
    resources = _object(spec, "resources")
    if resources is not None:
        canonical_amounts(resources.get("requests"))
        canonical_amounts(resources.get("limits"))


def default_persistent_volume_claim(claim: JsonObject, _: bool) -> None:
    _default_phase(claim)
    spec = _object(claim, "spec")
    if spec is not None:
        default_claim_spec(spec)
    status = _object(claim, "status")
    if status is not None:
        canonical_amounts(status.get("capacity"))


def default_storage_class(storage_class: JsonObject, _: bool) -> None:
    _fill(storage_class, "reclaimPolicy", DELETE)
    _fill(storage_class, "volumeBindingMode", IMMEDIATE)
