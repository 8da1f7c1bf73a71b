"""The Table cells of the storage kinds, as printPersistentVolume, printPersistentVolumeClaim and
printStorageClass in Kubernetes' printers.go (v1.32).

A volume prints its capacity, access modes (`RWO,ROX`), reclaim policy, phase (`Terminating` once
deleted), the `namespace/name` of its claim, class, VolumeAttributesClass (`<unset>`), reason and
age, then (wide) its volume mode. A claim prints its phase, volume, and — only once it names a volume —
the capacity and access modes of its status. A class prints `(default)` after its name when it is the
default, its provisioner, reclaim policy and binding mode (Delete and Immediate when unset), and
whether it allows expansion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.persistent_volumes import (
    DELETE,
    IMMEDIATE,
    access_modes_text,
    claim_class,
    is_default_class,
    quantity,
    volume_class,
)
from minik8s.api.table_values import age, as_map, as_str, name_of

UNSET = "<unset>"


def _storage_text(amounts: Any) -> str:
    """`Quantity.String()` of the `storage` entry; a missing one is the zero quantity, `0`."""
    amount = quantity(as_map(amounts).get("storage"))
    return str(amount) if amount is not None else "0"


def _phase(obj: Mapping[str, Any]) -> str:
    if as_map(obj.get("metadata")).get("deletionTimestamp"):
        return "Terminating"
    return as_str(as_map(obj.get("status")).get("phase"))


def _optional(value: Any) -> str:
    return value if isinstance(value, str) else UNSET


def persistent_volume_cells(volume: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(volume.get("spec")), as_map(volume.get("status"))
    claim = as_map(spec.get("claimRef"))
    claim_text = f"{as_str(claim.get('namespace'))}/{as_str(claim.get('name'))}" \
        if isinstance(spec.get("claimRef"), Mapping) else ""
    return [
        name_of(volume), _storage_text(spec.get("capacity")), access_modes_text(spec.get("accessModes")),
        as_str(spec.get("persistentVolumeReclaimPolicy")), _phase(volume), claim_text, volume_class(volume),
        _optional(spec.get("volumeAttributesClassName")), as_str(status.get("reason")), age(volume, now),
        _optional(spec.get("volumeMode")),
    ]


def persistent_volume_claim_cells(claim: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(claim.get("spec")), as_map(claim.get("status"))
    volume_name = as_str(spec.get("volumeName"))
    capacity = _storage_text(status.get("capacity")) if volume_name else ""
    modes = access_modes_text(status.get("accessModes")) if volume_name else ""
    return [
        name_of(claim), _phase(claim), volume_name, capacity, modes, claim_class(claim),
        _optional(spec.get("volumeAttributesClassName")), age(claim, now), _optional(spec.get("volumeMode")),
    ]


def storage_class_cells(storage_class: Mapping[str, Any], now: datetime) -> list[Any]:
    name = name_of(storage_class) + (" (default)" if is_default_class(storage_class) else "")
    return [
        name, as_str(storage_class.get("provisioner")), as_str(storage_class.get("reclaimPolicy")) or DELETE,
        as_str(storage_class.get("volumeBindingMode")) or IMMEDIATE, storage_class.get("allowVolumeExpansion") is True,
        age(storage_class, now),
    ]


CELL_PRINTERS = {
    "PersistentVolume": persistent_volume_cells,
    "PersistentVolumeClaim": persistent_volume_claim_cells,
    "StorageClass": storage_class_cells,
}
