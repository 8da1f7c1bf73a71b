"""The pod conditions the kubelet owns: Initialized, Ready, ContainersReady and PodScheduled.

Service endpoints, Deployments' availability and `kubectl wait --for=condition=Ready` all
read these, with their reasons, messages and `lastTransitionTime`. A transition time moves
only when a condition's status changes; conditions other components own (readiness gates
among them) are kept as they were and gate `Ready`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, format_time, spec_of, status_of
from minik8s.node.pod_phase import FAILED, SUCCEEDED

KUBELET_CONDITIONS = ("PodScheduled", "Initialized", "Ready", "ContainersReady", "PodReadyToStartContainers")


def pod_conditions(
    pod: Mapping[str, Any],
    *,
    init_statuses: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    phase: str,
    now: datetime,
) -> list[JsonObject]:
    """Conditions not owned by the kubelet (kept), then Initialized, Ready, ContainersReady, PodScheduled."""
    spec = spec_of(pod)
    old_conditions = list(status_of(pod).get("conditions") or [])
    kept = [dict(condition) for condition in old_conditions if condition.get("type") not in KUBELET_CONDITIONS]
    containers_ready = _containers_ready(spec, [*init_statuses, *statuses], phase)
    ready = _ready(spec, containers_ready, kept)
    generated = [
        _initialized(spec, init_statuses, statuses, phase),
        ready,
        containers_ready,
        {"type": "PodScheduled", "status": "True"},
    ]
    old_by_type = {condition.get("type"): condition for condition in old_conditions}
    stamp = format_time(now)
    for condition in generated:
        old = old_by_type.get(condition["type"]) or {}
        unchanged = old.get("status") == condition["status"] and old.get("lastTransitionTime")
        condition["lastTransitionTime"] = old["lastTransitionTime"] if unchanged else stamp
    return kept + generated


def _condition(kind: str, *, ok: bool, reason: str = "", message: str = "") -> JsonObject:
    condition: JsonObject = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _containers_ready(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]], phase: str) -> JsonObject:
    if phase == SUCCEEDED:
        return _condition("ContainersReady", ok=False, reason="PodCompleted")
    if phase == FAILED:
        return _condition("ContainersReady", ok=False, reason="PodFailed")
    by_name = {str(status["name"]): status for status in statuses}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    unready = [
        str(container.get("name"))
        for container in [*sidecars, *(spec.get("containers") or [])]
        if not by_name.get(str(container.get("name")), {}).get("ready")
    ]
    if unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        return _condition("ContainersReady", ok=False, reason="ContainersNotReady", message=message)
    return _condition("ContainersReady", ok=True)


def _ready(spec: Mapping[str, Any], containers_ready: Mapping[str, Any], conditions: Sequence[Mapping[str, Any]]) -> JsonObject:
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": "Ready"}
    by_type = {condition.get("type"): condition for condition in conditions}
    messages = []
    for gate in spec.get("readinessGates") or []:
        kind = str(gate.get("conditionType"))
        found = by_type.get(kind)
        if found is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif found.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but {found.get("status")}')
    if messages:
        return _condition("Ready", ok=False, reason="ReadinessGatesNotReady", message=", ".join(messages))
    return _condition("Ready", ok=True)


def _initialized(
    spec: Mapping[str, Any], init_statuses: Sequence[Mapping[str, Any]], statuses: Sequence[Mapping[str, Any]],
    phase: str,
) -> JsonObject:
    if phase == SUCCEEDED:
        return _condition("Initialized", ok=True, reason="PodCompleted")
    if any("running" in s["state"] or "terminated" in s["state"] for s in statuses):
        return _condition("Initialized", ok=True)  # an app container started: initialized before
    by_name = {str(status["name"]): status for status in init_statuses}
    incomplete = []
    for container in spec.get("initContainers") or []:
        status = by_name.get(str(container.get("name")), {})
        done = status.get("started") if container.get("restartPolicy") == "Always" else status.get("ready")
        if not done:
            incomplete.append(str(container.get("name")))
    if incomplete:
        message = f"containers with incomplete status: [{' '.join(incomplete)}]"
        return _condition("Initialized", ok=False, reason="ContainersNotInitialized", message=message)
    return _condition("Initialized", ok=True)
