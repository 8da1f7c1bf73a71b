"""The decisions of the storage admission plugins, pure: which class a new claim gets, which finalizer a
new volume or claim carries, whether a claim may grow.

- DefaultStorageClass (plugin/pkg/admission/storage/storageclass/setdefault): a claim created without
  a class (no `storageClassName` at all: an explicit "" asks for none) gets the default class.
- StorageObjectInUseProtection: every new claim carries `kubernetes.io/pvc-protection` and every new
  volume `kubernetes.io/pv-protection`, which their protection controllers remove only once nothing
  uses them.
- PersistentVolumeClaimResize: a claim's request grows only when it is bound and its class allows
  expansion — which no minik8s class does (its volumes are directories), so growing is refused with
  Kubernetes' message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.meta import JsonObject, name_of
from minik8s.api.persistent_volumes import BOUND, claim_has_class, default_class, phase_of, requested_storage

NOT_BOUND_MESSAGE = "Only bound persistent volume claims can be expanded"
NO_RESIZE_MESSAGE = ("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc "
                     "must support resize")


def default_class_name(claim: Mapping[str, Any], classes: Iterable[Mapping[str, Any]]) -> str | None:
    """The class DefaultStorageClass writes into a new claim, or None when it leaves the claim alone."""
    if claim_has_class(claim):
        return None
    default = default_class(classes)
    return name_of(default) if default is not None else None


def add_finalizer(obj: JsonObject, finalizer: str) -> None:
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return
    finalizers = metadata.get("finalizers")
    if not isinstance(finalizers, list):
        finalizers = []
    if finalizer not in finalizers:
        metadata["finalizers"] = [*finalizers, finalizer]


def resize_refusal(claim: Mapping[str, Any], old: Mapping[str, Any],
                   classes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why PersistentVolumeClaimResize refuses an update, or None (the request did not grow, or may)."""
    new_size, old_size = requested_storage(claim), requested_storage(old)
    if new_size is None or old_size is None or new_size.value <= old_size.value:
        return None
    if phase_of(old) != BOUND:
        return NOT_BOUND_MESSAGE
    storage_class = classes.get(str((old.get("spec") or {}).get("storageClassName") or ""))
    if storage_class is None or storage_class.get("allowVolumeExpansion") is not True:
        return NO_RESIZE_MESSAGE
    return None
