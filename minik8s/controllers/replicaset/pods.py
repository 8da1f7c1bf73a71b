"""Which of a ReplicaSet's pods go first when it shrinks, and the pod its template makes.

Kubernetes ranks pods for deletion in controller_utils (ActivePodsWithRanks, getPodsToDelete):
unscheduled, pending, not ready, cheap and crowded pods go before settled ones, so scaling down
costs as little availability as possible. Building a pod from a template (GetPodFromTemplate)
is here too: it is the other half of "make the pods match". Readiness and availability, which
every workload controller shares, are in `common.pods`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.pods import is_active, is_ready, node_name_of, phase_of, ready_since

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

# Kubernetes' podPhaseToOrdinal: pods earlier in their life are deleted first.
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def _deletion_cost(pod: Mapping[str, Any]) -> int:
    try:
        return int(meta.annotations_of(pod).get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _max_restarts(pod: Mapping[str, Any]) -> int:
    counts = [
        status.get("restartCount", 0)
        for status in meta.status_of(pod).get("containerStatuses") or []
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
        _newer_first(meta.parse_time(meta.metadata_of(pod).get("creationTimestamp"))),
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
    raw_template = meta.spec_of(owner).get("template")
    template: Mapping[str, Any] = raw_template if isinstance(raw_template, Mapping) else {}
    template_metadata = meta.metadata_of(template)
    metadata: JsonObject = {
        "generateName": f"{meta.name_of(owner)}-",
        "namespace": str(meta.metadata_of(owner).get("namespace") or "default"),
        "ownerReferences": [dict(owner_reference)],
    }
    labels = meta.labels_of({"metadata": template_metadata})
    if labels:
        metadata["labels"] = labels
    annotations = meta.annotations_of({"metadata": template_metadata})
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
    return {meta.uid_of(pod) for pod in pods}
