"""One scheduling decision, pure: filter every node, score the feasible ones, pick the best.

This is kube-scheduler's scheduling cycle without its side effects: given a pod's facts and a
view of the cluster, say which node it goes to, or why it fits nowhere in the exact message
kube-scheduler writes into the pod's PodScheduled condition and its FailedScheduling Event
(`0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.`: a count per
reason, the reasons sorted as strings like upstream's `sort.Strings`; preemptor.py adds the
` preemption: …` part). The scheduling loop only gathers the view and carries the result out.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from minik8s.scheduler.filters import Reasons, affinity_counts, filters_for, run_filters
from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.scores import total_scores
from minik8s.scheduler.spread import spread_filter_state

NO_NODES_MESSAGE = "no nodes available to schedule pods"

Chooser = Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class Scheduled:
    node_name: str
    score: int
    feasible_nodes: int


@dataclass(frozen=True)
class Unschedulable:
    message: str
    reasons: Mapping[str, Reasons]  # node name → why it was refused


Decision = Scheduled | Unschedulable


def schedule_pod(pod: PodFacts, cluster: ClusterView, *, choose: Chooser = random.choice) -> Decision:
    """Where `pod` should run; `choose` breaks ties among the best-scoring nodes (randomly by default)."""
    if not cluster.nodes:
        return Unschedulable(NO_NODES_MESSAGE, {})
    counts = affinity_counts(pod, cluster)
    checks = filters_for(pod)
    spread = spread_filter_state(pod, cluster)
    feasible: list[NodeInfo] = []
    refused: dict[str, Reasons] = {}
    for node in cluster.nodes:
        reasons = run_filters(pod, node, counts, checks, spread)
        if reasons:
            refused[node.name] = reasons
        else:
            feasible.append(node)
    if not feasible:
        return Unschedulable(failure_message(len(cluster.nodes), refused), refused)
    if len(feasible) == 1:
        return Scheduled(feasible[0].name, 0, 1)
    totals = total_scores(pod, feasible, cluster)
    best = max(totals)
    winners = [node.name for node, total in zip(feasible, totals, strict=True) if total == best]
    return Scheduled(winners[0] if len(winners) == 1 else choose(winners), best, len(feasible))


def prefilter_message(total_nodes: int, reason: str) -> str:
    """A pod a PreFilter plugin refused: `0/N nodes are available: <reason>.` (no per-node counts)."""
    return f"0/{total_nodes} nodes are available: {reason}."


def failure_message(total_nodes: int, reasons: Mapping[str, Reasons]) -> str:
    """`0/N nodes are available: <count> <reason>, ...` with kube-scheduler's ordering."""
    histogram: Counter[str] = Counter()
    for node_reasons in reasons.values():
        histogram.update(node_reasons)
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    message = f"0/{total_nodes} nodes are available"
    return f"{message}: {', '.join(parts)}." if parts else f"{message}."
