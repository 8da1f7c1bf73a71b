"""What the ReplicaSet controller asks of its pods: active, ready, available, which to delete first.

Kubernetes answers these in podutil (IsPodReady, IsPodAvailable) and controller_utils
(FilterActivePods, ActivePodsWithRanks); `kubectl get rs` READY/AVAILABLE and the Deployment's
rolling update both rest on them, so they must agree exactly. They live here as pure functions
over plain pod JSON, with `now` passed in so tests can pin time. Building a pod from a template
(GetPodFromTemplate) is here too: it is the other half of "make the pods match".
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.meta import (
    JsonObject,
    annotations_of,
    labels_of,
    metadata_of,
    name_of,
    parse_time,
    spec_of,
    status_of,
    uid_of,
)

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

# Kubernetes' podPhaseToOrdinal: pods earlier in their life are deleted first.
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def phase_of(pod: Mapping[str, Any]) -> str:
    return str(status_of(pod).get("phase") or "")


def node_name_of(pod: Mapping[str, Any]) -> str:
    return str(spec_of(pod).get("nodeName") or "")


def is_active(pod: Mapping[str, Any]) -> bool:
    """FilterActivePods: not Succeeded, not Failed, not being deleted."""
    return phase_of(pod) not in ("Succeeded", "Failed") and not metadata_of(pod).get("deletionTimestamp")


def ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in status_of(pod).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When a ready pod last became ready (the Ready condition's lastTransitionTime)."""
    condition = ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    return parse_time(condition.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], *, min_ready_seconds: int, now: datetime) -> bool:
    """IsPodAvailable: ready, and for more than minReadySeconds (at once when that is 0)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def available_at(pod: Mapping[str, Any], *, min_ready_seconds: int) -> datetime | None:
    """When a ready but not yet available pod turns available; None if not ready or no clock."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    return since + timedelta(seconds=min_ready_seconds)


def _deletion_cost(pod: Mapping[str, Any]) -> int:
    try:
        return int(annotations_of(pod).get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _max_restarts(pod: Mapping[str, Any]) -> int:
    counts = [
        status.get("restartCount", 0)
        for status in status_of(pod).get("containerStatuses") or []
        if isinstance(status, Mapping) and isinstance(status.get("restartCount", 0), int)
    ]
    return max(counts, default=0)


def _newer_first(moment: datetime | None) -> float:
    """Sort key putting a missing time first, then later times before earlier ones."""
    return float("-inf") if moment is None else -moment.timestamp()


def related_pod_ranks(pods: Sequence[Mapping[str, Any]], related: Iterable[Mapping[str, Any]]) -> list[int]:
    """getPodsRankedByRelatedPodsOnSameNode: per pod, how many related active pods share its node."""
    per_node: dict[str, int] = {}
    for pod in related:
        node = node_name_of(pod)
        if node and is_active(pod):
            per_node[node] = per_node.get(node, 0) + 1
    return [per_node.get(node_name_of(pod), 0) if node_name_of(pod) else 0 for pod in pods]


def deletion_order_key(pod: Mapping[str, Any], rank: int) -> tuple[Any, ...]:
    """ActivePodsWithRanks: smaller keys are deleted first.

    Unscheduled < scheduled; Pending < Unknown < Running; not ready < ready; lower
    pod-deletion-cost first; more pods of the same owner on its node first; ready for a shorter
    time first; more container restarts first; newer first.
    """
    ready = is_ready(pod)
    return (
        bool(node_name_of(pod)),
        _PHASE_ORDINAL.get(phase_of(pod), 0),
        ready,
        _deletion_cost(pod),
        -rank,
        _newer_first(ready_since(pod)) if ready else 0.0,
        -_max_restarts(pod),
        _newer_first(parse_time(metadata_of(pod).get("creationTimestamp"))),
    )


def pods_to_delete(
    pods: Sequence[JsonObject], count: int, *, related: Iterable[Mapping[str, Any]] = ()
) -> list[JsonObject]:
    """getPodsToDelete: the `count` pods to remove, the least valuable first."""
    if count >= len(pods):
        return list(pods)
    ranks = related_pod_ranks(pods, related)
    ordered = sorted(range(len(pods)), key=lambda index: deletion_order_key(pods[index], ranks[index]))
    return [pods[index] for index in ordered[:count]]


def pod_from_template(owner: Mapping[str, Any], *, owner_reference: Mapping[str, Any]) -> JsonObject:
    """GetPodFromTemplate: a new pod of `owner`'s template, named `<owner>-<random>`, owned by it."""
    raw_template = spec_of(owner).get("template")
    template: Mapping[str, Any] = raw_template if isinstance(raw_template, Mapping) else {}
    template_metadata = metadata_of(template)
    metadata: JsonObject = {
        "generateName": f"{name_of(owner)}-",
        "namespace": str(metadata_of(owner).get("namespace") or "default"),
        "ownerReferences": [dict(owner_reference)],
    }
    labels = labels_of({"metadata": template_metadata})
    if labels:
        metadata["labels"] = labels
    annotations = annotations_of({"metadata": template_metadata})
    if annotations:
        metadata["annotations"] = annotations
    finalizers = template_metadata.get("finalizers")
    if isinstance(finalizers, list) and finalizers:
        metadata["finalizers"] = list(finalizers)
    spec = template.get("spec")
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": copy.deepcopy(dict(spec)) if isinstance(spec, Mapping) else {},
    }


def pod_uids(pods: Iterable[Mapping[str, Any]]) -> set[str]:
    return {uid_of(pod) for pod in pods}
