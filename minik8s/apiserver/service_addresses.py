"""ClusterIPs and NodePorts for Services, allocated through the store so they never collide.

Each allocated address is a key of its own (`/registry/allocations/...`) written in the same
transaction as the Service: two replicas racing for one address cannot both commit, an
explicit address that is taken fails with 422, and a restart loses nothing because the
allocations are ordinary replicated keys. Deleting the Service releases them in its transaction.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from minik8s.api.kinds import SERVICES
from minik8s.api.meta import JsonObject, metadata_of, spec_of
from minik8s.apiserver import errors
from minik8s.store.base import Store
from minik8s.store.state import Command

CLUSTER_IPS = "/registry/allocations/clusterips/"
NODE_PORTS = "/registry/allocations/nodeports/"
RESERVED_HOSTS = (1, 10)  # 10.96.0.1 the kubernetes service, 10.96.0.10 cluster DNS: only when asked for


@dataclass
class AddressChanges:
    """The allocation keys to create and to release along with a Service write."""

    create: list[Command] = field(default_factory=list)
    release: list[Command] = field(default_factory=list)

    def commands(self) -> list[Command]:
        return [*self.create, *self.release]




def _invalid(service: JsonObject, field_path: str, message: str) -> errors.StatusError:
    name = str(metadata_of(service).get("name", ""))
    return errors.invalid(SERVICES, name, [{"reason": "FieldValueInvalid", "message": message, "field": field_path}])


def _wants_node_ports(service: JsonObject) -> bool:
    return spec_of(service).get("type") in ("NodePort", "LoadBalancer")


def _node_ports(service: JsonObject | None) -> set[int]:
    if service is None or not _wants_node_ports(service):
        return set()
    ports = spec_of(service).get("ports") or []
    return {int(p["nodePort"]) for p in ports if isinstance(p, dict) and isinstance(p.get("nodePort"), int)}


def _cluster_ip(service: JsonObject | None) -> str | None:
    if service is None:
        return None
    value = spec_of(service).get("clusterIP")
    return value if isinstance(value, str) and value not in ("", "None") else None


class ServiceAddresses:
    def __init__(self, store: Store, *, service_cidr: str = "10.96.0.0/16",
                 node_port_range: tuple[int, int] = (30000, 32767)) -> None:
        self.store = store
        self.network = ipaddress.ip_network(service_cidr)
        self.node_port_range = node_port_range

    def _taken(self, prefix: str) -> set[str]:
        return {key[len(prefix):] for key, _ in self.store.list(prefix)[1]}

    def assign(self, service: JsonObject, old: JsonObject | None, *, key: str) -> AddressChanges:
        """Fill in missing addresses of `service` (in place) and list the allocation keys to write."""
        spec = service.setdefault("spec", {})
        changes = AddressChanges()
        if spec.get("type") == "ExternalName":
            spec.pop("clusterIP", None)
        elif spec.get("clusterIP") != "None":
            self._assign_cluster_ip(service, old, key=key, changes=changes)
        else:
            spec["clusterIPs"] = ["None"]
        self._assign_node_ports(service, old, key=key, changes=changes)
        return changes

    def _assign_cluster_ip(self, service: JsonObject, old: JsonObject | None, *, key: str, changes: AddressChanges) -> None:
        spec = service["spec"]
        wanted = spec.get("clusterIP") or None
        if wanted is not None:
            try:
                address = ipaddress.ip_address(wanted)
            except ValueError:
                raise _invalid(service, "spec.clusterIP", f'Invalid value: "{wanted}": must be a valid IP address'
                               ) from None
            if address not in self.network or address in (self.network.network_address,
                                                          self.network.broadcast_address):
                raise _invalid(service, "spec.clusterIP",
                               f'Invalid value: "{wanted}": provided IP is not in the valid range. '
                               f"The range of valid IPs is {self.network}")
        if wanted is not None and wanted == _cluster_ip(old):
            return  # unchanged: already allocated
        if wanted is None:
            taken = self._taken(CLUSTER_IPS)
            wanted = self._pick_ip(taken)
        spec["clusterIP"] = wanted
        spec["clusterIPs"] = [wanted]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        changes.create.append({"op": "create", "key": CLUSTER_IPS + wanted, "value": key.encode()})

    def _pick_ip(self, taken: set[str]) -> str:
        size = self.network.num_addresses
        for _ in range(64):
            offset = random.randrange(1, size - 1)
            if offset in RESERVED_HOSTS:
                continue
            candidate = str(self.network.network_address + offset)
            if candidate not in taken:
                return candidate
        for offset in range(1, size - 1):
            candidate = str(self.network.network_address + offset)
            if offset not in RESERVED_HOSTS and candidate not in taken:
                return candidate
        raise errors.StatusError(500, "InternalError", f"the service IP range {self.network} is full")

    def _assign_node_ports(self, service: JsonObject, old: JsonObject | None, *, key: str, changes: AddressChanges) -> None:
        had = _node_ports(old)
        low, high = self.node_port_range
        keep: set[int] = set()
        if _wants_node_ports(service):
            taken = {int(p) for p in self._taken(NODE_PORTS)}
            for index, port in enumerate(service["spec"].get("ports") or []):
                if not isinstance(port, dict):
                    continue
                wanted = port.get("nodePort")
                if wanted is None or wanted == 0:
                    wanted = self._pick_port(taken | keep)
                    port["nodePort"] = wanted
                elif not isinstance(wanted, int) or not low <= wanted <= high:
                    raise _invalid(service, f"spec.ports[{index}].nodePort",
                                   f"Invalid value: {wanted}: provided port is not in the valid range. "
                                   f"The range of valid ports is {low}-{high}")
                if wanted not in had and wanted not in keep:
                    changes.create.append({"op": "create", "key": f"{NODE_PORTS}{wanted}", "value": key.encode()})
                keep.add(wanted)
        else:
            for port in service["spec"].get("ports") or []:
                if isinstance(port, dict):
                    port.pop("nodePort", None)
        changes.release += [{"op": "delete", "key": f"{NODE_PORTS}{p}", "if_exists": True} for p in had - keep]

    def _pick_port(self, taken: set[int]) -> int:
        low, high = self.node_port_range
        free = [port for port in range(low, high + 1) if port not in taken]
        if not free:
            raise errors.StatusError(500, "InternalError", f"the node port range {low}-{high} is full")
        return random.choice(free)

    @staticmethod
    def release_all(service: JsonObject) -> list[Command]:
        commands: list[Command] = [{"op": "delete", "key": f"{NODE_PORTS}{p}", "if_exists": True}
                                   for p in _node_ports(service)]
        ip = _cluster_ip(service)
        if ip:
            commands.append({"op": "delete", "key": CLUSTER_IPS + ip, "if_exists": True})
        return commands

    @staticmethod
    def taken_message(service: JsonObject, allocation_key: str) -> errors.StatusError:
        """The 422 for an explicit address that another Service holds."""
        if allocation_key.startswith(CLUSTER_IPS):
            ip = allocation_key[len(CLUSTER_IPS):]
            return _invalid(service, "spec.clusterIP", f'Invalid value: "{ip}": provided IP is already allocated')
        port = int(allocation_key[len(NODE_PORTS):])
        ports = spec_of(service).get("ports") or []
        index = next((i for i, p in enumerate(ports) if isinstance(p, dict) and p.get("nodePort") == port), 0)
        return _invalid(service, f"spec.ports[{index}].nodePort",
                        f"Invalid value: {port}: provided port is already allocated")


def asked_for(service: JsonObject, allocation_key: str) -> bool:
    """Did the user ask for the address behind this allocation key (rather than us picking it)?"""
    spec = spec_of(service)
    value = allocation_key.rsplit("/", 1)[-1]
    if allocation_key.startswith(CLUSTER_IPS):
        return spec.get("clusterIP") == value
    return any(isinstance(p, dict) and str(p.get("nodePort")) == value for p in spec.get("ports") or [])
