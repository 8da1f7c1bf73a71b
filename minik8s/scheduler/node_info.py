"""One node as the scheduler sees it: the Node's facts plus everything placed on it, pre-summed.

Filters and scores ask "how much is requested here", "is this host port taken", "which pods
have pod affinity terms" for every node of every decision. `NodeInfo` keeps those
answers up to date incrementally as pods are added (bound, or assumed by this scheduler) and
removed, as kube-scheduler's NodeInfo does, so a decision never walks a node's pods for them.
A NodeInfo may exist without its Node (pods seen bound to a node not yet, or no longer, known):
it keeps the sums right and is never offered as a place to schedule.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.meta import JsonObject, find_condition, integer, labels_of, list_at, spec_of, status_of
from minik8s.api.quantity import cpu_millis, memory_bytes
from minik8s.api.selectors import LabelSelector
from minik8s.scheduler.pod_facts import HostPort, PodFacts, Resources, normalized_image_name
from minik8s.scheduler.terms import (
    NO_SCHEDULE,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    Taint,
    parse_taints,
)

_GENERATIONS = itertools.count(1)


class NodeInfo:
    """A node and the pods on it. Mutated only by the scheduler cache; read by pure functions."""

    def __init__(self, name: str, node: JsonObject | None = None) -> None:
        self.name = name
        self.node: JsonObject | None = None
        self.labels: dict[str, str] = {}
        self.taints: tuple[Taint, ...] = ()
        self.unschedulable = False
        self.readiness_taint: Taint | None = None
        self.allocatable = Resources(0, 0)
        self.allowed_pods = 0
        self.images: dict[str, int] = {}
        self.pods: dict[str, PodFacts] = {}
        self.generation = next(_GENERATIONS)  # a new value, unique across nodes, whenever `pods` changes
        self.requested_cpu = 0
        self.requested_memory = 0
        self.nonzero_cpu = 0
        self.nonzero_memory = 0
        self.used_ports: Counter[HostPort] = Counter()
        self.affinity_pods: dict[str, PodFacts] = {}  # pods with any pod (anti-)affinity
        if node is not None:
            self.set_node(node)

    # -- the node ---------------------------------------------------------------------------------

    def set_node(self, node: JsonObject) -> None:
        spec, status = spec_of(node), status_of(node)
        self.node = node
        self.labels = labels_of(node)
        self.taints = parse_taints(spec.get("taints"))
        self.unschedulable = spec.get("unschedulable") is True
        self.readiness_taint = readiness_taint(status.get("conditions"))
        allocatable = status.get("allocatable") or status.get("capacity") or {}
        if not isinstance(allocatable, dict):
            allocatable = {}
        self.allocatable = Resources(_parse(allocatable.get("cpu"), cpu_millis),
                                     _parse(allocatable.get("memory"), memory_bytes))
        self.allowed_pods = _parse(allocatable.get("pods"), int)
        self.images = node_images(status.get("images"))

    def clear_node(self) -> None:
        self.node = None

    @property
    def signature(self) -> tuple[object, ...]:
        """What of the Node can change a decision: a change here may make a waiting pod fit."""
        return (tuple(sorted(self.labels.items())), self.taints, self.unschedulable, self.readiness_taint,
                self.allocatable, self.allowed_pods)

    # -- its pods ---------------------------------------------------------------------------------

    @property
    def requested(self) -> Resources:
        return Resources(self.requested_cpu, self.requested_memory)

    @property
    def nonzero_requested(self) -> Resources:
        return Resources(self.nonzero_cpu, self.nonzero_memory)

    def add_pod(self, pod: PodFacts) -> None:
        if pod.key in self.pods:
            self.remove_pod(pod.key)
        self.pods[pod.key] = pod
        self._count(pod, 1)

    def remove_pod(self, key: str) -> PodFacts | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._count(pod, -1)
        return pod

    def _count(self, pod: PodFacts, sign: int) -> None:
        self.generation = next(_GENERATIONS)
        self.requested_cpu += sign * pod.requests.cpu_millis
        self.requested_memory += sign * pod.requests.memory_bytes
        self.nonzero_cpu += sign * pod.nonzero_requests.cpu_millis
        self.nonzero_memory += sign * pod.nonzero_requests.memory_bytes
        for port in pod.host_ports:
            self.used_ports[port] += sign
            if self.used_ports[port] <= 0:
                del self.used_ports[port]
        if pod.has_pod_affinity:
            if sign > 0:
                self.affinity_pods[pod.key] = pod
            else:
                self.affinity_pods.pop(pod.key, None)


def no_default_spread(pod: PodFacts) -> LabelSelector | None:
    """A cluster whose Services and controllers are not known: no pod is spread by default."""
    return None


@dataclass(frozen=True)
class ClusterView:
    """What one decision looks at: the schedulable nodes and cluster-wide facts the plugins need."""

    nodes: Sequence[NodeInfo]
    image_nodes: Mapping[str, int] = field(default_factory=dict)  # normalized image → nodes holding it
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # the pods the system default spread constraints count for a pod (its Services' and controller's selector)
    default_spread_selector: Callable[[PodFacts], LabelSelector | None] = field(default=no_default_spread)
    # topology spread's counts of matching pods per node, kept while the node's pods stay the same (generation)
    spread_memo: dict[tuple[str, str, LabelSelector | None], tuple[int, int]] = field(
        default_factory=dict, compare=False)


def readiness_taint(conditions: Any) -> Taint | None:
    """The NoSchedule taint Kubernetes' node lifecycle puts on a node that is not Ready.

    Ready False (or no Ready condition yet) → `node.kubernetes.io/not-ready`; Ready Unknown
    (the node stopped reporting) → `node.kubernetes.io/unreachable`; Ready True → none.
    """
    ready = find_condition(conditions, "Ready")
    status = ready.get("status") if ready is not None else None
    if status == "True":
        return None
    if status == "Unknown":
        return Taint(TAINT_UNREACHABLE, "", NO_SCHEDULE)
    return Taint(TAINT_NOT_READY, "", NO_SCHEDULE)


def node_images(images: Any) -> dict[str, int]:
    """`status.images` as normalized name → size in bytes (every name of an image counts)."""
    sizes: dict[str, int] = {}
    for image in images if isinstance(images, list) else []:
        if not isinstance(image, dict):
            continue
        size = integer(image.get("sizeBytes"), default=0)
        for name in list_at(image, "names"):
            if isinstance(name, str):
                sizes[normalized_image_name(name)] = size
    return sizes


def _parse(value: Any, parse: Any) -> int:
    if value is None:
        return 0
    try:
        return int(parse(value))
    except (TypeError, ValueError):
        return 0
