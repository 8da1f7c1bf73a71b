"""A StatefulSet's status: the counts `kubectl get sts` and `kubectl rollout status` read.

`replicas` counts the pods that exist, `readyReplicas` those Running and Ready, `availableReplicas`
those ready for minReadySeconds, `currentReplicas`/`updatedReplicas` the live ones made from the
current/update revision. A rolling update is complete once every replica is updated and ready:
the update revision then becomes the current one. Kubernetes writes the status only when one of
these changed (stateful_set_control.go: computeReplicaStatus, completeRollingUpdate,
inconsistentStatus); the JSON keeps its field rules (`replicas`, `availableReplicas` and
`collisionCount` always present, the other counts omitted at zero). The controller sets no
conditions: Kubernetes' StatefulSet controller defines none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, generation_of, is_deleting, spec_of, status_of
from minik8s.controllers.common.pods import is_available, is_ready, phase_of
from minik8s.controllers.common.workload_objects import min_ready_seconds_of
from minik8s.controllers.statefulset.identity import replicas_of, revision_of_pod

_COMPARED = ("replicas", "currentReplicas", "readyReplicas", "updatedReplicas", "currentRevision",
             "availableReplicas", "updateRevision")


def is_created(pod: Mapping[str, Any]) -> bool:
    """isCreated: the apiserver has it (a pod it has stored always has a phase)."""
    return bool(phase_of(pod))


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    return phase_of(pod) == "Running" and is_ready(pod)


def is_running_and_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    return is_available(pod, min_ready_seconds=min_ready_seconds, now=now)


def is_unavailable(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """isUnavailable: not available, or on its way out."""
    return not is_running_and_available(pod, min_ready_seconds, now) or is_deleting(pod)


@dataclass
class ReplicaCounts:
    replicas: int = 0
    ready: int = 0
    available: int = 0
    current: int = 0
    updated: int = 0


def count_replicas(pods: Iterable[Mapping[str, Any]], *, min_ready_seconds: int, current_revision: str,
                   update_revision: str, now: datetime) -> ReplicaCounts:
    """computeReplicaStatus over `pods` (pods not yet created count nothing)."""
    counts = ReplicaCounts()
    for pod in pods:
        created = is_created(pod)
        counts.replicas += created
        if is_running_and_ready(pod):
            counts.ready += 1
            counts.available += is_running_and_available(pod, min_ready_seconds, now)
        if created and not is_deleting(pod):
            counts.current += revision_of_pod(pod) == current_revision
            counts.updated += revision_of_pod(pod) == update_revision
    return counts


def status_json(stateful_set: Mapping[str, Any], counts: ReplicaCounts, *, current_revision: str,
                update_revision: str, collision_count: int) -> JsonObject:
    """The status as Kubernetes writes it, with a finished rolling update completed."""
    status: JsonObject = {"observedGeneration": generation_of(stateful_set), "replicas": counts.replicas,
                          "readyReplicas": counts.ready, "currentReplicas": counts.current,
                          "updatedReplicas": counts.updated, "currentRevision": current_revision,
                          "updateRevision": update_revision, "collisionCount": collision_count,
                          "availableReplicas": counts.available}
    _complete_rolling_update(stateful_set, status)
    keep_always = ("replicas", "availableReplicas", "collisionCount")
    return {key: value for key, value in status.items() if key in keep_always or value not in (0, "")}


def _complete_rolling_update(stateful_set: Mapping[str, Any], status: JsonObject) -> None:
    """completeRollingUpdate: every replica updated and ready makes the update revision current."""
    strategy = spec_of(stateful_set).get("updateStrategy")
    rolling = not isinstance(strategy, Mapping) or (strategy.get("type") or "RollingUpdate") == "RollingUpdate"
    wanted = replicas_of(stateful_set)
    if rolling and status["updatedReplicas"] == wanted and status["readyReplicas"] == wanted \
            and status["replicas"] == wanted:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


def status_changed(stateful_set: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """inconsistentStatus: a newer generation observed, or any count or revision differs."""
    current = status_of(stateful_set)
    if int(status.get("observedGeneration") or 0) > int(current.get("observedGeneration") or 0):
        return True
    return any((status.get(key) or 0) != (current.get(key) or 0) for key in _COMPARED)


def min_ready_requeue(stateful_set: Mapping[str, Any], counts: ReplicaCounts) -> float | None:
    """syncStatefulSet: with minReadySeconds, look again then while not every replica is available."""
    min_ready = min_ready_seconds_of(stateful_set)
    if min_ready > 0 and counts.available != replicas_of(stateful_set):
        return float(min_ready)
    return None
