"""What a pod's sandbox is made with, decided purely from the pod and the node.

The sandbox (pause) container owns what the pod's containers share: its network (the node's
with `hostNetwork`), its IPC and PID namespaces (the host's with `hostIPC`/`hostPID`), DNS,
/etc/hosts entries and hostPorts. As the kubelet (pkg/kubelet/network/dns): `ClusterFirst` on a
hostNetwork pod falls back to the node's resolver unless it says `ClusterFirstWithHostNet`.

A hostPort is published on the node's own address, never on every interface of the machine
(several nodes share it, and its external address is nobody's node): a port's `hostIP`, when
given, must be that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import name_of, namespace_of, spec_of
from minik8s.node.env import ConfigError
from minik8s.node.runtime import PortBinding, SandboxSpec
from minik8s.node.security_context import namespace_options

HOSTNAME_LIMIT = 63


@dataclass(frozen=True)
class SandboxSettings:
    """What the node contributes to every sandbox."""

    network: str  # the node's Docker network
    node_ip: str
    pause_image: str
    cluster_dns: str | None = None
    cluster_domain: str = "cluster.local"


def dns_settings(pod: Mapping[str, Any], settings: SandboxSettings) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search domains, resolver options) of the pod's /etc/resolv.conf; empty: the node's."""
    spec = spec_of(pod)
    policy = spec.get("dnsPolicy", "ClusterFirst")
    if policy == "ClusterFirst" and spec.get("hostNetwork") is True:
        policy = "Default"
    config = spec.get("dnsConfig") or {}
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and settings.cluster_dns:
        namespace = namespace_of(pod) or "default"
        domain = settings.cluster_domain
        servers = [settings.cluster_dns]
        search = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = ["ndots:5"]
    servers += list(config.get("nameservers") or [])
    search += list(config.get("searches") or [])
    options += [f"{o['name']}:{o['value']}" if o.get("value") else str(o.get("name"))
                for o in config.get("options") or [] if o.get("name")]
    return servers, search, options


def _is_unspecified(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False


def host_port_bindings(pod: Mapping[str, Any], node_ip: str) -> list[PortBinding]:
    """The hostPorts of the pod's containers, each on the node's address; ConfigError for another hostIP."""
    bindings = []
    for container in spec_of(pod).get("containers") or []:
        for port in container.get("ports") or []:
            if not port.get("hostPort"):
                continue
            host_ip = str(port.get("hostIP") or "")
            if host_ip and host_ip != node_ip and not _is_unspecified(host_ip):
                raise ConfigError(f"hostIP {host_ip} of hostPort {port['hostPort']} is not this node's address "
                                  f"({node_ip})")
            bindings.append(PortBinding(host_ip=node_ip, host_port=int(port["hostPort"]),
                                        protocol=str(port.get("protocol") or "TCP").lower(),
                                        container_port=int(port["containerPort"])))
    return bindings


def sandbox_spec(pod: Mapping[str, Any], settings: SandboxSettings, *, name: str,
                 labels: Mapping[str, str]) -> SandboxSpec:
    """The sandbox of `pod`; ConfigError when a hostPort cannot be honoured."""
    spec = spec_of(pod)
    servers, search, options = dns_settings(pod, settings)
    namespaces = namespace_options(pod)
    return SandboxSpec(
        name=name, image=settings.pause_image, labels=labels, network=settings.network,
        hostname=str(spec.get("hostname") or name_of(pod))[:HOSTNAME_LIMIT], domainname=pod_domain(pod, settings),
        dns_servers=servers, dns_search=search, dns_options=options,
        extra_hosts={h: a["ip"] for a in spec.get("hostAliases") or [] for h in a.get("hostnames") or []},
        port_bindings=[] if namespaces.host_network else host_port_bindings(pod, settings.node_ip),
        namespaces=namespaces,
    )


def pod_domain(pod: Mapping[str, Any], settings: SandboxSettings) -> str:
    """The rest of the FQDN of a pod with a hostname and a subdomain (a StatefulSet's `web-0`):
    `<subdomain>.<ns>.svc.<zone>`, so /etc/hosts and `hostname -f` name it as the kubelet's hosts file does."""
    spec = spec_of(pod)
    if not spec.get("hostname") or not spec.get("subdomain"):
        return ""
    return f"{spec['subdomain']}.{namespace_of(pod) or 'default'}.svc.{settings.cluster_domain}"


def pod_ip(pod: Mapping[str, Any], sandbox_ip: str | None, node_ip: str) -> str | None:
    """The pod's IP: its sandbox's, or the node's for a hostNetwork pod (as Kubernetes reports it)."""
    return node_ip if spec_of(pod).get("hostNetwork") is True else sandbox_ip
