"""The writes the binder plans, as data: each step edits the latest copy of a volume or a claim.

Kubernetes' PV controller binds in four API calls (the volume's claimRef, the volume's phase, the
claim's volumeName and annotations, the claim's phase), each made on the object the previous one
returned. A plan here is that list of steps; `apply` turns a step into the edited object (or None
when the object already says so: no write), and the controller carries them out in order, each on
what the previous write returned, so every write is guarded by the resourceVersion it read.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_STORAGE_PROVISIONER,
    volume_bound_to_claim,
)

Target = Literal["volume", "claim"]
Part = Literal["object", "status"]
VOLUME: Final = "volume"
CLAIM: Final = "claim"
OBJECT: Final = "object"
STATUS: Final = "status"


def _annotations(obj: JsonObject) -> dict[str, Any]:
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata.get("annotations"), dict):
        metadata["annotations"] = {}
    annotations: dict[str, Any] = metadata["annotations"]
    return annotations


def _spec(obj: JsonObject) -> dict[str, Any]:
    if not isinstance(obj.get("spec"), dict):
        obj["spec"] = {}
    spec: dict[str, Any] = obj["spec"]
    return spec


def _status(obj: JsonObject) -> dict[str, Any]:
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}
    status: dict[str, Any] = obj["status"]
    return status


@dataclass(frozen=True)
class BindVolume:
    """GetBindVolumeToClaim: the volume's claimRef names the claim; bound-by-controller unless it already did."""

    claim: Mapping[str, Any]
    target: Target = VOLUME
    part: Part = OBJECT

    def apply(self, volume: JsonObject) -> JsonObject | None:
        return volume_bound_to_claim(volume, self.claim)


@dataclass(frozen=True)
class UnbindVolume:
    """unbindVolume: a binding the controller made is undone; a user's pre-binding keeps its name, loses its uid."""

    target: Target = VOLUME
    part: Part = OBJECT

    def apply(self, volume: JsonObject) -> JsonObject | None:
        edited = copy.deepcopy(volume)
        annotations = _annotations(edited)
        if ANN_BOUND_BY_CONTROLLER in annotations:
            _spec(edited).pop("claimRef", None)
            del annotations[ANN_BOUND_BY_CONTROLLER]
        elif isinstance(_spec(edited).get("claimRef"), dict):
            _spec(edited)["claimRef"]["uid"] = ""
        if not annotations:
            edited["metadata"].pop("annotations", None)
        return None if edited == volume else edited


@dataclass(frozen=True)
class VolumePhase:
    """updateVolumePhase: nothing to write when the volume is in that phase already."""

    phase: str
    message: str = ""
    target: Target = VOLUME
    part: Part = STATUS

    def apply(self, volume: JsonObject) -> JsonObject | None:
        if (volume.get("status") or {}).get("phase") == self.phase:
            return None
        edited = copy.deepcopy(volume)
        status = _status(edited)
        status["phase"] = self.phase
        if self.message:
            status["message"] = self.message
        else:
            status.pop("message", None)
        return edited


@dataclass(frozen=True)
class BindClaim:
    """bindClaimToVolume: the claim names the volume (bound-by-controller when it did not) and is bind-completed."""

    volume_name: str
    target: Target = CLAIM
    part: Part = OBJECT

    def apply(self, claim: JsonObject) -> JsonObject | None:
        edited = copy.deepcopy(claim)
        spec, annotations = _spec(edited), _annotations(edited)
        if spec.get("volumeName") != self.volume_name:
            spec["volumeName"] = self.volume_name
            annotations[ANN_BOUND_BY_CONTROLLER] = "yes"
        annotations.setdefault(ANN_BIND_COMPLETED, "yes")
        return None if edited == claim else edited


@dataclass(frozen=True)
class ClaimPhase:
    """updateClaimStatus: the phase; a bound claim reports its volume's access modes and (when it becomes
    bound) capacity, an unbound one neither."""

    phase: str
    volume: Mapping[str, Any] | None = None
    target: Target = CLAIM
    part: Part = STATUS

    def apply(self, claim: JsonObject) -> JsonObject | None:
        edited = copy.deepcopy(claim)
        status = _status(edited)
        becoming = status.get("phase") != self.phase
        status["phase"] = self.phase
        if self.volume is None:
            status.pop("accessModes", None)
            status.pop("capacity", None)
        else:
            volume_spec = self.volume.get("spec") or {}
            status["accessModes"] = copy.deepcopy(volume_spec.get("accessModes"))
            capacity = (volume_spec.get("capacity") or {}).get("storage")
            if becoming and capacity is not None and (status.get("capacity") or {}).get("storage") != capacity:
                status["capacity"] = copy.deepcopy(volume_spec.get("capacity"))
        return None if edited == claim else edited


@dataclass(frozen=True)
class SetProvisioner:
    """setClaimProvisioner: the annotations an external provisioner (ours) watches for."""

    provisioner: str
    target: Target = CLAIM
    part: Part = OBJECT

    def apply(self, claim: JsonObject) -> JsonObject | None:
        annotations = (claim.get("metadata") or {}).get("annotations") or {}
        if all(annotations.get(key) == self.provisioner for key in (ANN_STORAGE_PROVISIONER,
                                                                   ANN_BETA_STORAGE_PROVISIONER)):
            return None
        edited = copy.deepcopy(claim)
        _annotations(edited).update({ANN_STORAGE_PROVISIONER: self.provisioner,
                                     ANN_BETA_STORAGE_PROVISIONER: self.provisioner})
        return edited


@dataclass(frozen=True)
class Event:
    """An Event on the volume or the claim, recorded when the controller reaches this step."""

    target: Target
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class EnqueueClaim:
    """Look at this claim soon (a provisioned volume waits for its claim's sync to finish the binding)."""

    key: str


Write = BindVolume | UnbindVolume | VolumePhase | BindClaim | ClaimPhase | SetProvisioner
Step = Write | Event | EnqueueClaim


def bind_steps(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> list[Step]:
    """bind(): the volume to the claim, its phase, the claim to the volume, its phase."""
    return [BindVolume(claim), VolumePhase("Bound"), BindClaim(str((volume.get("metadata") or {}).get("name"))),
            ClaimPhase("Bound", volume)]
