"""What a pod asks for as a whole: the sum of its containers' requests and limits, init containers included.

A LimitRange of type Pod bounds this total and a ResourceQuota charges it (`requests.cpu`,
`limits.memory`, ...), so both read it from here, computed as Kubernetes' PodRequests/PodLimits do:
app containers add up; an init container runs alone before them, so the pod needs at least the
largest one; a sidecar (an init container with `restartPolicy: Always`) keeps running, so it adds to
the total and to every init container that starts after it. Malformed fields count as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.resource_lists import Quantity, ResourceList, add, parse_list

REQUESTS, LIMITS = "requests", "limits"


def containers_of(pod: Mapping[str, Any], field: str = "containers") -> list[Mapping[str, Any]]:
    spec = pod.get("spec")
    items = spec.get(field) if isinstance(spec, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def container_resources(container: Mapping[str, Any], part: str) -> ResourceList:
    """A container's `resources.requests` or `resources.limits` as Quantities."""
    resources = container.get("resources")
    return parse_list(resources.get(part)) if isinstance(resources, Mapping) else {}


def _at_least(total: ResourceList, other: ResourceList) -> ResourceList:
    """maxResourceList: each resource of `other` raised to at least its amount there."""
    raised = dict(total)
    for name, quantity in other.items():
        if name not in raised or quantity > raised[name]:
            raised[name] = quantity
    return raised


def pod_total(pod: Mapping[str, Any], part: str) -> ResourceList:
    """The pod's total `requests` or `limits` (PodRequests / PodLimits without overhead)."""
    total: ResourceList = {}
    for container in containers_of(pod):
        total = add(total, container_resources(container, part))
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for container in containers_of(pod, "initContainers"):
        own = container_resources(container, part)
        if container.get("restartPolicy") == "Always":
            total = add(total, own)
            sidecars = add(sidecars, own)
            running = sidecars
        else:
            running = add(own, sidecars)
        init_peak = _at_least(init_peak, running)
    return _at_least(total, init_peak)


def pod_requests(pod: Mapping[str, Any]) -> ResourceList:
    return pod_total(pod, REQUESTS)


def pod_limits(pod: Mapping[str, Any]) -> ResourceList:
    return pod_total(pod, LIMITS)


def milli_value(quantity: Quantity) -> int:
    """Quantity.MilliValue(): thousandths, rounded up."""
    scaled = quantity.value * 1000
    whole = int(scaled)
    return whole + 1 if scaled > whole else whole
