"""Where the apiserver may dial a node's agent for logs and exec: a rule, because a Node names it.

The address comes from the Node object (`status.addresses`, `status.daemonEndpoints.kubeletEndpoint.Port`),
which whoever may write that Node controls — under NodeRestriction the node itself. Dialing it blindly
made `pods/log` fetch any host:port for the caller (SSRF). The rule:

- the pod's node is a registered Node, and the port is its reported agent port, an integer 1-65535;
- the host is one of the Node's own `InternalIP` or `ExternalIP` addresses (in that order), and an IP
  literal: never a name (`Hostname`, `*DNS`), whose answer a DNS server, not the Node, decides;
- that IP is one a node can have: not unspecified, link-local (169.254.169.254 is the cloud metadata
  server, fe80::/10), multicast or broadcast. Loopback is allowed: the agents of a one-machine
  cluster may listen there.

With `--kubelet-client-certificate` (as `minik8s up` runs) the apiserver also checks the agent's
serving certificate against the cluster CA and the dialed IP (kubelet_client), so a forged address
reaches nothing that is not that node's agent. A Node that offers no such address gets 503.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from minik8s.api.meta import JsonObject, list_at, mapping_at, name_of, status_of
from minik8s.apiserver import errors

AGENT_ADDRESS_TYPES = ("InternalIP", "ExternalIP")  # preferred first
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def agent_address(node: JsonObject) -> str:
    """`host:port` of the node's agent, by the rule above; 503 ServiceUnavailable when it offers none."""
    status = status_of(node)
    port = mapping_at(mapping_at(status, "daemonEndpoints"), "kubeletEndpoint").get("Port")
    host = next((address for kind in AGENT_ADDRESS_TYPES for address in addresses_of(status, kind)
                 if dialable(address)), None)
    if not _is_port(port) or host is None:
        raise errors.StatusError(
            503, "ServiceUnavailable",
            f'node "{name_of(node)}" does not report where its agent listens (status.addresses: an InternalIP or '
            "ExternalIP that is not unspecified, link-local or multicast; "
            "status.daemonEndpoints.kubeletEndpoint.Port: 1-65535)")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def addresses_of(status: Mapping[str, Any], kind: str) -> list[str]:
    """The node's addresses of one type, in its order."""
    return [str(entry["address"]) for entry in list_at(status, "addresses")
            if isinstance(entry, Mapping) and entry.get("type") == kind and isinstance(entry.get("address"), str)]


def dialable(text: str) -> bool:
    """An IP literal a node's agent can listen at."""
    if "%" in text:  # an IPv6 zone: no address Go (or a Node) has
        return False
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_unspecified or address.is_link_local or address.is_multicast or address == _BROADCAST)


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536
