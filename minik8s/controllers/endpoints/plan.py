"""The Endpoints decision: from a Service and its pods, the Endpoints object it should have.

A pure plan (the controller pattern, see docs/architecture.md), faithful to Kubernetes' endpoints
controller (`syncService`) because kube-proxy-like readers (our proxy, DNS, `kubectl get ep`)
depend on its exact shape:
a pod with an IP appears once per resolvable service port — in `addresses` when Ready (or when
the Service publishes not-ready addresses), else in `notReadyAddresses`; terminating pods only
with publishNotReadyAddresses; a named targetPort is looked up in the pod's container ports,
and a pod without that port name simply gets no endpoint for that port (reported so the
controller can say why in an Event). Subsets are then grouped by identical port sets
(`RepackSubsets`) and sorted, so an unchanged world gives an identical object and no write.
"""

from __future__ import annotations

import copy
import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject, format_nano_time
from minik8s.controllers.common.pods import is_ready, is_terminal
from minik8s.controllers.endpoints.trigger_time import (
    LAST_CHANGE_TRIGGER_TIME,
)

OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MAX_CAPACITY = 1000  # addresses per Endpoints object, as Kubernetes; beyond: truncated and annotated

_AddressKey = tuple[str, str]  # (ip, target uid)
_PortKey = tuple[str, int, str, str]  # (name, port, protocol, appProtocol); port -1: no ports (headless)
_NO_PORTS: _PortKey = ("", -1, "", "")


@dataclass(frozen=True)
class UnresolvedPort:
    """A service port whose named targetPort some selected pods do not define."""

    service_port: str
    target_port: str
    protocol: str
    pods: tuple[str, ...]

    @property
    def message(self) -> str:
        shown = ", ".join(self.pods[:3]) + (f" and {len(self.pods) - 3} more" if len(self.pods) > 3 else "")
        return (f"Service port {self.service_port} targets port name {self.target_port!r} ({self.protocol}), "
                f"which no container of pod(s) {shown} defines: they get no endpoint for this port")


@dataclass
class EndpointsPlan:
    endpoints: JsonObject | None = None  # the object to write; None when the current one is right
    create: bool = False
    unresolved: list[UnresolvedPort] = field(default_factory=list)


def should_pod_be_in_endpoints(pod: Mapping[str, Any], *, include_terminating: bool) -> bool:
    """Kubernetes' ShouldPodBeInEndpoints: not finished, has an IP, not terminating (unless asked)."""
    status = meta.status_of(pod)
    if is_terminal(pod):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not meta.is_deleting(pod)


def plan_endpoints(service: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], current: Mapping[str, Any] | None, *,
                   trigger_time: datetime | None) -> EndpointsPlan:
    """What to write for `service` (whose selector already chose `pods`), given the current Endpoints."""
    subsets, unresolved = desired_subsets(service, pods)
    plan = EndpointsPlan(unresolved=unresolved, create=current is None)
    service_labels = meta.labels_of(service)
    if current is not None:
        current_labels = meta.labels_of(current)
        current_labels.pop(HEADLESS_LABEL, None)
        if (canonical_subsets(current.get("subsets")) == canonical_subsets(subsets)
                and current_labels == service_labels and _capacity_annotation_right(current)):
            return plan
    plan.endpoints = _desired_object(service, current, subsets, service_labels, trigger_time)
    return plan


def _desired_object(service: Mapping[str, Any], current: Mapping[str, Any] | None, subsets: list[JsonObject],
                    service_labels: dict[str, str], trigger_time: datetime | None) -> JsonObject:
    service_metadata = meta.metadata_of(service)
    endpoints: JsonObject = copy.deepcopy(dict(current)) if current is not None else {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": service_metadata.get("name"), "namespace": service_metadata.get("namespace")}}
    metadata = endpoints.setdefault("metadata", {})
    annotations = meta.string_map(metadata.get("annotations"))
    if trigger_time is not None:
        annotations[LAST_CHANGE_TRIGGER_TIME] = format_nano_time(trigger_time)
    else:
        annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
    if truncate(subsets):
        annotations[OVER_CAPACITY] = "truncated"
    else:
        annotations.pop(OVER_CAPACITY, None)
    labels = dict(service_labels)
    cluster_ip = meta.spec_of(service).get("clusterIP") or ""
    if cluster_ip in ("", "None"):
        labels[HEADLESS_LABEL] = ""
    for key, value in (("labels", labels), ("annotations", annotations)):
        if value:
            metadata[key] = value
        else:
            metadata.pop(key, None)
    endpoints["subsets"] = subsets
    if not subsets:
        endpoints.pop("subsets")  # as Kubernetes serialises an empty list (omitempty)
    return endpoints


def desired_subsets(service: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> tuple[list[JsonObject], list[UnresolvedPort]]:
    """One subset per (pod, resolvable port), repacked; and the ports some pods could not resolve."""
    spec = meta.spec_of(service)
    publish_not_ready = spec.get("publishNotReadyAddresses") is True
    service_ports = [p for p in spec.get("ports") or [] if isinstance(p, Mapping)]
    subsets: list[JsonObject] = []
    missing: dict[int, list[str]] = {}
    for pod in sorted(pods, key=meta.name_of):
        if not should_pod_be_in_endpoints(pod, include_terminating=publish_not_ready):
            continue
        address = _address(service, pod)
        if address is None:
            continue
        where = "addresses" if publish_not_ready or is_ready(pod) else "notReadyAddresses"
        if not service_ports:
            if spec.get("clusterIP") == "None":
                subsets.append({where: [address], "ports": []})
            continue
        for index, service_port in enumerate(service_ports):
            number = find_port(pod, service_port)
            if number is None:
                missing.setdefault(index, []).append(meta.name_of(pod))
                continue
            subsets.append({where: [address], "ports": [_endpoint_port(service_port, number)]})
    unresolved = [_unresolved(service_ports[index], names) for index, names in sorted(missing.items())]
    return repack_subsets(subsets), unresolved


def _unresolved(service_port: Mapping[str, Any], pod_names: list[str]) -> UnresolvedPort:
    label = str(service_port.get("name") or service_port.get("port"))
    return UnresolvedPort(label, str(service_port.get("targetPort")), str(service_port.get("protocol") or "TCP"),
                          tuple(pod_names))


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """Kubernetes' FindPort: a number as is; a name looked up among the pod's container ports."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if not isinstance(target, str) or not target:
        return None
    protocol = service_port.get("protocol") or "TCP"
    spec = meta.spec_of(pod)
    sidecars = [c for c in spec.get("initContainers") or [] if (c or {}).get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or []), *sidecars]:
        for port in (container or {}).get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                number = port.get("containerPort")
                return number if isinstance(number, int) else None
    return None


def _address(service: Mapping[str, Any], pod: Mapping[str, Any]) -> JsonObject | None:
    ip = _pod_ip_for(service, pod)
    if ip is None:
        return None
    spec = meta.spec_of(pod)
    namespace = meta.namespace_of(pod) or "default"
    reference = {"kind": "Pod", "namespace": namespace, "name": meta.name_of(pod), "uid": meta.uid_of(pod),
                 "resourceVersion": meta.resource_version_of(pod)}
    address: JsonObject = {"ip": ip, "targetRef": {k: v for k, v in reference.items() if v}}
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    if (spec.get("hostname") and spec.get("subdomain") == meta.name_of(service)
            and namespace == (meta.namespace_of(service) or "default")):
        address["hostname"] = spec["hostname"]
    return address


def _pod_ip_for(service: Mapping[str, Any], pod: Mapping[str, Any]) -> str | None:
    """The pod IP of the Service's IP family (its first ipFamilies entry, else its clusterIP's)."""
    spec = meta.spec_of(service)
    status = meta.status_of(pod)
    families = spec.get("ipFamilies") or []
    cluster_ip = spec.get("clusterIP") or ""
    if families:
        want_v6 = families[0] == "IPv6"
    elif cluster_ip and cluster_ip != "None":
        want_v6 = _is_v6(cluster_ip)
    else:
        want_v6 = _is_v6(str(status.get("podIP") or ""))
    candidates = [str(entry.get("ip")) for entry in status.get("podIPs") or [] if isinstance(entry, Mapping)]
    for ip in candidates or [str(status.get("podIP") or "")]:
        if ip and _is_v6(ip) == want_v6:
            return ip
    return None


def _is_v6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def _endpoint_port(service_port: Mapping[str, Any], number: int) -> JsonObject:
    port: JsonObject = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def repack_subsets(subsets: Sequence[Mapping[str, Any]]) -> list[JsonObject]:
    """Kubernetes' RepackSubsets: group addresses by the exact set of ports they serve, then sort."""
    addresses: dict[_AddressKey, Mapping[str, Any]] = {}
    by_port: dict[_PortKey, dict[_AddressKey, bool]] = {}
    for subset in subsets:
        ports = [p for p in subset.get("ports") or [] if isinstance(p, Mapping)]
        for port_key in [_port_key(p) for p in ports] or [_NO_PORTS]:
            ready_of = by_port.setdefault(port_key, {})
            for where, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(where) or []:
                    key = _address_key(address)
                    addresses.setdefault(key, address)
                    ready_of[key] = ready_of.get(key, False) or ready  # ready wins
    groups: dict[frozenset[tuple[_AddressKey, bool]], list[_PortKey]] = {}
    for port_key, ready_of in by_port.items():
        ports_of_group = groups.setdefault(frozenset(ready_of.items()), [])
        if port_key != _NO_PORTS:
            ports_of_group.append(port_key)
    repacked = []
    for members, port_keys in groups.items():
        packed: JsonObject = {}
        for where, ready in (("addresses", True), ("notReadyAddresses", False)):
            chosen = sorted(key for key, is_ready in members if is_ready == ready)
            if chosen:
                packed[where] = [dict(addresses[key]) for key in chosen]
        if port_keys:
            packed["ports"] = [_port_of(key) for key in sorted(port_keys)]
        repacked.append(packed)
    return sorted(repacked, key=_subset_order)


def canonical_subsets(subsets: Any) -> list[JsonObject]:
    """Subsets normalised for comparison: sorted, empty fields dropped, targetRef resourceVersion ignored."""
    result = []
    for subset in subsets or []:
        if not isinstance(subset, Mapping):
            continue
        canonical: JsonObject = {}
        for where in ("addresses", "notReadyAddresses"):
            entries = [_comparable_address(a) for a in subset.get(where) or [] if isinstance(a, Mapping)]
            if entries:
                canonical[where] = sorted(entries, key=lambda a: _address_key(a))
        ports = [_port_of(_port_key(p)) for p in subset.get("ports") or [] if isinstance(p, Mapping)]
        if ports:
            canonical["ports"] = sorted(ports, key=_port_key)
        result.append(canonical)
    return sorted(result, key=_subset_order)


def _comparable_address(address: Mapping[str, Any]) -> JsonObject:
    comparable = {k: v for k, v in address.items() if v not in (None, "", {})}
    reference = comparable.get("targetRef")
    if isinstance(reference, Mapping):
        comparable["targetRef"] = {k: v for k, v in reference.items() if k != "resourceVersion" and v}
    return comparable


def truncate(subsets: list[JsonObject]) -> bool:
    """Kubernetes' truncateEndpoints: keep MAX_CAPACITY addresses, ready first, proportionally per subset."""
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return False
    truncate_ready = total_ready > MAX_CAPACITY
    room, pool = (MAX_CAPACITY, total_ready) if truncate_ready else (MAX_CAPACITY - total_ready, total_not_ready)
    share = room / pool
    for subset in subsets:
        where = "addresses" if truncate_ready else "notReadyAddresses"
        count = min(math.ceil(share * len(subset.get(where) or [])), room)
        subset[where] = (subset.get(where) or [])[:count]
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        if not subset[where]:
            subset.pop(where)
        room -= count
    return True


def _capacity_annotation_right(endpoints: Mapping[str, Any]) -> bool:
    count = sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
                for s in endpoints.get("subsets") or [] if isinstance(s, Mapping))
    return count <= MAX_CAPACITY and OVER_CAPACITY not in meta.annotations_of(endpoints)


def _address_key(address: Mapping[str, Any]) -> _AddressKey:
    reference = address.get("targetRef") or {}
    return str(address.get("ip") or ""), str(reference.get("uid") or "") if isinstance(reference, Mapping) else ""


def _port_key(port: Mapping[str, Any]) -> _PortKey:
    number = port.get("port")
    return (str(port.get("name") or ""), number if isinstance(number, int) else 0,
            str(port.get("protocol") or "TCP"), str(port.get("appProtocol") or ""))


def _port_of(key: _PortKey) -> JsonObject:
    name, number, protocol, app_protocol = key
    port: JsonObject = {"port": number, "protocol": protocol}
    if name:
        port["name"] = name
    if app_protocol:
        port["appProtocol"] = app_protocol
    return port


def _subset_order(subset: Mapping[str, Any]) -> tuple[list[_PortKey], list[_AddressKey], list[_AddressKey]]:
    return ([_port_key(p) for p in subset.get("ports") or []],
            [_address_key(a) for a in subset.get("addresses") or []],
            [_address_key(a) for a in subset.get("notReadyAddresses") or []])


