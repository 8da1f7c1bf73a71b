"""What the daemon integration tests ask the cluster, through the API only, with every wait bounded.

The HA and spreading tests judge the scheduler and controller-manager processes by what a user
sees through the apiserver: who holds a Lease, where pods are bound, which pods ever existed, what
a Deployment reports. `PodHistory` follows every revision of every pod through an informer, so a
test can tell "bound once" from "bound, then bound elsewhere" and "8 pods" from "9 created, 1
deleted" — the failures a double-acting leader would cause.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from minik8s.api.kinds import DEPLOYMENTS, EVENTS, LEASES, NODES, PODS
from minik8s.api.meta import JsonObject
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.client.informer import Informer
from tests.support import builders
from tests.support.waiting import eventually

NAMESPACE = "default"
SIMULATED_IMAGE = "minik8s/busybox:latest"  # present on every simulated node, as in FakeRuntime

T = TypeVar("T")


async def lease_holder(client: ApiClient, name: str) -> str:
    """The holderIdentity of Lease kube-system/<name> ("" when absent or released)."""
    try:
        lease = await client.get(LEASES, name, namespace="kube-system")
    except NotFound:
        return ""
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


async def ready_node_count(client: ApiClient) -> int:
    listing = await client.list(NODES)
    return sum(1 for node in listing["items"]
               if any(c.get("type") == "Ready" and c.get("status") == "True"
                      for c in (node.get("status") or {}).get("conditions") or []))


async def wait_for_ready_nodes(client: ApiClient, count: int, *, timeout: float = 30.0) -> None:
    async def enough() -> bool:
        return await ready_node_count(client) >= count
    await eventually(f"{count} Ready nodes", enough, timeout=timeout)


def pod_body(name: str, *, labels: dict[str, str] | None = None) -> JsonObject:
    """A pod the simulated nodes run at once: an image they have, no grace period."""
    return builders.pod(name, labels=labels or {}, containers=[builders.sleeper(image=SIMULATED_IMAGE)], grace=0)


def deployment_body(name: str, *, replicas: int) -> JsonObject:
    return builders.deployment(name, replicas=replicas, pod_spec=pod_body(name)["spec"])


def is_running(pod: JsonObject) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


async def list_pods(client: ApiClient, *, label_selector: str | None = None) -> list[JsonObject]:
    listing = await client.list(PODS, namespace=NAMESPACE, label_selector=label_selector)
    items: list[JsonObject] = listing["items"]
    return items


async def wait_all_running(client: ApiClient, count: int, *, label_selector: str | None = None,
                           timeout: float = 60.0) -> list[JsonObject]:
    """Exactly `count` pods (matching the selector), every one Running."""
    seen: list[JsonObject] = []

    async def running() -> list[JsonObject] | None:
        seen[:] = await list_pods(client, label_selector=label_selector)
        return seen if len(seen) == count and all(is_running(pod) for pod in seen) else None

    def phases() -> str:
        counted = Counter((pod.get("status") or {}).get("phase") for pod in seen)
        return f"phases of the {len(seen)} pods: {dict(counted)}"
    return await eventually(f"{count} Running pods", running, timeout=timeout, describe=phases)


async def wait_deployment_available(client: ApiClient, name: str, replicas: int, *,
                                    timeout: float = 60.0) -> JsonObject:
    """The Deployment once its controller observed its latest spec and reports `replicas` available."""
    async def available() -> JsonObject | None:
        deployment = await client.get(DEPLOYMENTS, name, namespace=NAMESPACE)
        status = deployment.get("status") or {}
        observed = status.get("observedGeneration") == deployment["metadata"].get("generation")
        counts = (status.get("replicas"), status.get("updatedReplicas"), status.get("availableReplicas"))
        return deployment if observed and counts == (replicas, replicas, replicas) else None
    return await eventually(f"Deployment {name} with {replicas} available", available, timeout=timeout)


def scheduled_node(event: JsonObject) -> str:
    """The node a `Scheduled` Event names: "Successfully assigned default/p to sim-3" → sim-3."""
    return str(event.get("message") or "").rsplit(" to ", 1)[-1]


async def scheduled_events(client: ApiClient) -> dict[str, list[JsonObject]]:
    """Every `Scheduled` Event in the namespace, by the name of the pod it is about."""
    listing = await client.list(EVENTS, namespace=NAMESPACE)
    by_pod: dict[str, list[JsonObject]] = {}
    for event in listing["items"]:
        if event.get("reason") == "Scheduled":
            by_pod.setdefault(event["involvedObject"]["name"], []).append(event)
    return by_pod


@dataclass
class PodRecord:
    """What one pod name was seen as, revision after revision."""

    uids: set[str] = field(default_factory=set)
    node_names: list[str] = field(default_factory=list)  # each distinct nodeName, in the order seen
    bound_at: float | None = None  # loop time its nodeName was first seen


class PodHistory:
    """Every pod of the namespace as an informer saw it, from before the test created any."""

    def __init__(self, client: ApiClient) -> None:
        self.records: dict[str, PodRecord] = {}
        self.informer = Informer(client, PODS, namespace=NAMESPACE)
        self.informer.add_handler(on_add=self._see, on_update=lambda _old, new: self._see(new))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.informer.run())
        if not await self.informer.wait_synced(timeout=10):
            raise AssertionError("the pod informer did not sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _see(self, pod: JsonObject) -> None:
        record = self.records.setdefault(pod["metadata"]["name"], PodRecord())
        record.uids.add(pod["metadata"]["uid"])
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if node_name and (not record.node_names or record.node_names[-1] != node_name):
            record.node_names.append(node_name)
            if record.bound_at is None:
                record.bound_at = asyncio.get_running_loop().time()

    def bound(self) -> dict[str, str]:
        """Pod name → the node it is bound to now, for bound pods still in the cache."""
        pods = self.informer.list()
        return {pod["metadata"]["name"]: pod["spec"]["nodeName"] for pod in pods
                if (pod.get("spec") or {}).get("nodeName")}

    def rebound(self) -> dict[str, list[str]]:
        """Pods seen bound to more than one node over their life (must stay empty)."""
        return {name: record.node_names for name, record in self.records.items() if len(record.node_names) > 1}

    def uids_with_prefix(self, prefix: str) -> set[str]:
        return {uid for name, record in self.records.items() if name.startswith(prefix) for uid in record.uids}
