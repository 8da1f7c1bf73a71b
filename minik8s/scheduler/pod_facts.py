"""What the scheduler needs to know about one pod, read from its JSON once.

A pod is looked at many times: once per node for each filter and score while it is being
scheduled, and again every time another pod's decision counts what is already on a node.
Parsing quantities, tolerations and affinity terms each time would dominate the scheduler's
time, so `pod_facts` reads a pod once into an immutable `PodFacts`: its requests (as
kube-scheduler computes them: containers summed, init containers by the max rule, sidecars
counted, overhead added), host ports, images, controller, node selector, node and pod
affinity, tolerations and topology spread constraints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from minik8s.api.meta import JsonObject, controller_ref_of, integer
from minik8s.api.quantity import cpu_millis, memory_bytes
from minik8s.scheduler.spread_constraints import ControllerRef, SpreadConstraint, parse_spread_constraints
from minik8s.scheduler.terms import (
    AffinityTerm,
    NodeSelector,
    PreferredNodeTerm,
    Toleration,
    WeightedAffinityTerm,
    parse_affinity_terms,
    parse_node_selector,
    parse_preferred_node_terms,
    parse_tolerations,
    parse_weighted_affinity_terms,
)
from minik8s.scheduler.volume_binding import PodVolumes

# What the scoring plugins assume a container without a request uses (schedutil.DefaultMilliCPURequest, ...).
DEFAULT_CPU_MILLIS = 100
DEFAULT_MEMORY_BYTES = 200 * 1024 * 1024


class Resources(NamedTuple):
    cpu_millis: int
    memory_bytes: int


class HostPort(NamedTuple):
    host_ip: str  # "0.0.0.0" when the port binds every address
    protocol: str
    port: int


NO_RESOURCES = Resources(0, 0)
WILDCARD_IP = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class PodFacts:
    key: str  # namespace/name
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    node_name: str
    scheduler_name: str
    priority: int
    terminating: bool
    requests: Resources  # what NodeResourcesFit and BalancedAllocation count
    nonzero_requests: Resources  # what LeastAllocated counts (a missing request counts as the default)
    host_ports: tuple[HostPort, ...]
    images: tuple[str, ...]  # normalized, init containers first; one entry per container
    node_selector: Mapping[str, str]
    required_node_affinity: NodeSelector | None
    preferred_node_affinity: tuple[PreferredNodeTerm, ...]
    tolerations: tuple[Toleration, ...]
    required_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[WeightedAffinityTerm, ...]
    preferred_anti_affinity: tuple[WeightedAffinityTerm, ...]
    volumes: PodVolumes | None = None  # its claims, read for one scheduling attempt (volume_binding.py)
    spread_constraints: tuple[SpreadConstraint, ...] = ()
    controller: ControllerRef | None = None  # the controller ownerReference, for the default spread

    @property
    def has_pod_affinity(self) -> bool:
        """Any pod affinity or anti-affinity, required or preferred (kube-scheduler's PodsWithAffinity)."""
        return bool(self.required_affinity or self.required_anti_affinity
                    or self.preferred_affinity or self.preferred_anti_affinity)

    def with_node(self, node_name: str) -> PodFacts:
        """The same pod, placed on `node_name` (an assumed pod)."""
        return replace(self, node_name=node_name)


def normalized_image_name(image: str) -> str:
    """Image names as the scheduler compares them: an untagged name means `:latest`."""
    if image.rfind(":") <= image.rfind("/"):
        return image + ":latest"
    return image


def pod_facts(pod: JsonObject) -> PodFacts:
    """Read a pod; raise ValueError for what Kubernetes' validation would have refused."""
    metadata = _object(pod.get("metadata"), "metadata")
    spec = _object(pod.get("spec"), "spec")
    namespace = str(metadata.get("namespace") or "default")
    name = str(metadata.get("name") or "")
    containers = _containers(spec.get("containers"), "spec.containers")
    init_containers = _containers(spec.get("initContainers"), "spec.initContainers")
    affinity = _object(spec.get("affinity"), "spec.affinity")
    node_affinity = _object(affinity.get("nodeAffinity"), "spec.affinity.nodeAffinity")
    pod_affinity = _object(affinity.get("podAffinity"), "spec.affinity.podAffinity")
    anti_affinity = _object(affinity.get("podAntiAffinity"), "spec.affinity.podAntiAffinity")
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    preferred = "preferredDuringSchedulingIgnoredDuringExecution"
    labels = _string_map(metadata.get("labels"), "metadata.labels")
    controller = controller_ref_of(pod) or {}
    return PodFacts(
        key=f"{namespace}/{name}", namespace=namespace, name=name, uid=str(metadata.get("uid") or ""),
        labels=labels,
        node_name=str(spec.get("nodeName") or ""),
        scheduler_name=str(spec.get("schedulerName") or "default-scheduler"),
        priority=integer(spec.get("priority"), default=0),
        terminating=bool(metadata.get("deletionTimestamp")),
        requests=pod_requests(containers, init_containers, spec.get("overhead"), nonzero=False),
        nonzero_requests=pod_requests(containers, init_containers, spec.get("overhead"), nonzero=True),
        host_ports=_host_ports(containers),
        images=tuple(normalized_image_name(str(c.get("image") or "")) for c in (*init_containers, *containers)),
        node_selector=_string_map(spec.get("nodeSelector"), "spec.nodeSelector"),
        required_node_affinity=parse_node_selector(node_affinity.get(required),
                                                   f"spec.affinity.nodeAffinity.{required}"),
        preferred_node_affinity=parse_preferred_node_terms(node_affinity.get(preferred),
                                                           f"spec.affinity.nodeAffinity.{preferred}"),
        tolerations=parse_tolerations(spec.get("tolerations")),
        required_affinity=parse_affinity_terms(pod_affinity.get(required), namespace,
                                               f"spec.affinity.podAffinity.{required}"),
        required_anti_affinity=parse_affinity_terms(anti_affinity.get(required), namespace,
                                                    f"spec.affinity.podAntiAffinity.{required}"),
        preferred_affinity=parse_weighted_affinity_terms(pod_affinity.get(preferred), namespace,
                                                         f"spec.affinity.podAffinity.{preferred}"),
        preferred_anti_affinity=parse_weighted_affinity_terms(anti_affinity.get(preferred), namespace,
                                                              f"spec.affinity.podAntiAffinity.{preferred}"),
        spread_constraints=parse_spread_constraints(spec.get("topologySpreadConstraints"), labels,
                                                    "spec.topologySpreadConstraints"),
        controller=ControllerRef(str(controller.get("apiVersion") or ""), str(controller.get("kind") or ""),
                                 str(controller.get("name") or "")) if controller else None,
    )


def pod_requests(containers: list[JsonObject], init_containers: list[JsonObject], overhead: Any, *,
                 nonzero: bool) -> Resources:
    """The pod's effective request: max(containers + sidecars, each init container + sidecars before it).

    Init containers run one at a time, so the pod needs the largest of them, not their sum;
    restartable init containers (sidecars, `restartPolicy: Always`) keep running beside
    everything started after them. With `nonzero`, a missing request counts as the default.
    """
    cpu = sum(_request(c, "cpu", nonzero=nonzero) for c in containers)
    memory = sum(_request(c, "memory", nonzero=nonzero) for c in containers)
    sidecar_cpu = sidecar_memory = init_cpu = init_memory = 0
    for container in init_containers:
        container_cpu = _request(container, "cpu", nonzero=nonzero)
        container_memory = _request(container, "memory", nonzero=nonzero)
        if container.get("restartPolicy") == "Always":
            sidecar_cpu += container_cpu
            sidecar_memory += container_memory
            init_cpu, init_memory = max(init_cpu, sidecar_cpu), max(init_memory, sidecar_memory)
        else:
            init_cpu = max(init_cpu, sidecar_cpu + container_cpu)
            init_memory = max(init_memory, sidecar_memory + container_memory)
    cpu, memory = max(cpu + sidecar_cpu, init_cpu), max(memory + sidecar_memory, init_memory)
    if isinstance(overhead, dict):
        cpu += _quantity(overhead.get("cpu"), cpu_millis, "spec.overhead.cpu")
        memory += _quantity(overhead.get("memory"), memory_bytes, "spec.overhead.memory")
    return Resources(cpu, memory)


def _request(container: JsonObject, resource: str, *, nonzero: bool) -> int:
    requests = (container.get("resources") or {}).get("requests") or {}
    if not isinstance(requests, dict):
        raise ValueError("resources.requests: must be a map")
    value = requests.get(resource)
    if value is None:
        if not nonzero:
            return 0
        return DEFAULT_CPU_MILLIS if resource == "cpu" else DEFAULT_MEMORY_BYTES
    parse = cpu_millis if resource == "cpu" else memory_bytes
    return _quantity(value, parse, f"resources.requests.{resource}")


def _quantity(value: Any, parse: Any, where: str) -> int:
    if value is None:
        return 0
    try:
        return int(parse(value))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _host_ports(containers: list[JsonObject]) -> tuple[HostPort, ...]:
    ports = []
    for container in containers:
        for port in container.get("ports") or []:
            host_port = integer(port.get("hostPort"), default=0) if isinstance(port, dict) else 0
            if host_port > 0:
                ports.append(HostPort(str(port.get("hostIP") or WILDCARD_IP), str(port.get("protocol") or "TCP"),
                                      host_port))
    return tuple(ports)


def _containers(value: Any, where: str) -> list[JsonObject]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(container, dict) for container in value):
        raise ValueError(f"{where}: must be a list of objects")
    return value


def _object(value: Any, where: str) -> JsonObject:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be an object")
    return value


def _string_map(value: Any, where: str) -> Mapping[str, str]:
    mapping = _object(value, where)
    if not all(isinstance(item, str) for item in mapping.values()):
        raise ValueError(f"{where}: values must be strings")
    return mapping
