"""StatefulSets, their revisions, pods and claims as the controller sees them, for the plan's table tests.

`stateful_set()` is a `web` set (app=web) defaulted as the apiserver stores it; `pod()` is the pod the
controller would make for an ordinal and revision, with the status a node agent reports; `summary()`
turns a plan into short tuples (`("create", "web-0")`) that a table row can state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from minik8s.api.defaults import apply_defaults
from minik8s.api.meta import JsonObject, name_of
from minik8s.controllers.statefulset.identity import new_pod
from minik8s.controllers.statefulset.plan import (
    CreateClaims,
    CreatePod,
    DeletePod,
    SetClaimOwners,
    StatefulSetInputs,
    StatefulSetPlan,
    UpdatePod,
)
from minik8s.controllers.statefulset.revisions import new_revision

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SET_UID = "sts-uid"


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def stateful_set(*, replicas: int = 3, image: str = "web:1", policy: str = "OrderedReady",
                 strategy: dict[str, Any] | None = None, claims: Sequence[str] = (),
                 retention: dict[str, str] | None = None, min_ready: int = 0, start: int | None = None,
                 status: dict[str, Any] | None = None, generation: int = 1, deleting: bool = False) -> JsonObject:
    spec: JsonObject = {
        "replicas": replicas, "serviceName": "web", "podManagementPolicy": policy, "minReadySeconds": min_ready,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": image}]}},
        "volumeClaimTemplates": [{"metadata": {"name": name},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}}}} for name in claims],
    }
    if strategy is not None:
        spec["updateStrategy"] = strategy
    if retention is not None:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    if start is not None:
        spec["ordinals"] = {"start": start}
    metadata: JsonObject = {"name": "web", "namespace": "default", "uid": SET_UID, "generation": generation,
                            "resourceVersion": "5", "creationTimestamp": stamp(1000)}
    if deleting:
        metadata["deletionTimestamp"] = stamp(1)
    obj: JsonObject = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata, "spec": spec,
                       "status": status or {}}
    apply_defaults("StatefulSet", obj)
    return obj


def revision(stateful_set: Mapping[str, Any], number: int = 1) -> JsonObject:
    made = new_revision(stateful_set, number, 0)
    made["metadata"].update(uid=f"uid-{name_of(made)}", creationTimestamp=stamp(1000 - number))
    return made


def pod(stateful_set: Mapping[str, Any], ordinal: int, revision_name: str, *, phase: str = "Running",
        ready: bool = True, ready_for: float = 100, deleting: bool = False) -> JsonObject:
    made = new_pod(stateful_set, ordinal, revision_name)
    made["metadata"].update(uid=f"uid-{name_of(made)}", resourceVersion="7", creationTimestamp=stamp(500))
    if deleting:
        made["metadata"]["deletionTimestamp"] = stamp(1)
    condition = {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp(ready_for)}
    made["status"] = {"phase": phase, "conditions": [condition]}
    return made


def claim(name: str, *, owners: Sequence[dict[str, Any]] = (), deleting: bool = False) -> JsonObject:
    metadata: JsonObject = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "9"}
    if owners:
        metadata["ownerReferences"] = [dict(owner) for owner in owners]
    if deleting:
        metadata["deletionTimestamp"] = stamp(1)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
            "spec": {"accessModes": ["ReadWriteOnce"]}}


def inputs(stateful_set: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], *,
           current: Mapping[str, Any] | None = None, update: Mapping[str, Any] | None = None,
           claims: Sequence[Mapping[str, Any]] = (), now: datetime = NOW) -> StatefulSetInputs:
    update = update if update is not None else revision(stateful_set)
    return StatefulSetInputs(stateful_set, current if current is not None else update, update, 0,
                             [copy.deepcopy(dict(p)) for p in pods], {name_of(c): c for c in claims}, now)


def summary(plan: StatefulSetPlan) -> list[tuple[str, ...]]:
    """Each action of the plan as (verb, pod name[, detail]), in the order the phases carry them out."""
    found: list[tuple[str, ...]] = []
    for phase in plan.phases:
        for work in phase.works:
            for action in work:
                found.append(_describe(action))
    return found


def _describe(action: object) -> tuple[str, ...]:
    if isinstance(action, CreatePod):
        return ("create", name_of(action.pod), *(name_of(c) for c in action.claims))
    if isinstance(action, CreateClaims):
        return ("claims", name_of(action.pod), *(name_of(c) for c in action.claims),
                *(u.claim_name for u in action.owners))
    if isinstance(action, UpdatePod):
        return ("update", action.pod_name, *(u.claim_name for u in action.owners))
    if isinstance(action, SetClaimOwners):
        return ("owners", action.pod_name, *(u.claim_name for u in action.owners))
    if isinstance(action, DeletePod):
        return ("delete", action.pod_name)
    raise AssertionError(action)
