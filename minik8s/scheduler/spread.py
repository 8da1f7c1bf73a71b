"""PodTopologySpread: keep a group of pods evenly spread over nodes, zones or any node label.

kube-scheduler's plugin of that name, as pure functions of the pod's facts and the cluster
view. A constraint names a node label (`topologyKey`): nodes sharing a value form a domain,
and the pods its selector matches, in the pod's namespace and not terminating, are counted per
domain. The skew of placing the pod in a domain is that domain's count (plus one if the pod
matches its own selector) minus the smallest count of any domain — taken as 0 while fewer
than `minDomains` domains exist.

- `whenUnsatisfiable: DoNotSchedule` constraints filter: a node whose domain would exceed
  `maxSkew` is refused with "node(s) didn't match pod topology spread constraints", and a
  node without the label with "... (missing required label)". Domains are counted over every
  node, not only the feasible ones; `nodeAffinityPolicy: Honor` (the default) leaves out
  nodes the pod's node selector/affinity excludes, `nodeTaintsPolicy: Honor` (default
  Ignore) nodes with a NoSchedule/NoExecute taint it does not tolerate.
- `ScheduleAnyway` constraints (or, for a pod without any constraint, the system defaults
  with its Services'/controller's selector) score: fewer matching pods in the node's domain
  is better, each constraint weighted by log(number of domains + 2) and softened by
  maxSkew - 1, then normalized so the emptiest node gets 100, as upstream's Score and
  NormalizeScore do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from minik8s.api.selectors import LabelSelector
from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.spread_constraints import (
    DO_NOT_SCHEDULE,
    HOSTNAME_LABEL,
    SCHEDULE_ANYWAY,
    SYSTEM_DEFAULT_CONSTRAINTS,
    SpreadConstraint,
    constraints_to_apply,
)
from minik8s.scheduler.terms import NO_EXECUTE, NO_SCHEDULE, TAINT_UNSCHEDULABLE, Taint, tolerated

REASON_SPREAD = "node(s) didn't match pod topology spread constraints"
REASON_SPREAD_MISSING_LABEL = f"{REASON_SPREAD} (missing required label)"
MAX_SCORE = 100

_UNSCHEDULABLE_TAINT = Taint(TAINT_UNSCHEDULABLE, "", NO_SCHEDULE)


def pod_constraints(pod: PodFacts, cluster: ClusterView, action: str) -> tuple[SpreadConstraint, ...]:
    """The constraints of `action` the pod is held to: its own, or the system defaults when it has none."""
    if not pod.spread_constraints and all(c.when_unsatisfiable != action for c in SYSTEM_DEFAULT_CONSTRAINTS):
        return ()  # the defaults only score: no need to find the pod's Services and controller to filter
    default = None if pod.spread_constraints else cluster.default_spread_selector(pod)
    return constraints_to_apply(pod.spread_constraints, action, default)


# -- counting -----------------------------------------------------------------------------------


MEMO_LIMIT = 100_000  # counts remembered per cluster view before starting afresh


class _PodCounter:
    """Matching pods per node and selector, counted again only on a node whose pods changed since.

    A Deployment's pods are placed one decision after another, each changing one node: remembering
    every node's count by the node's generation makes a decision count one node's pods, not all."""

    def __init__(self, namespace: str, memo: dict[tuple[str, str, LabelSelector | None], tuple[int, int]]) -> None:
        self._namespace = namespace
        self._memo = memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()

    def count(self, node: NodeInfo, constraint: SpreadConstraint) -> int:
        key = (node.name, self._namespace, constraint.selector)
        remembered = self._memo.get(key)
        if remembered is not None and remembered[0] == node.generation:
            return remembered[1]
        found = sum(1 for pod in node.pods.values()
                    if pod.namespace == self._namespace and not pod.terminating and constraint.counts(pod.labels))
        self._memo[key] = (node.generation, found)
        return found


def has_all_keys(node: NodeInfo, constraints: Sequence[SpreadConstraint]) -> bool:
    return all(constraint.topology_key in node.labels for constraint in constraints)


def included(pod: PodFacts, node: NodeInfo, constraint: SpreadConstraint) -> bool:
    """Whether the node's pods count for the constraint under its nodeAffinity/nodeTaints policies."""
    if constraint.honor_node_affinity and not _fits_node_affinity(pod, node):
        return False
    return not (constraint.honor_node_taints and _has_untolerated_taint(pod, node))


def _fits_node_affinity(pod: PodFacts, node: NodeInfo) -> bool:
    labels = node.labels
    if any(labels.get(key) != value for key, value in pod.node_selector.items()):
        return False
    return pod.required_node_affinity is None or pod.required_node_affinity.matches(labels, node.name)


def _has_untolerated_taint(pod: PodFacts, node: NodeInfo) -> bool:
    """A NoSchedule/NoExecute taint the pod does not tolerate, counting the cordon and readiness taints."""
    taints = [taint for taint in node.taints if taint.effect in (NO_SCHEDULE, NO_EXECUTE)]
    if node.unschedulable:
        taints.append(_UNSCHEDULABLE_TAINT)
    if node.readiness_taint is not None:
        taints.append(node.readiness_taint)
    return any(not tolerated(pod.tolerations, taint) for taint in taints)


# -- the filter ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpreadFilterState:
    """What the filter needs, counted once per decision over every node (upstream's PreFilter)."""

    constraints: tuple[SpreadConstraint, ...]
    counts: tuple[Mapping[str, int], ...]  # per constraint: topology value → matching pods
    minimums: tuple[int, ...]  # per constraint: the global minimum skews are measured from
    self_matches: tuple[int, ...]  # per constraint: 1 when the pod matches its own selector


def spread_filter_state(pod: PodFacts, cluster: ClusterView) -> SpreadFilterState | None:
    """The DoNotSchedule constraints' domain counts; None when the pod has no such constraint."""
    constraints = pod_constraints(pod, cluster, DO_NOT_SCHEDULE)
    if not constraints:
        return None
    counter = _PodCounter(pod.namespace, cluster.spread_memo)
    counts: list[dict[str, int]] = [{} for _ in constraints]
    for node in cluster.nodes:
        if not has_all_keys(node, constraints):
            continue
        for index, constraint in enumerate(constraints):
            if included(pod, node, constraint):
                value = node.labels[constraint.topology_key]
                counts[index][value] = counts[index].get(value, 0) + counter.count(node, constraint)
    minimums = tuple(global_minimum(domains, constraint.min_domains)
                     for domains, constraint in zip(counts, constraints, strict=True))
    return SpreadFilterState(constraints, tuple(counts), minimums,
                             tuple(int(constraint.counts(pod.labels)) for constraint in constraints))


def global_minimum(domains: Mapping[str, int], min_domains: int) -> int:
    """The fewest matching pods in any domain; 0 while there are fewer domains than `min_domains`."""
    if len(domains) < min_domains:
        return 0
    return min(domains.values(), default=0)


def topology_spread(node: NodeInfo, state: SpreadFilterState | None) -> tuple[str, ...]:
    """Refuse the node when placing the pod there would break a DoNotSchedule constraint."""
    if state is None:
        return ()
    for index, constraint in enumerate(state.constraints):
        value = node.labels.get(constraint.topology_key)
        if value is None:
            return (REASON_SPREAD_MISSING_LABEL,)
        skew = state.counts[index].get(value, 0) + state.self_matches[index] - state.minimums[index]
        if skew > constraint.max_skew:
            return (REASON_SPREAD,)
    return ()


# -- the score ----------------------------------------------------------------------------------


def topology_spread_scores(pod: PodFacts, nodes: Sequence[NodeInfo], cluster: ClusterView) -> list[int]:
    """Each of the feasible `nodes`' 0-100 PodTopologySpread score (all 0 when nothing is to be spread)."""
    constraints = pod_constraints(pod, cluster, SCHEDULE_ANYWAY)
    if not constraints:
        return [0] * len(nodes)
    # The system defaults spread on whichever labels a node has; a pod's own constraints need all of them.
    require_all = bool(pod.spread_constraints)
    ignored = {node.name for node in nodes if require_all and not has_all_keys(node, constraints)}
    domains = _domains(nodes, ignored, constraints)
    weights = [_topology_weight(len(nodes) - len(ignored) if c.topology_key == HOSTNAME_LABEL else len(domains[i]))
               for i, c in enumerate(constraints)]
    counter = _PodCounter(pod.namespace, cluster.spread_memo)
    for node in cluster.nodes:
        if require_all and not has_all_keys(node, constraints):
            continue
        for index, constraint in enumerate(constraints):
            domain = node.labels.get(constraint.topology_key, "")
            if domain in domains[index] and included(pod, node, constraint):
                domains[index][domain] += counter.count(node, constraint)
    raw: list[int | None] = []
    for node in nodes:
        if node.name in ignored:
            raw.append(None)
            continue
        total = 0.0
        for index, constraint in enumerate(constraints):
            value = node.labels.get(constraint.topology_key)
            if value is not None:
                matching = (counter.count(node, constraint) if constraint.topology_key == HOSTNAME_LABEL
                            else domains[index][value])
                total += matching * weights[index] + constraint.max_skew - 1
        raw.append(math.floor(total + 0.5))  # Go's math.Round of a non-negative number
    return normalize_spread_scores(raw)


def _domains(nodes: Sequence[NodeInfo], ignored: set[str],
             constraints: Sequence[SpreadConstraint]) -> list[dict[str, int]]:
    """Per constraint, the domains of the scored nodes (a missing label is the domain ""), counts at 0.

    Hostname domains are single nodes, counted node by node when scoring, so they are left out."""
    domains: list[dict[str, int]] = [{} for _ in constraints]
    for node in nodes:
        if node.name in ignored:
            continue
        for index, constraint in enumerate(constraints):
            if constraint.topology_key != HOSTNAME_LABEL:
                domains[index].setdefault(node.labels.get(constraint.topology_key, ""), 0)
    return domains


def _topology_weight(domains: int) -> float:
    """Counts in a topology of few domains weigh less than in one of many (upstream's log(size + 2))."""
    return math.log(domains + 2)


def normalize_spread_scores(raw: Sequence[int | None]) -> list[int]:
    """Fewest matching pods → 100, scaled by the highest raw score; ignored nodes (None) → 0."""
    valid = [score for score in raw if score is not None]
    if not valid:
        return [0] * len(raw)
    lowest, highest = min(valid), max(valid)
    normalized = []
    for score in raw:
        if score is None:
            normalized.append(0)
        elif highest == 0:
            normalized.append(MAX_SCORE)
        else:
            normalized.append(MAX_SCORE * (highest + lowest - score) // highest)
    return normalized
