"""The ReplicaSet controller's decisions, as pure functions of what the caches show.

Given a ReplicaSet and the active pods it owns: how many pods to create, which to delete
(manageReplicas), in which batches to send the creates (slowStartBatch), what the status
should say (calculateStatus) and whether it changed enough to write, and when to look again
for pods about to pass minReadySeconds. Kubernetes' pkg/controller/replicaset is the
reference; the controller module only gathers inputs and carries these answers out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.pods import available_at, is_available, is_ready
from minik8s.controllers.common.workload_objects import min_ready_seconds_of
from minik8s.controllers.replicaset.pods import pods_to_delete

BURST_REPLICAS = 500  # Kubernetes' burstReplicas: at most this many creates or deletes per sync
SLOW_START_INITIAL_BATCH_SIZE = 1
REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE = "FailedCreate"
FAILED_DELETE = "FailedDelete"

_COUNT_FIELDS = ("fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration")


@dataclass(frozen=True)
class ReplicaChanges:
    """What manageReplicas would do: create this many pods, or delete these."""

    create: int = 0
    delete: list[JsonObject] = field(default_factory=list)


def desired_replicas(replica_set: Mapping[str, Any]) -> int:
    """spec.replicas (defaulted to 1 when absent, as the apiserver would)."""
    return max(meta.integer(meta.spec_of(replica_set).get("replicas"), default=1), 0)


def plan_replicas(
    replica_set: Mapping[str, Any],
    pods: Sequence[JsonObject],
    *,
    related_pods: Iterable[Mapping[str, Any]] = (),
    burst: int = BURST_REPLICAS,
) -> ReplicaChanges:
    """Compare the active owned pods with spec.replicas: create the shortfall, delete the excess."""
    difference = len(pods) - desired_replicas(replica_set)
    if difference < 0:
        return ReplicaChanges(create=min(-difference, burst))
    if difference > 0:
        return ReplicaChanges(delete=pods_to_delete(pods, min(difference, burst), related=related_pods))
    return ReplicaChanges()


def slow_start_batches(count: int, *, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """Batch sizes of slowStartBatch: 1, 2, 4, ... doubling, never past `count` in total."""
    batches: list[int] = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return batches


def template_labels_of(replica_set: Mapping[str, Any]) -> dict[str, str]:
    template = meta.spec_of(replica_set).get("template")
    return meta.labels_of(template) if isinstance(template, Mapping) else {}


def _with_failure(
    status: JsonObject, *, failure: str | None, difference: int, now: datetime
) -> None:
    """Add a ReplicaFailure condition on a failed manageReplicas, drop it once one succeeds."""
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    existing = meta.find_condition(status.get("conditions"), REPLICA_FAILURE)
    if failure is not None and existing is None:
        reason = FAILED_CREATE if difference < 0 else FAILED_DELETE if difference > 0 else ""
        conditions.append({"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": meta.format_time(now),
                           "reason": reason, "message": failure})
    elif failure is None and existing is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def compute_status(
    replica_set: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    failure: str | None = None,
) -> JsonObject:
    """calculateStatus + observedGeneration: counts of the active owned pods; zero counts omitted.

    `failure` is the error message of this sync's creates/deletes, if they failed.
    """
    template_labels = template_labels_of(replica_set)
    min_ready = min_ready_seconds_of(replica_set)
    counts = {
        "fullyLabeledReplicas": sum(
            1 for pod in pods if all(meta.labels_of(pod).get(k) == v for k, v in template_labels.items())
        ),
        "readyReplicas": sum(1 for pod in pods if is_ready(pod)),
        "availableReplicas": sum(1 for pod in pods if is_available(pod, min_ready_seconds=min_ready, now=now)),
        "observedGeneration": meta.generation_of(replica_set),
    }
    status: JsonObject = copy.deepcopy(dict(meta.status_of(replica_set)))
    status["replicas"] = len(pods)
    for name, value in counts.items():
        if value:
            status[name] = value
        else:
            status.pop(name, None)
    _with_failure(status, failure=failure, difference=len(pods) - desired_replicas(replica_set), now=now)
    return status


def status_changed(replica_set: Mapping[str, Any], new_status: Mapping[str, Any]) -> bool:
    """updateReplicaSetStatus's test: any count, the observed generation, or the conditions differ."""
    old = meta.status_of(replica_set)
    for name in ("replicas", *_COUNT_FIELDS):
        if meta.integer(old.get(name), default=0) != meta.integer(new_status.get(name), default=0):
            return True
    return (old.get("conditions") or []) != (new_status.get("conditions") or [])


def next_availability_check(
    replica_set: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], *, now: datetime
) -> float | None:
    """Seconds until the next ready pod passes minReadySeconds (so availability is recounted then)."""
    min_ready = min_ready_seconds_of(replica_set)
    if min_ready <= 0:
        return None
    moments = [
        moment for pod in pods
        if is_ready(pod) and not is_available(pod, min_ready_seconds=min_ready, now=now)
        and (moment := available_at(pod, min_ready_seconds=min_ready)) is not None
    ]
    if not moments:
        return None
    return max((min(moments) - now).total_seconds(), 0.0) + 0.1
