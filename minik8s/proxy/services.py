"""What the proxy needs to know of a Service port: its virtual address and the ready backends behind it.

Services and Endpoints arrive as Kubernetes' JSON objects. Rendering rules from raw dicts would mix
two jobs (reading Kubernetes' object shapes, and shaping iptables rules), so this module does the
first one alone: it reduces a Service and its Endpoints to flat, hashable `ServicePort` records.
Headless and ExternalName services, ports of protocols the proxy does not program (SCTP) and
non-IPv4 addresses yield nothing; only `subsets[].addresses` count as backends (never
`notReadyAddresses`), matched to a service port by port name and protocol, as kube-proxy does — the
Endpoints carry the resolved number of a named targetPort per backend. An address the API refuses for
an endpoint (loopback, link-local, unspecified: this node itself or its metadata server) is skipped even
when an object stored before that check carries one: the proxy never DNATs a pod to the node's own services.
"""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.formats import check_non_special_ip
from minik8s.api.meta import namespaced_key_of, spec_of

DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800  # Kubernetes' default for sessionAffinity ClientIP
PROGRAMMED_PROTOCOLS = ("TCP", "UDP")
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


@dataclass(frozen=True, slots=True)
class Backend:
    """One ready endpoint of a service port."""

    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of one Service, with its ready backends (sorted, deduplicated)."""

    service_key: str  # namespace/name
    cluster_ip: str
    port: int
    protocol: str  # "tcp" or "udp", as iptables spells it
    node_port: int | None
    affinity_timeout: int | None  # seconds of ClientIP affinity; None without affinity
    backends: tuple[Backend, ...]

    @property
    def identity(self) -> str:
        """`namespace/name:port/protocol`: what names this port's chains."""
        return f"{self.service_key}:{self.port}/{self.protocol}"


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@functools.lru_cache(maxsize=1 << 16)
def ipv4_value(text: str) -> int | None:
    """The address as a number (its sort key), or None when `text` is not a dotted IPv4 address."""
    if _IPV4.fullmatch(text) is None:
        return None
    return int.from_bytes(socket.inet_aton(text), "big")


def is_ipv4(text: str) -> bool:
    return ipv4_value(text) is not None


@functools.lru_cache(maxsize=1 << 16)
def is_backend_address(text: str) -> bool:
    """A dotted IPv4 address the API accepts as an endpoint (see formats.check_non_special_ip)."""
    return is_ipv4(text) and not check_non_special_ip(text)


def index_endpoints(endpoints: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {namespaced_key_of(item): item for item in endpoints}


def affinity_timeout_of(spec: Mapping[str, Any]) -> int | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    client_ip = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    timeout = client_ip.get("timeoutSeconds")
    return int(timeout) if isinstance(timeout, int) and timeout > 0 else DEFAULT_AFFINITY_TIMEOUT_SECONDS


def backends_for(endpoints: Mapping[str, Any] | None, *, port_name: str, protocol: str) -> tuple[Backend, ...]:
    """Ready addresses of the subsets whose port has this name and protocol, with that port's number."""
    if not endpoints:
        return ()
    found: set[Backend] = set()
    for subset in endpoints.get("subsets") or []:
        number = None
        for endpoint_port in subset.get("ports") or []:
            name = endpoint_port.get("name") or ""
            if name == port_name and (endpoint_port.get("protocol") or "TCP") == protocol:
                number = endpoint_port.get("port")
                break
        if not isinstance(number, int):
            continue
        for address in subset.get("addresses") or []:
            ip = address.get("ip")
            if isinstance(ip, str) and is_backend_address(ip):
                found.add(Backend(ip, number))
    return tuple(sorted(found, key=lambda backend: (ipv4_value(backend.ip) or 0, backend.port)))


def service_ports(service: Mapping[str, Any], endpoints: Mapping[str, Any] | None) -> list[ServicePort]:
    """The programmable ports of one Service (none for headless, ExternalName or unallocated ones)."""
    spec = spec_of(service)
    service_type = spec.get("type") or "ClusterIP"
    cluster_ip = spec.get("clusterIP")
    if service_type == "ExternalName" or not isinstance(cluster_ip, str) or not is_ipv4(cluster_ip):
        return []  # headless ("None"), not yet allocated, IPv6, or ExternalName
    key = namespaced_key_of(service)
    timeout = affinity_timeout_of(spec)
    ports: list[ServicePort] = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        number = port.get("port")
        if protocol not in PROGRAMMED_PROTOCOLS or not isinstance(number, int):
            continue
        node_port = port.get("nodePort") if service_type in NODE_PORT_TYPES else None
        ports.append(ServicePort(
            service_key=key, cluster_ip=cluster_ip, port=number, protocol=protocol.lower(),
            node_port=node_port if isinstance(node_port, int) else None, affinity_timeout=timeout,
            backends=backends_for(endpoints, port_name=port.get("name") or "", protocol=protocol),
        ))
    return ports
