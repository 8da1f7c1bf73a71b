"""What every apiserver replica makes sure exists: the system namespaces and the `kubernetes` Service.

Each replica runs `bootstrap` when it starts, retrying until its Raft group has a leader; the
creates are create-if-absent, so replicas racing each other end with one copy. A replica that
knows its advertised address also adds itself to the `kubernetes` Endpoints, so clients inside
the cluster find every replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from minik8s.api.registry import REGISTRY, SYSTEM_NAMESPACES
from minik8s.apiserver import errors
from minik8s.apiserver.admission_pod_security import has_pod_security_labels
from minik8s.apiserver.bootstrap_policy import create_cluster_policy, create_namespaced_policy
from minik8s.apiserver.operations import Operations

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
        subsets = current.get("subsets") or []
        # Replicas on one host differ by port: one subset per port, each listing its addresses.
        subset = next((s for s in subsets if [p.get("port") for p in s.get("ports") or []] == [port]), None)
        if subset is None:
            subset = {"addresses": [], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
            subsets.append(subset)
        if any(a.get("ip") == host for a in subset.get("addresses") or []):
            return
        subset.setdefault("addresses", []).append({"ip": host})
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


async def bootstrap(ops: Operations, advertise: tuple[str, int] | None = None, *, rbac: bool = False,
                    namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """The system namespaces (labelled with `namespace_labels`), the `kubernetes` service (and with
    `rbac` the bootstrap policy); retried until the store has a leader."""
    for attempt in range(600):
        try:
            if rbac:  # before the namespaces: whoever waits for kube-node-lease finds the ClusterRoles in place
                await create_cluster_policy(ops)
            for name in SYSTEM_NAMESPACES:  # kube-node-lease last: whoever waits for it finds the others labelled
                labels = (namespace_labels or {}).get(name)
                metadata = {"name": name, "labels": dict(labels)} if labels else {"name": name}
                await _create_if_missing(ops, "namespaces", None, {"metadata": metadata})
                if labels:
                    await label_for_pod_security(ops, name, labels)
            if rbac:
                await create_namespaced_policy(ops)
            if advertise is not None:
                labels = {"component": "apiserver", "provider": "kubernetes"}
                await _create_if_missing(ops, "services", "default", {
                    "metadata": {"name": "kubernetes", "labels": labels},
                    "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP", "sessionAffinity": "None",
                             "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise[1]}]}})
                await _create_if_missing(ops, "endpoints", "default", {
                    "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                    "subsets": [{"addresses": [{"ip": advertise[0]}],
                                 "ports": [{"name": "https", "port": advertise[1], "protocol": "TCP"}]}]})
                await register_endpoint(ops, advertise)
            return
        except errors.StatusError as error:
            if attempt % 20 == 0:
                log.info("waiting for the store to create system namespaces: %s", error.message)
            await asyncio.sleep(0.5)
