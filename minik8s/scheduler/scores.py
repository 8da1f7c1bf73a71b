"""The scores: of the nodes a pod may run on, which suits it best.

Each plugin gives every feasible node 0-100 (MaxNodeScore), as kube-scheduler's score plugins
do, some directly (LeastAllocated, BalancedAllocation, ImageLocality) and some as raw counts
normalized over all feasible nodes (TaintToleration, NodeAffinity, PodTopologySpread,
InterPodAffinity). The total is the weighted sum with kube-scheduler's default weights.
PodTopologySpread (its own module, `spread`) spreads a pod's group over nodes and zones by the
pod's ScheduleAnyway constraints, or, for a pod without constraints, by the system defaults over
the pods of its Services and controller. Everything here is a pure function of pod facts and
NodeInfos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.spread import topology_spread_scores
from minik8s.scheduler.terms import PREFER_NO_SCHEDULE, AffinityTerm, tolerated

MAX_SCORE = 100

WEIGHTS: Mapping[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "NodeResourcesLeastAllocated": 1,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
}

HARD_POD_AFFINITY_WEIGHT = 1

_MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * _MB
IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * _MB

TopologyScores = dict[tuple[str, str], int]


# -- scores of one node ---------------------------------------------------------------------------


def least_allocated(pod: PodFacts, node: NodeInfo) -> int:
    """The average free fraction of cpu and memory after placing the pod (missing requests count as defaults)."""
    cpu = _free_score(node.nonzero_cpu + pod.nonzero_requests.cpu_millis, node.allocatable.cpu_millis)
    memory = _free_score(node.nonzero_memory + pod.nonzero_requests.memory_bytes, node.allocatable.memory_bytes)
    return (cpu + memory) // 2


def _free_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_SCORE // capacity


def balanced_allocation(pod: PodFacts, node: NodeInfo) -> int:
    """100 x (1 - the spread of cpu and memory usage fractions); a pod requesting nothing is not scored."""
    cpu, memory = pod.requests
    if cpu == 0 and memory == 0:
        return 0
    cpu_capacity, memory_capacity = node.allocatable
    if not cpu_capacity or not memory_capacity:
        return MAX_SCORE  # fewer than two resources to compare: no spread
    cpu_fraction = min((node.requested_cpu + cpu) / cpu_capacity, 1.0)
    memory_fraction = min((node.requested_memory + memory) / memory_capacity, 1.0)
    return int((1 - abs(cpu_fraction - memory_fraction) / 2) * MAX_SCORE)


def image_locality(pod: PodFacts, node: NodeInfo, *, image_nodes: Mapping[str, int], total_nodes: int) -> int:
    """Sizes of the pod's images already on the node, scaled by how widely each image has spread."""
    return image_locality_scores(pod, [node], image_nodes=image_nodes, total_nodes=total_nodes)[0]


def image_locality_scores(pod: PodFacts, nodes: Sequence[NodeInfo], *, image_nodes: Mapping[str, int],
                          total_nodes: int) -> list[int]:
    """`image_locality` of every node, with each image's spread worked out once."""
    spread = {image: image_nodes.get(image, 1) / total_nodes for image in pod.images if total_nodes}
    if not spread:
        return [0] * len(nodes)
    ceiling = IMAGE_MAX_CONTAINER_THRESHOLD * len(pod.images)
    scores = []
    for node in nodes:
        sizes = node.images
        total = 0
        for image in pod.images:  # an image used by two containers counts twice, as upstream
            size = sizes.get(image)
            if size is not None:
                total += int(size * spread[image])
        total = min(max(total, IMAGE_MIN_THRESHOLD), ceiling)
        scores.append(MAX_SCORE * (total - IMAGE_MIN_THRESHOLD) // (ceiling - IMAGE_MIN_THRESHOLD))
    return scores


def intolerable_prefer_taints(pod: PodFacts, node: NodeInfo) -> int:
    """Raw TaintToleration score: PreferNoSchedule taints the pod does not tolerate."""
    tolerations = tuple(t for t in pod.tolerations if t.effect in ("", PREFER_NO_SCHEDULE))
    return sum(1 for taint in node.taints
               if taint.effect == PREFER_NO_SCHEDULE and not tolerated(tolerations, taint))


def preferred_node_affinity(pod: PodFacts, node: NodeInfo) -> int:
    """Raw NodeAffinity score: the weights of the preferred terms the node matches."""
    return sum(preferred.weight for preferred in pod.preferred_node_affinity
               if preferred.term.matches(node.labels, node.name))


# -- normalization --------------------------------------------------------------------------------


def default_normalize(raw: Sequence[int], *, reverse: bool) -> list[int]:
    """kube-scheduler's DefaultNormalizeScore: scale to 0-100 by the maximum (reversed: fewer is better)."""
    highest = max(raw, default=0)
    if highest == 0:
        return [MAX_SCORE if reverse else 0 for _ in raw]
    scaled = [MAX_SCORE * value // highest for value in raw]
    return [MAX_SCORE - value for value in scaled] if reverse else scaled


def min_max_normalize(raw: Sequence[int]) -> list[int]:
    """InterPodAffinity's normalization: the lowest raw score maps to 0, the highest to 100."""
    if not raw:
        return []
    lowest, highest = min(raw), max(raw)
    if highest == lowest:
        return [0 for _ in raw]
    return [int(MAX_SCORE * (value - lowest) / (highest - lowest)) for value in raw]


# -- inter-pod affinity ---------------------------------------------------------------------------


def inter_pod_topology_scores(pod: PodFacts, cluster: ClusterView) -> TopologyScores:
    """Weights per (topologyKey, value) from the pod's preferred terms and existing pods' terms on it."""
    scores: TopologyScores = {}
    incoming = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
    namespace_labels = cluster.namespace_labels

    def add(term: AffinityTerm, weight: int, other: PodFacts, labels: Mapping[str, str]) -> None:
        value = labels.get(term.topology_key)
        if value is not None and term.matches(other.namespace, other.labels, namespace_labels):
            pair = (term.topology_key, value)
            scores[pair] = scores.get(pair, 0) + weight

    for node in cluster.nodes:
        labels = node.labels
        if not labels:
            continue
        for existing in (node.pods if incoming else node.affinity_pods).values():
            for weighted in pod.preferred_affinity:
                add(weighted.term, weighted.weight, existing, labels)
            for weighted in pod.preferred_anti_affinity:
                add(weighted.term, -weighted.weight, existing, labels)
            for term in existing.required_affinity:
                add(term, HARD_POD_AFFINITY_WEIGHT, pod, labels)
            for weighted in existing.preferred_affinity:
                add(weighted.term, weighted.weight, pod, labels)
            for weighted in existing.preferred_anti_affinity:
                add(weighted.term, -weighted.weight, pod, labels)
    return scores


def topology_score(node: NodeInfo, scores: TopologyScores) -> int:
    return sum(weight for (key, value), weight in scores.items() if node.labels.get(key) == value)


# -- all of them ----------------------------------------------------------------------------------


def plugin_scores(pod: PodFacts, nodes: Sequence[NodeInfo], cluster: ClusterView) -> dict[str, list[int]]:
    """Every plugin's normalized 0-100 score of each node in `nodes` (the feasible ones), by plugin name.

    A plugin that cannot tell the nodes apart for this pod (no preferred terms, none of its
    images anywhere, no taints) gets its constant score without looking at every node.
    """
    none = [0] * len(nodes)
    topology = inter_pod_topology_scores(pod, cluster)
    has_images = any(image in cluster.image_nodes for image in pod.images)
    tainted = any(node.taints for node in nodes)
    return {
        "TaintToleration": default_normalize([intolerable_prefer_taints(pod, n) for n in nodes], reverse=True)
        if tainted else [MAX_SCORE] * len(nodes),
        "NodeAffinity": default_normalize([preferred_node_affinity(pod, n) for n in nodes], reverse=False)
        if pod.preferred_node_affinity else none,
        "NodeResourcesLeastAllocated": [least_allocated(pod, n) for n in nodes],
        "PodTopologySpread": topology_spread_scores(pod, nodes, cluster),
        "InterPodAffinity": min_max_normalize([topology_score(n, topology) for n in nodes]) if topology else none,
        "NodeResourcesBalancedAllocation": [balanced_allocation(pod, n) for n in nodes],
        "ImageLocality": image_locality_scores(pod, nodes, image_nodes=cluster.image_nodes,
                                               total_nodes=len(cluster.nodes)) if has_images else none,
    }


def total_scores(pod: PodFacts, nodes: Sequence[NodeInfo], cluster: ClusterView) -> list[int]:
    """The weighted sum of every plugin's score, per node of `nodes`."""
    totals = [0] * len(nodes)
    for plugin, scores in plugin_scores(pod, nodes, cluster).items():
        weight = WEIGHTS[plugin]
        totals = [total + weight * score for total, score in zip(totals, scores, strict=True)]
    return totals
