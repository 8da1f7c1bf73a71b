"""What every apiserver replica makes sure exists: the cluster id, system namespaces and PriorityClasses, `kubernetes` Service.

Each replica runs `bootstrap` when it starts, retrying until its Raft group has a leader; the
creates are create-if-absent, so replicas racing each other end with one copy. A replica that
knows its advertised address also adds itself to the `kubernetes` Endpoints, so clients inside
the cluster find every replica. As in Kubernetes, an address no endpoint may have (loopback,
link-local, unspecified: an apiserver serving only 127.0.0.1) is not written — the replica logs why
and the Service stays without it — and addresses of that sort left by an older version are dropped
when a replica registers, so they cannot make every later registration invalid.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from minik8s.api.formats import check_non_special_ip
from minik8s.api.meta import JsonObject
from minik8s.api.registry import REGISTRY, SYSTEM_NAMESPACES
from minik8s.apiserver import errors
from minik8s.apiserver.admission_pod_security import has_pod_security_labels
from minik8s.apiserver.bootstrap_policy import create_cluster_policy, create_namespaced_policy
from minik8s.apiserver.bootstrap_priority import create_system_priority_classes
from minik8s.apiserver.bootstrap_storage import create_default_storage_class
from minik8s.apiserver.operations import Operations
from minik8s.store.base import name_cluster

log = logging.getLogger(__name__)


async def _create_if_missing(ops: Operations, kind: str, namespace: str | None, body: dict[str, Any]) -> None:
    resource = REGISTRY.require("", "v1", kind)
    if ops.objects.get(resource, namespace, body["metadata"]["name"]) is None:
        try:
            await ops.create(resource, namespace, body)
        except errors.StatusError as error:
            if error.reason != "AlreadyExists":
                raise


async def register_endpoint(ops: Operations, address: tuple[str, int]) -> None:
    """Add this replica to the `kubernetes` Endpoints (compare-and-set, retried on conflict)."""
    endpoints = REGISTRY.require("", "v1", "endpoints")
    host, port = address
    for _ in range(8):
        current = await ops.current(endpoints, "default", "kubernetes")
        if current is None:
            return
        subsets = with_address(usable_subsets(current.get("subsets") or []), host, port)
        if subsets == current.get("subsets"):
            return
        current["subsets"] = subsets
        try:
            await ops.update(endpoints, "default", "kubernetes", current)
            return
        except errors.StatusError as error:
            if error.reason != "Conflict":
                raise


async def label_for_pod_security(ops: Operations, name: str, labels: Mapping[str, str]) -> None:
    """Give a system namespace its Pod Security labels, unless someone already chose some."""
    namespaces = REGISTRY.require("", "v1", "namespaces")
    current = await ops.current(namespaces, None, name)
    if current is not None and not has_pod_security_labels(current):
        await ops.patch(namespaces, None, name, "application/merge-patch+json",
                        orjson.dumps({"metadata": {"labels": dict(labels)}}))


def usable_subsets(subsets: list[JsonObject]) -> list[JsonObject]:
    """The subsets with only the addresses an endpoint may have, and without those left empty."""
    kept = []
    for subset in subsets:
        addresses = [a for a in subset.get("addresses") or []
                     if isinstance(a, dict) and not check_non_special_ip(str(a.get("ip")))]
        if addresses:
            kept.append({**subset, "addresses": addresses})
    return kept


def with_address(subsets: list[JsonObject], host: str, port: int) -> list[JsonObject]:
    """`subsets` listing `host` under `port`: replicas on one host differ by port, so one subset per port."""
    subset = next((s for s in subsets if [p.get("port") for p in s.get("ports") or []] == [port]), None)
    if subset is None:
        subset = {"addresses": [], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
        subsets.append(subset)
    if not any(a.get("ip") == host for a in subset.get("addresses") or []):
        subset.setdefault("addresses", []).append({"ip": host})
    return subsets


async def _create_kubernetes_service(ops: Operations, advertise: tuple[str, int]) -> None:
    """The `kubernetes` Service, and its Endpoints at the advertised address when one may hold it."""
    labels = {"component": "apiserver", "provider": "kubernetes"}
    await _create_if_missing(ops, "services", "default", {
        "metadata": {"name": "kubernetes", "labels": labels},
        "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP", "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise[1]}]}})
    problems = check_non_special_ip(advertise[0])
    if problems:
        log.warning('not adding %s to the "kubernetes" Endpoints: it %s; give --advertise-address an address '
                    "pods reach this apiserver at", advertise[0], "; ".join(problems))
        return
    await _create_if_missing(ops, "endpoints", "default", {
        "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": advertise[0]}],
                     "ports": [{"name": "https", "port": advertise[1], "protocol": "TCP"}]}]})
    await register_endpoint(ops, advertise)


async def bootstrap(ops: Operations, advertise: tuple[str, int] | None = None, *, rbac: bool = False,
                    namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """The cluster's id (named at its first start), the system namespaces (labelled with `namespace_labels`),
    the `standard` StorageClass, the `kubernetes` service (and with `rbac` the bootstrap policy); retried
    until the store has a leader."""
    for attempt in range(600):
        try:
            await ops.objects.run(name_cluster(ops.objects.store))
            if rbac:  # before the namespaces: whoever waits for kube-node-lease finds the ClusterRoles in place
                await create_cluster_policy(ops)
            await create_system_priority_classes(ops)  # likewise
            for name in SYSTEM_NAMESPACES:  # kube-node-lease last: whoever waits for it finds the others labelled
                labels = (namespace_labels or {}).get(name)
                metadata = {"name": name, "labels": dict(labels)} if labels else {"name": name}
                await _create_if_missing(ops, "namespaces", None, {"metadata": metadata})
                if labels:
                    await label_for_pod_security(ops, name, labels)
            if rbac:
                await create_namespaced_policy(ops)
            await create_default_storage_class(ops)
            if advertise is not None:
                await _create_kubernetes_service(ops, advertise)
            return
        except errors.StatusError as error:
            if attempt % 20 == 0:
                log.info("waiting for the store to create system namespaces: %s", error.message)
            await asyncio.sleep(0.5)
