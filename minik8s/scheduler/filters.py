"""The filters: may this pod run on this node at all, and if not, why, in kube-scheduler's words.

Each filter is a pure function of the pod's facts and one NodeInfo (the inter-pod affinity
filter also takes counts computed once per decision over all nodes) and returns the reasons
it refuses, empty when the node passes. The reasons are the exact strings kube-scheduler
prints, because users read them in `kubectl describe pod` ("0/3 nodes are available:
2 Insufficient cpu, ..."). `run_filters` runs them in kube-scheduler's order and stops at
the first refusal, so each node contributes the reasons of one filter, as upstream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import WILDCARD_IP, PodFacts
from minik8s.scheduler.spread import SpreadFilterState, topology_spread
from minik8s.scheduler.terms import (
    NO_EXECUTE,
    NO_SCHEDULE,
    TAINT_UNSCHEDULABLE,
    AffinityTerm,
    Taint,
    tolerated,
)

Reasons = tuple[str, ...]
TopologyCounts = Mapping[tuple[str, str], int]

PASS: Reasons = ()

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_INSUFFICIENT_CPU = "Insufficient cpu"
REASON_INSUFFICIENT_MEMORY = "Insufficient memory"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

_UNSCHEDULABLE_TAINT = Taint(TAINT_UNSCHEDULABLE, "", NO_SCHEDULE)


def untolerated_taint_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def node_unschedulable(pod: PodFacts, node: NodeInfo) -> Reasons:
    """A cordoned node takes only pods that tolerate `node.kubernetes.io/unschedulable:NoSchedule`."""
    if node.unschedulable and not tolerated(pod.tolerations, _UNSCHEDULABLE_TAINT):
        return (REASON_UNSCHEDULABLE,)
    return PASS


def node_ready(pod: PodFacts, node: NodeInfo) -> Reasons:
    """A node that is not Ready refuses pods as its not-ready/unreachable NoSchedule taint would."""
    taint = node.readiness_taint
    if taint is not None and not tolerated(pod.tolerations, taint):
        return (untolerated_taint_reason(taint),)
    return PASS


def taint_toleration(pod: PodFacts, node: NodeInfo) -> Reasons:
    """The first NoSchedule or NoExecute taint the pod does not tolerate refuses it."""
    for taint in node.taints:
        if taint.effect in (NO_SCHEDULE, NO_EXECUTE) and not tolerated(pod.tolerations, taint):
            return (untolerated_taint_reason(taint),)
    return PASS


def node_affinity(pod: PodFacts, node: NodeInfo) -> Reasons:
    """`nodeSelector` (every label equal) and the required node affinity (any term)."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return (REASON_NODE_AFFINITY,)
    required = pod.required_node_affinity
    if required is not None and not required.matches(labels, node.name):
        return (REASON_NODE_AFFINITY,)
    return PASS


def node_ports(pod: PodFacts, node: NodeInfo) -> Reasons:
    """A host port is taken when protocol and port are used on the same IP or either IP is 0.0.0.0."""
    used = node.used_ports
    if not pod.host_ports or not used:
        return PASS
    for wanted in pod.host_ports:
        for taken in used:
            if taken.port == wanted.port and taken.protocol == wanted.protocol and (
                taken.host_ip == wanted.host_ip or WILDCARD_IP in (taken.host_ip, wanted.host_ip)
            ):
                return (REASON_PORTS,)
    return PASS


def node_resources_fit(pod: PodFacts, node: NodeInfo) -> Reasons:
    """Pod count, then each requested resource against allocatable minus what is already requested."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.allowed_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    cpu, memory = pod.requests
    if cpu > 0 and cpu > node.allocatable.cpu_millis - node.requested_cpu:
        reasons.append(REASON_INSUFFICIENT_CPU)
    if memory > 0 and memory > node.allocatable.memory_bytes - node.requested_memory:
        reasons.append(REASON_INSUFFICIENT_MEMORY)
    return tuple(reasons)


def volume_binding(pod: PodFacts, node: NodeInfo) -> Reasons:
    """VolumeBinding: the pod's claims can be served on this node (volume_binding.py)."""
    return PASS if pod.volumes is None else pod.volumes.reasons(node.name, node.labels)


# -- inter-pod affinity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AffinityCounts:
    """Per (topologyKey, value): pods matching the incoming pod's terms, and existing pods' terms matching it."""

    affinity: TopologyCounts
    anti_affinity: TopologyCounts
    existing_anti_affinity: TopologyCounts
    matches_own_affinity: bool  # the pod satisfies its own affinity terms (it may be the first of a group)


def affinity_counts(pod: PodFacts, cluster: ClusterView) -> AffinityCounts | None:
    """Count once per decision what the inter-pod affinity filter needs; None when there is nothing to check."""
    needs_incoming = bool(pod.required_affinity or pod.required_anti_affinity)
    namespace_labels = cluster.namespace_labels
    existing: Counter[tuple[str, str]] = Counter()
    affinity: Counter[tuple[str, str]] = Counter()
    anti_affinity: Counter[tuple[str, str]] = Counter()
    for node in cluster.nodes:
        labels = node.labels
        for other in node.affinity_pods.values():
            for term in other.required_anti_affinity:
                value = labels.get(term.topology_key)
                if value is not None and term.matches(pod.namespace, pod.labels, namespace_labels):
                    existing[(term.topology_key, value)] += 1
        if not needs_incoming:
            continue
        for other in node.pods.values():
            if pod.required_affinity and _matches_all(pod.required_affinity, other, namespace_labels):
                for term in pod.required_affinity:
                    value = labels.get(term.topology_key)
                    if value is not None:
                        affinity[(term.topology_key, value)] += 1
            for term in pod.required_anti_affinity:
                value = labels.get(term.topology_key)
                if value is not None and term.matches(other.namespace, other.labels, namespace_labels):
                    anti_affinity[(term.topology_key, value)] += 1
    if not needs_incoming and not existing:
        return None
    return AffinityCounts(affinity, anti_affinity, existing,
                          bool(pod.required_affinity) and _matches_all(pod.required_affinity, pod, namespace_labels))


def inter_pod_affinity(pod: PodFacts, node: NodeInfo, counts: AffinityCounts | None) -> Reasons:
    """Required pod affinity, then the pod's anti-affinity, then existing pods' anti-affinity against it."""
    if counts is None:
        return PASS
    labels = node.labels
    if pod.required_affinity and not _satisfies_affinity(pod.required_affinity, labels, counts):
        return (REASON_AFFINITY,)
    for term in pod.required_anti_affinity:
        value = labels.get(term.topology_key)
        if value is not None and counts.anti_affinity.get((term.topology_key, value), 0) > 0:
            return (REASON_ANTI_AFFINITY,)
    for (key, value), count in counts.existing_anti_affinity.items():
        if count > 0 and labels.get(key) == value:
            return (REASON_EXISTING_ANTI_AFFINITY,)
    return PASS


def _satisfies_affinity(terms: tuple[AffinityTerm, ...], labels: Mapping[str, str], counts: AffinityCounts) -> bool:
    pods_exist = True
    for term in terms:
        value = labels.get(term.topology_key)
        if value is None:
            return False  # every topology key must be on the node
        if counts.affinity.get((term.topology_key, value), 0) <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # The first pod of a group with affinity to itself: nothing matches anywhere yet, so let it start one.
    return not counts.affinity and counts.matches_own_affinity


def _matches_all(terms: tuple[AffinityTerm, ...], other: PodFacts,
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    return all(term.matches(other.namespace, other.labels, namespace_labels) for term in terms)


# -- all of them ------------------------------------------------------------------------------------

NodeFilter = Callable[[PodFacts, NodeInfo], Reasons]

# kube-scheduler's order (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
# VolumeBinding, InterPodAffinity), with readiness where its taint would be found.
NODE_FILTERS: tuple[tuple[str, NodeFilter], ...] = (
    ("NodeUnschedulable", node_unschedulable),
    ("NodeReady", node_ready),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", node_resources_fit),
    ("VolumeBinding", volume_binding),
)


def filters_for(pod: PodFacts) -> tuple[NodeFilter, ...]:
    """The node filters that can refuse this pod, in order (a pod without host ports needs no port check)."""
    skipped = set()
    if not pod.node_selector and pod.required_node_affinity is None:
        skipped.add("NodeAffinity")
    if not pod.host_ports:
        skipped.add("NodePorts")
    if pod.volumes is None:
        skipped.add("VolumeBinding")
    return tuple(check for name, check in NODE_FILTERS if name not in skipped)


def run_filters(pod: PodFacts, node: NodeInfo, counts: AffinityCounts | None,
                checks: tuple[NodeFilter, ...] | None = None, spread: SpreadFilterState | None = None) -> Reasons:
    """The reasons of the first filter that refuses the node; empty when the pod may run there.

    `checks` is `filters_for(pod)` and `spread` is `spread_filter_state(pod, cluster)` (PodTopologySpread,
    which upstream runs just before InterPodAffinity), each computed once when filtering many nodes.
    """
    for check in filters_for(pod) if checks is None else checks:
        reasons = check(pod, node)
        if reasons:
            return reasons
    return topology_spread(node, spread) or inter_pod_affinity(pod, node, counts)
