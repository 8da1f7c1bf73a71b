"""The kernel settings outside iptables that services need: the service CIDR sink, sysctls, hairpin.

iptables rules alone do not make services work on this kind of machine (docs/architecture.md,
"Networking"):
- a packet to a virtual IP that no rule catches must never leave the machine, so the service
  CIDR is routed locally (`ip route replace local 10.96.0.0/16 dev lo`; a blackhole route would
  break host access);
- NodePort on 127.0.0.1 needs `route_localnet`, and services need `ip_forward`;
- a pod reaching itself through its service needs `hairpin_mode` on its bridge port, which Docker
  leaves off. Pod bridges are found as the Linux bridges holding an address inside the cluster
  CIDR (each node's Docker network `minik8s-<node>`, bridge `br-<id>`, has its gateway there), so
  no Docker API is needed, and new pods' ports are covered on the next sync.
Each function only writes what differs, so calling them on every sync is cheap and harmless.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from typing import Any

from minik8s.proxy.commands import CommandError, run_command

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
PROC_SYS = Path("/proc/sys")
SYS_CLASS_NET = Path("/sys/class/net")
SYSCTLS = ("net/ipv4/conf/all/route_localnet", "net/ipv4/ip_forward")


def sink_service_cidr(service_cidr: str = DEFAULT_SERVICE_CIDR) -> None:
    """Route the service CIDR to the local machine, so virtual IPs never leave it."""
    run_command(["ip", "route", "replace", "local", service_cidr, "dev", "lo"])


def unsink_service_cidr(service_cidr: str = DEFAULT_SERVICE_CIDR) -> None:
    """Remove the local route of the service CIDR (nothing if it is not there)."""
    try:
        run_command(["ip", "route", "del", "local", service_cidr, "dev", "lo"])
    except CommandError as error:
        if "No such process" not in str(error):
            raise


def write_setting(path: Path, value: str = "1") -> bool:
    """Write a /proc or /sys setting unless it already holds `value`; True when it was changed."""
    if path.read_text().strip() == value:
        return False
    path.write_text(value)
    return True


def enable_sysctls(*, proc_sys: Path = PROC_SYS) -> list[str]:
    """route_localnet (NodePort on 127.0.0.1) and ip_forward; the settings that were changed."""
    changed = [name for name in SYSCTLS if write_setting(proc_sys / name)]
    if changed:
        logger.info("set %s to 1", ", ".join(name.replace("/", ".") for name in changed))
    return changed


def bridges_in(addresses: list[dict[str, Any]], cluster_cidr: str) -> list[str]:
    """Interfaces of `ip -j -4 addr` output that hold an address inside the cluster CIDR."""
    network = ipaddress.ip_network(cluster_cidr, strict=False)
    names: list[str] = []
    for interface in addresses:
        for info in interface.get("addr_info") or []:
            try:
                inside = ipaddress.ip_address(str(info.get("local"))) in network
            except ValueError:
                continue
            if inside and interface.get("ifname") not in names:
                names.append(str(interface.get("ifname")))
    return names


def pod_bridges(cluster_cidr: str, *, sys_class_net: Path = SYS_CLASS_NET) -> list[str]:
    """The Linux bridges of pod networks on this machine."""
    addresses = json.loads(run_command(["ip", "-j", "-4", "addr", "show"]) or "[]")
    return [name for name in bridges_in(addresses, cluster_cidr) if (sys_class_net / name / "bridge").is_dir()]


def tune_bridges(bridges: list[str], *, sys_class_net: Path = SYS_CLASS_NET,
                 proc_sys: Path = PROC_SYS) -> list[str]:
    """hairpin_mode on every port of each bridge, route_localnet on each; the settings changed."""
    changed: list[str] = []
    for bridge in bridges:
        try:
            if write_setting(proc_sys / "net/ipv4/conf" / bridge / "route_localnet"):
                changed.append(f"{bridge} route_localnet")
            ports = sorted((sys_class_net / bridge / "brif").iterdir())
        except OSError as error:  # the bridge went away meanwhile
            logger.debug("bridge %s: %s", bridge, error)
            continue
        for port in ports:
            try:
                if write_setting(port / "hairpin_mode"):
                    changed.append(f"{port.name} hairpin_mode")
            except OSError as error:  # the port went away meanwhile
                logger.debug("bridge port %s: %s", port.name, error)
    if changed:
        logger.info("set %s", ", ".join(changed))
    return changed
