"""Preemption, pure: which lower-priority pods on which one node to evict so that a pending pod fits.

kube-scheduler's DefaultPreemption PostFilter (pkg/scheduler/framework/plugins/defaultpreemption and
framework/preemption), run when a pod fits nowhere:

1. Eligibility: a pod with `preemptionPolicy: Never` preempts nobody; nor does one whose nominated node
   still has lower-priority pods terminating because of an earlier preemption (it waits for them).
2. Candidates: every node whose refusal preemption could cure (resources, host ports, anti-affinity:
   not taints, node affinity or a cordon) is tried. On a copy of the node, every pod of lower priority
   is removed; if the pod still does not fit, the node is no candidate. Otherwise the removed pods are
   given back one at a time, most important first (higher priority, then earlier start) — first those
   whose PodDisruptionBudget would be broken by their eviction, then the others — and whichever cannot
   be given back without the pod no longer fitting is a victim. So the victims are few, of low
   priority, and budgets are broken only where nothing else helps.
3. The node: fewest budget violations, then the lowest highest-priority victim, the smallest sum of
   priorities, the fewest victims, the latest start among the highest-priority victims, then the first.

The scheduling loop (scheduler.py, preemptor.py) carries the result out: nominatedNodeName on the
pod, `DisruptionTarget` and a graceful delete for each victim. Not done: kube-scheduler dry-runs a
sample of big clusters' nodes (at least 100); here every candidate node is tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from minik8s.api.disruption_budget import DISRUPTION_TARGET, covers_for_eviction
from minik8s.api.meta import JsonObject, find_condition, mapping_at, namespace_of, parse_time, status_of
from minik8s.scheduler.decision import failure_message
from minik8s.scheduler.filters import (
    REASON_ANTI_AFFINITY,
    REASON_EXISTING_ANTI_AFFINITY,
    REASON_INSUFFICIENT_CPU,
    REASON_INSUFFICIENT_MEMORY,
    REASON_PORTS,
    REASON_TOO_MANY_PODS,
    Reasons,
    affinity_counts,
    filters_for,
    run_filters,
)
from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.spread import spread_filter_state

PREEMPT_NEVER = "Never"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NEVER_MESSAGE = "not eligible due to preemptionPolicy=Never."
TERMINATING_MESSAGE = "not eligible due to a terminating pod on the nominated node."
PREEMPTED_BY_SCHEDULER = "PreemptionByScheduler"
# What removing pods can cure (kube-scheduler's Unschedulable, as against UnschedulableAndUnresolvable).
RESOLVABLE = frozenset({REASON_INSUFFICIENT_CPU, REASON_INSUFFICIENT_MEMORY, REASON_TOO_MANY_PODS, REASON_PORTS,
                        REASON_ANTI_AFFINITY, REASON_EXISTING_ANTI_AFFINITY})
_LATEST = datetime.max.replace(tzinfo=UTC)


class PodLookup(Protocol):
    def get(self, key: str) -> JsonObject | None: ...


@dataclass(frozen=True)
class Candidate:
    node_name: str
    victims: tuple[PodFacts, ...]
    budget_violations: int


@dataclass(frozen=True)
class Preempt:
    """Evict `victims` from `node_name` and nominate the pod there."""

    node_name: str
    victims: tuple[PodFacts, ...]


@dataclass(frozen=True)
class NoPreemption:
    """Why not (kube-scheduler's PostFilter message, after `preemption: `); `clear_nomination` when no node would
    do (an ineligible pod keeps its nomination: it waits for its victims)."""

    message: str
    clear_nomination: bool = False


def start_time(pods: PodLookup, key: str) -> datetime:
    """GetPodStartTime: status.startTime, or (not started yet) later than any real start."""
    pod = pods.get(key)
    moment = parse_time(status_of(pod).get("startTime")) if pod is not None else None
    return moment if moment is not None else _LATEST


def terminating_by_preemption(pods: PodLookup, key: str) -> bool:
    """Being deleted, with DisruptionTarget=True set by a scheduler's preemption."""
    pod = pods.get(key)
    if pod is None or not mapping_at(pod, "metadata").get("deletionTimestamp"):
        return False
    condition = find_condition(status_of(pod).get("conditions"), DISRUPTION_TARGET)
    return condition is not None and (condition.get("status"), condition.get("reason")) == ("True",
                                                                                           PREEMPTED_BY_SCHEDULER)


def eligibility_problem(pod: PodFacts, policy: str, nominated: str, cluster: ClusterView,
                        refused: Mapping[str, Reasons], pods: PodLookup) -> str:
    """PodEligibleToPreemptOthers: "" when the pod may preempt, else why not."""
    if policy == PREEMPT_NEVER:
        return NEVER_MESSAGE
    if not nominated or not resolvable(refused.get(nominated, ())):
        return ""  # no nomination, or the nominated node is hopeless anyway: look again
    node = next((info for info in cluster.nodes if info.name == nominated), None)
    if node is not None and any(other.priority < pod.priority and terminating_by_preemption(pods, key)
                                for key, other in node.pods.items()):
        return TERMINATING_MESSAGE
    return ""


def resolvable(reasons: Reasons) -> bool:
    return bool(reasons) and all(reason in RESOLVABLE for reason in reasons)


def fits(pod: PodFacts, node: NodeInfo, cluster: ClusterView) -> Reasons:
    """The filters' refusal of `node` (a simulated copy) for `pod`, with the cluster seen through that copy."""
    view = ClusterView([node if info.name == node.name else info for info in cluster.nodes], cluster.image_nodes,
                       cluster.namespace_labels)
    return run_filters(pod, node, affinity_counts(pod, view), filters_for(pod), spread_filter_state(pod, view))


def _copy_without(node: NodeInfo, removed: set[str]) -> NodeInfo:
    copy = NodeInfo(node.name, node.node)
    for key, placed in node.pods.items():
        if key not in removed:
            copy.add_pod(placed)
    return copy


def split_by_budget(victims: Sequence[PodFacts], budgets: Sequence[Mapping[str, Any]]
                    ) -> tuple[list[PodFacts], list[PodFacts]]:
    """filterPodsWithPDBViolation: (those whose eviction breaks a budget, the others), order kept."""
    allowed = [int(status_of(budget).get("disruptionsAllowed") or 0) for budget in budgets]
    violating: list[PodFacts] = []
    others: list[PodFacts] = []
    for victim in victims:
        broken = False
        for index, budget in enumerate(budgets):
            if not victim.labels or namespace_of(budget) != victim.namespace:
                continue
            if not covers_for_eviction(budget, victim.labels):
                continue
            if victim.name in mapping_at(status_of(budget), "disruptedPods"):
                continue  # already counted by the apiserver
            allowed[index] -= 1
            broken = broken or allowed[index] < 0
        (violating if broken else others).append(victim)
    return violating, others


def select_victims(pod: PodFacts, node: NodeInfo, cluster: ClusterView, budgets: Sequence[Mapping[str, Any]],
                   pods: PodLookup) -> Candidate | Reasons:
    """SelectVictimsOnNode: the fewest, least important pods to evict from `node`, or why none will do."""
    lower = [other for other in node.pods.values() if other.priority < pod.priority]
    if not lower:
        return (NO_VICTIMS,)
    removed = {other.key for other in lower}
    simulated = _copy_without(node, removed)
    refusal = fits(pod, simulated, cluster)
    if refusal:
        return refusal
    lower.sort(key=lambda other: (-other.priority, start_time(pods, other.key)))
    violating, others = split_by_budget(lower, budgets)
    victims: list[PodFacts] = []
    violations = 0
    for group, counts in ((violating, True), (others, False)):
        for other in group:
            simulated.add_pod(other)
            if fits(pod, simulated, cluster):
                simulated.remove_pod(other.key)
                victims.append(other)
                violations += counts
    return Candidate(node.name, tuple(victims), violations)


def pick_candidate(candidates: Sequence[Candidate], pods: PodLookup) -> Candidate:
    """pickOneNodeForPreemption: each criterion in turn keeps the best; ties fall through to the next."""
    def earliest_top_start(candidate: Candidate) -> datetime:
        top = max(victim.priority for victim in candidate.victims)
        return min(start_time(pods, victim.key) for victim in candidate.victims if victim.priority == top)

    criteria = (
        lambda c: -c.budget_violations,
        lambda c: -c.victims[0].priority,
        lambda c: -sum(victim.priority + 2**31 for victim in c.victims),
        lambda c: -len(c.victims),
        lambda c: earliest_top_start(c).timestamp(),
    )
    remaining = list(candidates)
    for score in criteria:
        best = max(score(candidate) for candidate in remaining)
        remaining = [candidate for candidate in remaining if score(candidate) == best]
        if len(remaining) == 1:
            break
    return remaining[0]


def plan_preemption(pod: PodFacts, *, policy: str, nominated: str, cluster: ClusterView,
                    refused: Mapping[str, Reasons], budgets: Sequence[Mapping[str, Any]],
                    pods: PodLookup) -> Preempt | NoPreemption:
    """Evaluator.Preempt: where to preempt for `pod` (refused everywhere, `refused` saying why), or why not."""
    problem = eligibility_problem(pod, policy, nominated, cluster, refused, pods)
    if problem:
        return NoPreemption(problem)
    statuses: dict[str, Reasons] = {}
    candidates: list[Candidate] = []
    for node in cluster.nodes:
        if not resolvable(refused.get(node.name, ())):
            statuses[node.name] = (NOT_HELPFUL,)
            continue
        outcome = select_victims(pod, node, cluster, budgets, pods)
        if isinstance(outcome, Candidate):
            candidates.append(outcome)
        else:
            statuses[node.name] = outcome
    if not candidates:
        return NoPreemption(failure_message(len(statuses), statuses), clear_nomination=True)
    best = pick_candidate(candidates, pods)
    return Preempt(best.node_name, best.victims)
