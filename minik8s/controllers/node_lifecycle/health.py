"""What a node's heartbeat says about it, as pure decisions: Unknown conditions and taints.

The node lifecycle controller only gathers a node, its Lease and the time, and writes what
these functions decide: when a heartbeat counts as seen (by our clock, never the agent's),
which conditions a silent node shows (Kubernetes' "Kubelet stopped posting node status."),
which of the controller-owned taints (`unreachable`/`not-ready` NoExecute, `unschedulable`
NoSchedule) it should carry, and how a pod on a silent node is marked not ready. A part of a Node
of the wrong shape (stored before the API checked it) reads as absent: one poison Node must not
fail the controller on every retry.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
)
from minik8s.controllers.node_lifecycle.taint_eviction import no_execute_taints

NODE_CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_MANAGED_TAINTS = frozenset({(TAINT_NOT_READY, NO_EXECUTE), (TAINT_UNREACHABLE, NO_EXECUTE),
                             (TAINT_UNSCHEDULABLE, NO_SCHEDULE)})


def ready_status(node: Mapping[str, Any]) -> str | None:
    """"True", "False", "Unknown", or None when the agent never posted a Ready condition."""
    condition = meta.condition_of(node, "Ready")
    return str(condition.get("status")) if condition is not None else None


@dataclass(frozen=True)
class HeartbeatProbe:
    """The last heartbeat seen (lease renewTime, Ready lastHeartbeatTime) and when we saw it change."""

    signature: tuple[str, str]
    observed_at: float


def heartbeat_signature(node: Mapping[str, Any], lease: Mapping[str, Any] | None) -> tuple[str, str]:
    renew_time = str(meta.spec_of(lease).get("renewTime") or "") if lease is not None else ""
    ready = meta.condition_of(node, "Ready") or {}
    return renew_time, str(ready.get("lastHeartbeatTime") or "")


def observe_heartbeat(previous: HeartbeatProbe | None, signature: tuple[str, str], *, now: float) -> HeartbeatProbe:
    """A changed signature (or a node seen for the first time) counts as a heartbeat at `now`."""
    if previous is not None and previous.signature == signature:
        return previous
    return HeartbeatProbe(signature, now)


def unknown_conditions(node: Mapping[str, Any], *, now: datetime) -> list[JsonObject] | None:
    """The node's conditions once its agent went silent (all Unknown); None if they already are."""
    stamp = meta.format_time(now)
    created = str(meta.metadata_of(node).get("creationTimestamp") or stamp)
    conditions = [dict(c) for c in meta.list_at(meta.status_of(node), "conditions") if isinstance(c, dict)]
    changed = False
    for condition_type in NODE_CONDITION_TYPES:
        existing = next((c for c in conditions if c.get("type") == condition_type), None)
        if existing is None:
            conditions.append({"type": condition_type, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.", "lastHeartbeatTime": created,
                               "lastTransitionTime": stamp})
            changed = True
        elif existing.get("status") != "Unknown":
            existing.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.", lastTransitionTime=stamp)
            changed = True
    return conditions if changed else None


def desired_taints(node: Mapping[str, Any], *, now: datetime) -> list[JsonObject] | None:
    """The node's taints with the controller-owned ones matching its state; None if unchanged."""
    spec = meta.spec_of(node)
    taints = [taint for taint in meta.list_at(spec, "taints") if isinstance(taint, dict)]
    present = {_key_and_effect(taint) for taint in taints}
    wanted: set[tuple[str, str]] = set()
    ready = ready_status(node)
    if ready == "False":
        wanted.add((TAINT_NOT_READY, NO_EXECUTE))
    elif ready == "Unknown":
        wanted.add((TAINT_UNREACHABLE, NO_EXECUTE))
    elif ready is None:  # never reported: leave the NoExecute taints as they are
        wanted |= {pair for pair in _MANAGED_TAINTS if pair[1] == NO_EXECUTE and pair in present}
    if spec.get("unschedulable") is True:
        wanted.add((TAINT_UNSCHEDULABLE, NO_SCHEDULE))
    result = [taint for taint in taints
              if _key_and_effect(taint) not in _MANAGED_TAINTS or _key_and_effect(taint) in wanted]
    for key, effect in sorted(wanted - present):
        taint: JsonObject = {"key": key, "effect": effect}
        if effect == NO_EXECUTE:
            taint["timeAdded"] = meta.format_time(now)
        result.append(taint)
    return result if result != taints else None


def _key_and_effect(taint: Mapping[str, Any]) -> tuple[str, str]:
    """What names a taint; a key or effect of the wrong type names none of the controller's own taints."""
    key, effect = taint.get("key"), taint.get("effect")
    return (key if isinstance(key, str) else repr(key)), (effect if isinstance(effect, str) else repr(effect))


@dataclass(frozen=True)
class NodePlan:
    conditions: list[JsonObject] | None = None  # new status.conditions to write
    taints: list[JsonObject] | None = None  # new spec.taints to write
    report_not_ready: bool = False  # the controller turned a Ready node Unknown: record NodeNotReady


def plan_node(node: Mapping[str, Any], *, stale: bool, now: datetime) -> NodePlan:
    """Conditions (when the heartbeat is stale) and then the taints that follow from them."""
    conditions = unknown_conditions(node, now=now) if stale else None
    after = node
    if conditions is not None:
        after = {**node, "status": {**meta.status_of(node), "conditions": conditions}}
    return NodePlan(conditions=conditions, taints=desired_taints(after, now=now),
                    report_not_ready=conditions is not None and ready_status(node) == "True")


def pod_not_ready_status(pod: Mapping[str, Any], *, now: datetime) -> JsonObject | None:
    """The pod's status with Ready=False (its node went silent); None if it is not Ready=True."""
    if not meta.is_condition_true(pod, "Ready"):
        return None
    status = copy.deepcopy(dict(meta.status_of(pod)))
    for condition in meta.list_at(status, "conditions"):
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            condition.update(status="False", lastTransitionTime=meta.format_time(now))
    return dict(status)


def needs_attention(node: Mapping[str, Any] | None) -> bool:
    """Pods on this node need a look: it is gone, silent, or carries a NoExecute taint."""
    return node is None or ready_status(node) == "Unknown" or bool(no_execute_taints(node))
