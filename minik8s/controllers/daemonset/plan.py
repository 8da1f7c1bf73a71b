"""The DaemonSet decision: from a DaemonSet, the nodes and the pods, what to create, delete and report.

A pure plan, as every controller here keeps one (the controller pattern, see
docs/architecture.md), so every rule is unit-tested with built objects. It follows Kubernetes'
daemon controller (`syncDaemonSet`): claim pods (adopt matching orphans, release owned pods
that no longer match), place — one pod on every eligible node, none elsewhere, failed pods
replaced (with a per-node backoff), excess pods removed — then, when placement had nothing to
do, take one rolling-update step; and compute the status counts `kubectl get ds` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.api.selectors import SelectorError, label_selector_from_object
from minik8s.controllers.common.events import PlannedEvent
from minik8s.controllers.common.pods import is_available, is_ready, is_terminal, node_name_of, phase_of
from minik8s.controllers.common.workload_objects import controller_reference, min_ready_seconds_of
from minik8s.controllers.daemonset.nodes import Placement, node_should_run
from minik8s.controllers.daemonset.pods import (
    REVISION_HASH_LABEL,
    age_order,
    target_node,
    template_hash,
)
from minik8s.controllers.daemonset.rollout import allows_surge, roll, rolling_update_of, rollout_limits

_STATUS_COUNTS = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                  "updatedNumberScheduled", "numberAvailable", "numberUnavailable")
_OMITTED_WHEN_ZERO = frozenset({"updatedNumberScheduled", "numberAvailable", "numberUnavailable"})


@dataclass(frozen=True)
class OwnerChange:
    """Adopt (add our controller reference) or release (remove it): the pod's new ownerReferences."""

    pod_name: str
    resource_version: str
    owner_references: tuple[JsonObject, ...]
    adopt: bool


@dataclass(frozen=True)
class DaemonSetInputs:
    daemon_set: Mapping[str, Any]
    nodes: Sequence[Mapping[str, Any]]
    pods: Sequence[Mapping[str, Any]]  # every pod of the DaemonSet's namespace
    now: datetime
    expectations_satisfied: bool = True
    failed_pod_backoff: Mapping[str, float] = field(default_factory=dict)  # node -> seconds still to wait


@dataclass
class DaemonSetPlan:
    revision_hash: str = ""
    owner_changes: list[OwnerChange] = field(default_factory=list)
    create_on: list[str] = field(default_factory=list)  # node names
    delete: list[str] = field(default_factory=list)  # pod names
    orphaned: list[str] = field(default_factory=list)  # pods on nodes that are gone: force-delete once confirmed
    failed_pod_nodes: list[str] = field(default_factory=list)  # nodes whose failed pod is replaced now
    status: JsonObject | None = None  # the new status, when it differs
    events: list[PlannedEvent] = field(default_factory=list)
    requeue_after: float | None = None

    def requeue_within(self, seconds: float) -> None:
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)


def plan_daemon_set(inputs: DaemonSetInputs) -> DaemonSetPlan:
    daemon_set = inputs.daemon_set
    plan = DaemonSetPlan()
    if meta.is_deleting(daemon_set):
        return plan  # the garbage collector removes its pods; status would be meaningless
    selector_spec = meta.spec_of(daemon_set).get("selector")
    try:
        selector = label_selector_from_object(selector_spec)
    except SelectorError as error:
        plan.events.append(PlannedEvent("Warning", "InvalidSelector", f"Invalid selector: {error}"))
        return plan
    if selector.is_empty():
        message = "This daemon set is selecting all pods. A non-empty selector is required."
        plan.events.append(PlannedEvent("Warning", "SelectingAll", message))
        return plan
    template = meta.mapping_at(meta.spec_of(daemon_set), "template")
    collision_count = int(meta.status_of(daemon_set).get("collisionCount") or 0)
    plan.revision_hash = template_hash(template, collision_count)
    owned = _claim(daemon_set, inputs.pods, plan, matches=lambda pod: selector.matches(meta.labels_of(pod)))
    placements = {meta.name_of(node): node_should_run(daemon_set, node) for node in inputs.nodes}
    if inputs.expectations_satisfied:
        _place(inputs, owned, placements, plan)
        if not (plan.create_on or plan.delete or plan.orphaned):
            _roll(inputs, owned, placements, plan)
    plan.status = _status(inputs, owned, placements, plan, observed=inputs.expectations_satisfied)
    return plan


def _claim(daemon_set: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], plan: DaemonSetPlan, *,
           matches: Callable[[Mapping[str, Any]], bool]) -> list[Mapping[str, Any]]:
    """Kubernetes' ClaimPods: ours if our controller reference and the selector match; adopt orphans."""
    our_uid = meta.uid_of(daemon_set)
    owned: list[Mapping[str, Any]] = []
    for pod in pods:
        reference = meta.controller_ref_of(pod)
        references = [dict(r) for r in meta.owner_references_of(pod)]
        resource_version = meta.resource_version_of(pod)
        if reference is not None and reference.get("uid") != our_uid:
            continue
        if reference is not None and matches(pod):
            owned.append(pod)
        elif reference is not None:
            kept = tuple(r for r in references if r.get("uid") != our_uid)
            plan.owner_changes.append(OwnerChange(meta.name_of(pod), resource_version, kept, adopt=False))
        elif matches(pod) and not meta.is_deleting(pod):
            adopted = (*references, controller_reference(daemon_set, api_version="apps/v1", kind="DaemonSet"))
            plan.owner_changes.append(OwnerChange(meta.name_of(pod), resource_version, adopted, adopt=True))
            owned.append(pod)
    return owned


def _by_node(pods: Sequence[Mapping[str, Any]], *, skip_deleted_terminal: bool) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        if skip_deleted_terminal and is_terminal(pod) and meta.is_deleting(pod):
            continue  # nothing left to do with it: its node or the garbage collector removes it
        node_name = target_node(pod)
        if node_name is not None:
            grouped.setdefault(node_name, []).append(pod)
    return grouped


def _place(inputs: DaemonSetInputs, owned: list[Mapping[str, Any]], placements: Mapping[str, Placement],
           plan: DaemonSetPlan) -> None:
    """Kubernetes' manage: a pod where one should run, none where none may stay."""
    node_pods = _by_node(owned, skip_deleted_terminal=True)
    surge = allows_surge(inputs.daemon_set)
    for node_name in sorted(placements):
        placement, pods = placements[node_name], node_pods.get(node_name, [])
        if placement.should_run and not pods:
            plan.create_on.append(node_name)
        elif placement.should_continue_running:
            running = _drop_finished(inputs, node_name, pods, plan)
            _keep_one(inputs, node_name, placement, running, plan, surge=surge)
        elif pods:
            plan.delete.extend(meta.name_of(pod) for pod in pods if not meta.is_deleting(pod))
    for node_name, pods in sorted(node_pods.items()):
        if node_name in placements:
            continue
        for pod in pods:
            if node_name_of(pod):
                plan.orphaned.append(meta.name_of(pod))  # bound to a node that is gone
            elif not meta.is_deleting(pod):
                plan.delete.append(meta.name_of(pod))  # meant for a node that is gone


def _drop_finished(inputs: DaemonSetInputs, node_name: str, pods: list[Mapping[str, Any]], plan: DaemonSetPlan) -> list[Mapping[str, Any]]:
    """Delete failed (with backoff) and succeeded pods; return the live ones."""
    running: list[Mapping[str, Any]] = []
    namespace = meta.namespace_of(inputs.daemon_set) or "default"
    for pod in pods:
        if meta.is_deleting(pod):
            continue
        if phase_of(pod) == "Failed":
            delay = inputs.failed_pod_backoff.get(node_name)
            if delay is not None and delay > 0:
                plan.requeue_within(delay)
                continue
            message = f"Found failed daemon pod {namespace}/{meta.name_of(pod)} on node {node_name}, will try to kill it"
            plan.events.append(PlannedEvent("Warning", "FailedDaemonPod", message))
            plan.failed_pod_nodes.append(node_name)
            plan.delete.append(meta.name_of(pod))
        elif phase_of(pod) == "Succeeded":
            message = (f"Found succeeded daemon pod {namespace}/{meta.name_of(pod)} on node {node_name}, "
                       "will try to delete it")
            plan.events.append(PlannedEvent("Normal", "SucceededDaemonPod", message))
            plan.delete.append(meta.name_of(pod))
        else:
            running.append(pod)
    return running


def _keep_one(inputs: DaemonSetInputs, node_name: str, placement: Placement, running: list[Mapping[str, Any]],
              plan: DaemonSetPlan, *, surge: bool) -> None:
    """One pod per node: the oldest; with surge, an old ready pod may stay beside a new unready one."""
    ordered = sorted(running, key=age_order)
    if not surge:
        plan.delete.extend(meta.name_of(pod) for pod in ordered[1:])
        return
    if not ordered:
        if placement.should_run:
            plan.create_on.append(node_name)
        return
    oldest_new: Mapping[str, Any] | None = None
    oldest_old: Mapping[str, Any] | None = None
    for pod in ordered:
        if meta.labels_of(pod).get(REVISION_HASH_LABEL) == plan.revision_hash and oldest_new is None:
            oldest_new = pod
        elif meta.labels_of(pod).get(REVISION_HASH_LABEL) != plan.revision_hash and oldest_old is None:
            oldest_old = pod
        else:
            plan.delete.append(meta.name_of(pod))
    if oldest_new is not None and oldest_old is not None:
        min_ready = min_ready_seconds_of(inputs.daemon_set)
        if not is_ready(oldest_old) or is_available(oldest_new, min_ready_seconds=min_ready, now=inputs.now):
            plan.delete.append(meta.name_of(oldest_old))


def _roll(inputs: DaemonSetInputs, owned: list[Mapping[str, Any]], placements: Mapping[str, Placement],
          plan: DaemonSetPlan) -> None:
    if rolling_update_of(inputs.daemon_set) is None:
        return  # OnDelete: new pods only replace the ones users delete
    node_pods = _by_node(owned, skip_deleted_terminal=True)
    desired = [name for name, placement in placements.items() if placement.should_run]
    for node_name in desired:
        node_pods.setdefault(node_name, [])
    try:
        limits = rollout_limits(inputs.daemon_set, len(desired))
    except ValueError as error:
        plan.events.append(PlannedEvent("Warning", "InvalidUpdateStrategy", f"Invalid rolling update: {error}"))
        return
    step = roll(node_pods, revision_hash=plan.revision_hash, limits=limits,
                min_ready_seconds=min_ready_seconds_of(inputs.daemon_set), now=inputs.now,
                should_run=lambda name: name in placements and placements[name].should_run)
    plan.delete.extend(step.delete)
    plan.create_on.extend(step.create_on)


def _status(inputs: DaemonSetInputs, owned: list[Mapping[str, Any]], placements: Mapping[str, Placement],
            plan: DaemonSetPlan, *, observed: bool) -> JsonObject | None:
    """Kubernetes' updateDaemonSetStatus; None when nothing would change."""
    node_pods = _by_node(owned, skip_deleted_terminal=False)
    min_ready = min_ready_seconds_of(inputs.daemon_set)
    counts = dict.fromkeys(_STATUS_COUNTS, 0)
    for node_name, placement in placements.items():
        pods = sorted(node_pods.get(node_name, []), key=age_order)
        if not placement.should_run:
            counts["numberMisscheduled"] += 1 if pods else 0
            continue
        counts["desiredNumberScheduled"] += 1
        if not pods:
            continue
        counts["currentNumberScheduled"] += 1
        oldest = pods[0]
        if is_ready(oldest):
            counts["numberReady"] += 1
            counts["numberAvailable"] += 1 if is_available(oldest, min_ready_seconds=min_ready, now=inputs.now) else 0
        if meta.labels_of(oldest).get(REVISION_HASH_LABEL) == plan.revision_hash:
            counts["updatedNumberScheduled"] += 1
    counts["numberUnavailable"] = counts["desiredNumberScheduled"] - counts["numberAvailable"]
    if min_ready > 0 and counts["numberReady"] != counts["numberAvailable"]:
        plan.requeue_within(float(min_ready))
    current = meta.status_of(inputs.daemon_set)
    generation = meta.generation_of(inputs.daemon_set)
    observed_generation = int(current.get("observedGeneration") or 0)
    unchanged = all(int(current.get(key) or 0) == value for key, value in counts.items())
    if unchanged and observed_generation >= generation:
        return None
    status: JsonObject = {k: v for k, v in current.items() if k not in _STATUS_COUNTS}
    status.update({k: v for k, v in counts.items() if v or k not in _OMITTED_WHEN_ZERO})
    if observed and generation:
        status["observedGeneration"] = generation
    return status


