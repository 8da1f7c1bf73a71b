"""The Service and Endpoints `kube-system/kube-dns` that lead pods to this DNS server.

Pods are told `nameserver 10.96.0.10`; the proxy turns that virtual address into a real one
only through a Service and its Endpoints. The Service has no selector (the server is no pod),
so nothing else maintains its Endpoints: the server itself keeps both pointing at the address
it is reached at, at start, whenever either object changes, and on a slow resync. The
decision is pure (`plan_service`, `plan_endpoints`: observed object → one action or none) and
every write is guarded by the observed resourceVersion, so two servers or a stale read can
only cause a Conflict and another round, never a lost update.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from dataclasses import dataclass

from minik8s.api.kinds import ENDPOINTS, SERVICES
from minik8s.api.meta import JsonObject, key_of, labels_of, resource_version_of, spec_of
from minik8s.api.registry import ResourceKind
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.client.informer import Backoff

log = logging.getLogger(__name__)


DNS_NAMESPACE = "kube-system"
DNS_NAME = "kube-dns"
DNS_SERVICE_PORT = 53
DEFAULT_CLUSTER_IP = "10.96.0.10"
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "minik8s-dns"}
_PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))


@dataclass(frozen=True)
class DnsRegistration:
    """Where pods find this server: the Service's address, and the real address and port behind it."""

    cluster_ip: str
    advertise_address: str
    port: int

    def service(self) -> JsonObject:
        ports = [{"name": name, "port": DNS_SERVICE_PORT, "protocol": protocol, "targetPort": self.port}
                 for name, protocol in _PORTS]
        return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(),
                "spec": {"type": "ClusterIP", "clusterIP": self.cluster_ip, "ports": ports}}

    def endpoints(self) -> JsonObject:
        subset = {"addresses": [{"ip": self.advertise_address}],
                  "ports": [{"name": name, "port": self.port, "protocol": protocol} for name, protocol in _PORTS]}
        return {"apiVersion": "v1", "kind": "Endpoints", "metadata": _metadata(), "subsets": [subset]}


def _metadata() -> JsonObject:
    return {"name": DNS_NAME, "namespace": DNS_NAMESPACE, "labels": dict(LABELS)}


@dataclass(frozen=True)
class Create:
    kind: ResourceKind
    obj: JsonObject


@dataclass(frozen=True)
class Update:
    """PUT `obj`, which carries the observed resourceVersion."""

    kind: ResourceKind
    obj: JsonObject


@dataclass(frozen=True)
class Recreate:
    """Delete the observed object (only if still at `resource_version`) and create `obj`.

    For a Service whose clusterIP is not ours: the field is immutable, so updating cannot fix it.
    """

    kind: ResourceKind
    obj: JsonObject
    resource_version: str


Action = Create | Update | Recreate


def plan_service(observed: JsonObject | None, registration: DnsRegistration) -> Action | None:
    desired = registration.service()
    if observed is None:
        return Create(SERVICES, desired)
    if spec_of(observed).get("clusterIP") != registration.cluster_ip:
        return Recreate(SERVICES, desired, resource_version_of(observed))
    if _service_shape(observed) == _service_shape(desired) and _has_labels(observed):
        return None
    updated = _with_labels(observed)
    updated_spec = updated.setdefault("spec", {})
    updated_spec.pop("selector", None)
    updated_spec.update(type="ClusterIP", ports=desired["spec"]["ports"])
    return Update(SERVICES, updated)


def plan_endpoints(observed: JsonObject | None, registration: DnsRegistration) -> Action | None:
    desired = registration.endpoints()
    if observed is None:
        return Create(ENDPOINTS, desired)
    if _endpoints_shape(observed) == _endpoints_shape(desired) and _has_labels(observed):
        return None
    updated = _with_labels(observed)
    updated["subsets"] = desired["subsets"]
    return Update(ENDPOINTS, updated)


def _service_shape(service: JsonObject) -> tuple[object, ...]:
    spec = spec_of(service)
    ports = sorted((str(p.get("name") or ""), p.get("port"), str(p.get("protocol") or "TCP"),
                    str(p.get("targetPort") if p.get("targetPort") is not None else p.get("port")))
                   for p in _dicts(spec.get("ports")))
    return (spec.get("type") or "ClusterIP", tuple(ports), bool(spec.get("selector")))


def _endpoints_shape(endpoints: JsonObject) -> tuple[object, ...]:
    subsets = []
    for subset in _dicts(endpoints.get("subsets")):
        ips = tuple(sorted(str(a.get("ip")) for a in _dicts(subset.get("addresses"))))
        not_ready = tuple(sorted(str(a.get("ip")) for a in _dicts(subset.get("notReadyAddresses"))))
        ports = tuple(sorted((str(p.get("name") or ""), p.get("port"), str(p.get("protocol") or "TCP"))
                             for p in _dicts(subset.get("ports"))))
        subsets.append((ips, not_ready, ports))
    return tuple(sorted(subsets))


def _has_labels(obj: JsonObject) -> bool:
    labels = labels_of(obj)
    return all(labels.get(key) == value for key, value in LABELS.items())


def _with_labels(observed: JsonObject) -> JsonObject:
    """A copy of the observed object (resourceVersion kept, to guard the write) with our labels."""
    updated = copy.deepcopy(observed)
    metadata = updated.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **LABELS}
    return updated


def _dicts(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# -- acting ----------------------------------------------------------------------------------------


async def ensure_registered(client: ApiClient, registration: DnsRegistration) -> None:
    """One round: read both objects and write what differs (errors propagate to the caller)."""
    for kind, plan in ((SERVICES, plan_service), (ENDPOINTS, plan_endpoints)):
        try:
            observed: JsonObject | None = await client.get(kind, DNS_NAME, namespace=DNS_NAMESPACE)
        except NotFound:
            observed = None
        action = plan(observed, registration)
        if action is not None:
            await execute(client, action)


async def execute(client: ApiClient, action: Action) -> None:
    if isinstance(action, Create):
        await client.create(action.kind, action.obj)
        log.info("created %s %s/%s", action.kind.kind, DNS_NAMESPACE, DNS_NAME)
    elif isinstance(action, Update):
        await client.update(action.kind, action.obj)
        log.info("updated %s %s/%s", action.kind.kind, DNS_NAMESPACE, DNS_NAME)
    else:
        log.warning("%s %s/%s has another clusterIP than %s: replacing it", action.kind.kind, DNS_NAMESPACE,
                    DNS_NAME, action.obj["spec"]["clusterIP"])
        with contextlib.suppress(NotFound):
            await client.delete(action.kind, DNS_NAME, namespace=DNS_NAMESPACE,
                                preconditions_resource_version=action.resource_version or None)
        await client.create(action.kind, action.obj)


class Registrar:
    """Runs `ensure_registered` at start, after each change of either object, and every resync."""

    def __init__(self, client: ApiClient, registration: DnsRegistration, *, resync_seconds: float = 60.0) -> None:
        self.client = client
        self.registration = registration
        self.resync_seconds = resync_seconds
        self._wake = asyncio.Event()
        self._backoff = Backoff(base=0.2, cap=10.0)

    def note(self, obj: JsonObject) -> None:
        """Informer handler (add/delete; see `note_update`): wake up when one of our objects changed."""
        if key_of(obj) == f"{DNS_NAMESPACE}/{DNS_NAME}":
            self._wake.set()

    def note_update(self, old: JsonObject, new: JsonObject) -> None:
        if old is not new:
            self.note(new)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await ensure_registered(self.client, self.registration)
            except Exception as error:  # unreachable apiserver, a raced write, …: try again soon
                delay = self._backoff.next_delay()
                log.warning("registering %s/%s failed (%r); again in %.1fs", DNS_NAMESPACE, DNS_NAME, error, delay)
            else:
                self._backoff.reset()
                delay = self.resync_seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
