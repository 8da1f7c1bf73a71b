"""The ReplicaSets of one Deployment sync, and the arithmetic of sizing them.

A sync of a Deployment decides new sizes (and annotations) for several ReplicaSets in
sequence, each step reading what the previous one decided — exactly as Kubernetes' controller
does by updating ReplicaSets one API call at a time. `ReplicaSetState` is one ReplicaSet with
its planned size, so the plan can make all those decisions in memory and the controller can
write only what changed. The sizing rules (how far the new ReplicaSet may grow, proportional
scaling mid-rollout, saturation, which ReplicaSet is "the" active one) are Kubernetes'
deployment util functions over these states.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, annotations_of, integer, name_of, spec_of, status_of, uid_of
from minik8s.controllers.common.workload_objects import by_creation
from minik8s.controllers.deployment.spec import DeploymentSpec
from minik8s.controllers.deployment.status import ReplicaCounts, counts_of
from minik8s.controllers.deployment.template import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    revision_of,
    set_replicas_annotations,
)


@dataclass
class ReplicaSetState:
    """A ReplicaSet as this sync plans it: the cached object (or the body to create) and changes."""

    obj: JsonObject
    replicas: int
    annotations: dict[str, str]
    min_ready_seconds: int
    creating: bool = False
    events: list[str] = field(default_factory=list)  # ScalingReplicaSet messages, once written

    @classmethod
    def of(cls, obj: JsonObject, *, creating: bool = False) -> ReplicaSetState:
        spec = spec_of(obj)
        return cls(obj=obj, replicas=max(integer(spec.get("replicas"), default=1), 0),
                   annotations=annotations_of(obj), min_ready_seconds=integer(spec.get("minReadySeconds"), default=0),
                   creating=creating)

    @property
    def name(self) -> str:
        return name_of(self.obj)

    @property
    def uid(self) -> str:
        return uid_of(self.obj)

    @property
    def available(self) -> int:
        return integer(status_of(self.obj).get("availableReplicas"), default=0)

    @property
    def current(self) -> int:
        return integer(status_of(self.obj).get("replicas"), default=0)

    @property
    def created(self) -> tuple[datetime, str]:
        return by_creation(self.obj)

    @property
    def revision(self) -> int:
        return revision_of({"metadata": {"annotations": self.annotations}}) or 0

    def counts(self) -> ReplicaCounts:
        return counts_of(self.obj, desired=self.replicas)

    def changed(self) -> bool:
        """Whether the planned ReplicaSet differs from the cached one (always false when creating)."""
        if self.creating:
            return False
        cached = ReplicaSetState.of(self.obj)
        return (self.replicas, self.annotations, self.min_ready_seconds) != (
            cached.replicas, cached.annotations, cached.min_ready_seconds)

    def scale(self, new_size: int, *, spec: DeploymentSpec, operation: str) -> bool:
        """scaleReplicaSet: set size and the replicas annotations; True if the size changed."""
        resized = self.replicas != new_size
        annotated = set_replicas_annotations(self.annotations, desired=spec.replicas, maximum=spec.max_replicas)
        if resized or annotated:
            old_size, self.replicas = self.replicas, new_size
            if resized:
                self.events.append(f"Scaled {operation} replica set {self.name} to {new_size} from {old_size}")
        return resized

    def scale_to(self, new_size: int, *, spec: DeploymentSpec) -> bool:
        """scaleReplicaSetAndRecordEvent: nothing when already that size."""
        if self.replicas == new_size:
            return False
        return self.scale(new_size, spec=spec, operation="up" if self.replicas < new_size else "down")


def total_replicas(states: Iterable[ReplicaSetState | None]) -> int:
    return sum(state.replicas for state in states if state is not None)


def total_available(states: Iterable[ReplicaSetState | None]) -> int:
    return sum(state.available for state in states if state is not None)


def active(states: Iterable[ReplicaSetState | None]) -> list[ReplicaSetState]:
    """FilterActiveReplicaSets: those with replicas planned."""
    return [state for state in states if state is not None and state.replicas > 0]


def oldest_first(states: Iterable[ReplicaSetState]) -> list[ReplicaSetState]:
    return sorted(states, key=lambda state: state.created)


def _annotation_int(state: ReplicaSetState, key: str) -> int | None:
    try:
        return int(state.annotations[key])
    except (KeyError, ValueError):
        return None


def desired_annotation(state: ReplicaSetState) -> int | None:
    return _annotation_int(state, DESIRED_REPLICAS)


def new_rs_new_replicas(spec: DeploymentSpec, all_states: Sequence[ReplicaSetState], new: ReplicaSetState) -> int:
    """NewRSNewReplicas: grow the new ReplicaSet as far as maxSurge allows, never past spec.replicas."""
    if not spec.is_rolling_update:
        return spec.replicas
    current = total_replicas(all_states)
    max_total = spec.replicas + spec.max_surge
    if current >= max_total:
        return new.replicas
    return new.replicas + min(max_total - current, spec.replicas - new.replicas)


def is_saturated(spec: DeploymentSpec, new: ReplicaSetState | None) -> bool:
    """IsSaturated: the new ReplicaSet is meant to, and does, hold every replica, all available."""
    if new is None:
        return False
    return (new.replicas == spec.replicas and desired_annotation(new) == spec.replicas
            and new.available == spec.replicas)


def find_active_or_latest(new: ReplicaSetState | None, olds: Sequence[ReplicaSetState]) -> ReplicaSetState | None:
    """FindActiveOrLatest: the only active ReplicaSet, the newest when none is; None if several are."""
    if new is None and not olds:
        return None
    newest_first = sorted(olds, key=lambda state: state.created, reverse=True)
    candidates = active([*newest_first, new])
    if not candidates:
        return new if new is not None else newest_first[0]
    return candidates[0] if len(candidates) == 1 else None


def _fraction(state: ReplicaSetState, spec: DeploymentSpec, status_replicas: int) -> int:
    """getReplicaSetFraction: the share of the new total this ReplicaSet's current size earns."""
    if spec.replicas == 0:
        return -state.replicas
    annotated = _annotation_int(state, MAX_REPLICAS)
    if annotated is None:
        annotated = status_replicas
    if annotated <= 0:
        return 0
    return math.floor(state.replicas * spec.max_replicas / annotated + 0.5) - state.replicas


def proportion(state: ReplicaSetState, spec: DeploymentSpec, *, to_add: int, added: int,
               status_replicas: int) -> int:
    """GetProportion: this ReplicaSet's part of `to_add`, never beyond what is left to add."""
    if state.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(state, spec, status_replicas)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_sizes(spec: DeploymentSpec, states: Sequence[ReplicaSetState], *,
                       status_replicas: int) -> tuple[list[tuple[ReplicaSetState, int]], str]:
    """The proportional part of `scale`: new sizes of the active ReplicaSets, and up/down/''.

    Growing, larger then newer ReplicaSets come first; shrinking, larger then older ones. The
    first takes the rounding leftovers.
    """
    allowed = spec.replicas + spec.max_surge if spec.replicas > 0 else 0
    to_add = allowed - total_replicas(states)
    if to_add > 0:
        newest_first = sorted(states, key=lambda s: s.created, reverse=True)
        ordered = sorted(newest_first, key=lambda s: -s.replicas)  # stable: ties stay newest first
        operation = "up"
    elif to_add < 0:
        ordered = sorted(states, key=lambda s: (-s.replicas, s.created))
        operation = "down"
    else:
        ordered, operation = list(states), ""
    sizes: list[tuple[ReplicaSetState, int]] = []
    added = 0
    for state in ordered:
        share = proportion(state, spec, to_add=to_add, added=added, status_replicas=status_replicas)
        sizes.append((state, state.replicas + share))
        added += share
    if sizes and to_add != 0:
        first, size = sizes[0]
        sizes[0] = (first, max(size + to_add - added, 0))
    return sizes, operation


def old_pods_running(new: ReplicaSetState | None, olds: Sequence[ReplicaSetState],
                     pods_by_owner: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    """oldPodsRunning: an old ReplicaSet reports pods, or a pod of one is not yet terminal."""
    if sum(state.current for state in olds) > 0:
        return True
    for owner_uid, pods in pods_by_owner.items():
        if new is not None and owner_uid == new.uid:
            continue
        for pod in pods:
            if status_of(pod).get("phase") not in ("Succeeded", "Failed"):
                return True
    return False
