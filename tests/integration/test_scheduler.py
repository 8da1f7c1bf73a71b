"""The scheduler against a real apiserver (in-process store), with Node objects and pods made here.

No node agents run: nodes are objects with a Ready condition and allocatable resources, which
is all the scheduler reads. What a user sees is checked through the API: `spec.nodeName`, the
PodScheduled condition with kube-scheduler's message, FailedScheduling Events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest

from minik8s.api.kinds import EVENTS, NODES, PODS
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.scheduler.scheduler import Scheduler
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

T = TypeVar("T")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def client() -> AsyncIterator[ApiClient]:
    async with apiserver_in_loop(history=20_000, max_connections=8) as api:
        yield api


@pytest.fixture
async def scheduler(client: ApiClient) -> AsyncIterator[Scheduler]:
    running = Scheduler(client, housekeeping_interval=0.1)
    task = asyncio.create_task(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def add_node(client: ApiClient, name: str, *, cpu: str = "4", memory: str = "8Gi", unschedulable: bool = False,
                   labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None) -> None:
    await client.create(NODES, {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                   "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
    })


async def nodes_known(scheduler: Scheduler, count: int) -> None:
    async def check() -> bool:
        return sum(1 for n in scheduler.cache.view().nodes if n.readiness_taint is None) == count
    await eventually(f"the scheduler to see {count} ready nodes", check, timeout=20.0)


async def add_pod(client: ApiClient, name: str, *, cpu: str | None = None, labels: dict[str, str] | None = None,
                  owner_uid: str | None = None, **spec: Any) -> None:
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if owner_uid:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs",
                                        "uid": owner_uid, "controller": True}]
    await client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {
        "containers": [{"name": "app", "image": "busybox", "resources": resources}], **spec}}, namespace="default")


async def node_of(client: ApiClient, name: str) -> str | None:
    return (await client.get(PODS, name, namespace="default"))["spec"].get("nodeName") or None


async def all_bound(client: ApiClient, names: list[str]) -> dict[str, str] | None:
    listing = await client.list(PODS, namespace="default")
    placed = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in listing["items"]}
    return placed if all(placed.get(name) for name in names) else None


async def scheduled_condition(client: ApiClient, name: str) -> dict[str, Any] | None:
    pod = await client.get(PODS, name, namespace="default")
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), None)


async def events_of(client: ApiClient, name: str, reason: str) -> list[dict[str, Any]]:
    listing = await client.list(EVENTS, namespace="default", field_selector=f"involvedObject.name={name}")
    return [event for event in listing["items"] if event["reason"] == reason]


async def test_fifty_replicas_spread_evenly_over_ten_nodes(client: ApiClient, scheduler: Scheduler) -> None:
    for index in range(10):
        await add_node(client, f"node-{index}")
    await nodes_known(scheduler, 10)
    names = [f"web-{index}" for index in range(50)]
    await asyncio.gather(*(add_pod(client, name, labels={"app": "web"}, owner_uid="rs-uid-1") for name in names))
    placed = await eventually("all 50 pods bound", lambda: all_bound(client, names), timeout=20.0)
    assert sorted(Counter(placed.values()).values()) == [5] * 10
    condition = await scheduled_condition(client, "web-0")
    assert condition is not None and condition["status"] == "True"
    scheduled = await eventually("a Scheduled event", lambda: events_of(client, "web-0", "Scheduled"),
                                 timeout=20.0)
    assert scheduled[0]["message"] == f"Successfully assigned default/web-0 to {placed['web-0']}"


async def test_a_pod_too_big_for_every_node_waits_with_the_reason_then_binds_on_a_big_enough_node(
        client: ApiClient, scheduler: Scheduler) -> None:
    for index in range(3):
        await add_node(client, f"node-{index}")
    await nodes_known(scheduler, 3)
    await add_pod(client, "huge", cpu="100")
    message = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
               "victims found for incoming pod..")  # kube-scheduler's double period

    async def unschedulable() -> dict[str, Any] | None:
        condition = await scheduled_condition(client, "huge")
        return condition if condition and condition["status"] == "False" else None

    condition = await eventually("PodScheduled=False", unschedulable, timeout=20.0)
    assert (condition["reason"], condition["message"]) == ("Unschedulable", message)
    failed = await eventually("a FailedScheduling event", lambda: events_of(client, "huge", "FailedScheduling"),
                              timeout=20.0)
    assert failed[0]["type"] == "Warning" and failed[0]["message"] == message
    assert await node_of(client, "huge") is None
    await add_node(client, "big", cpu="128")
    assert await eventually("the pod to bind", lambda: node_of(client, "huge"), timeout=20.0) == "big"


async def test_taints_tolerations_and_node_selectors(client: ApiClient, scheduler: Scheduler) -> None:
    await add_node(client, "gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    await add_node(client, "plain")
    await add_node(client, "fast", labels={"disk": "ssd"})
    await nodes_known(scheduler, 3)
    for index in range(6):
        await add_pod(client, f"any-{index}")
    await add_pod(client, "wants-ssd", nodeSelector={"disk": "ssd"})
    await add_pod(client, "gpu-job", nodeSelector={"kubernetes.io/hostname": "gpu"},
                  tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}])
    await add_pod(client, "wants-gpu-untolerated", nodeSelector={"kubernetes.io/hostname": "gpu"})
    names = [f"any-{index}" for index in range(6)] + ["wants-ssd", "gpu-job"]
    placed = await eventually("the schedulable pods bound", lambda: all_bound(client, names), timeout=20.0)
    assert "gpu" not in {placed[f"any-{index}"] for index in range(6)}
    assert (placed["wants-ssd"], placed["gpu-job"]) == ("fast", "gpu")

    async def refused() -> dict[str, Any] | None:
        condition = await scheduled_condition(client, "wants-gpu-untolerated")
        return condition if condition and condition["status"] == "False" else None

    condition = await eventually("the untolerated pod to be refused", refused, timeout=20.0)
    assert condition["message"] == ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                                    "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are "
                                    "available: 3 Preemption is not helpful for scheduling..")


async def test_required_anti_affinity_puts_replicas_on_different_nodes(client: ApiClient,
                                                                       scheduler: Scheduler) -> None:
    for index in range(3):
        await add_node(client, f"node-{index}")
    await nodes_known(scheduler, 3)
    anti_affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    names = [f"db-{index}" for index in range(4)]
    for name in names:
        await add_pod(client, name, labels={"app": "db"}, affinity=anti_affinity)
    placed = await eventually("three replicas bound", lambda: all_bound(client, names[:3]), timeout=20.0)

    async def refused() -> dict[str, Any] | None:
        condition = await scheduled_condition(client, "db-3")
        return condition if condition and condition["status"] == "False" else None

    condition = await eventually("the fourth replica to be refused", refused, timeout=20.0)
    assert len({placed[name] for name in names[:3]}) == 3 and placed["db-3"] is None
    assert condition["message"] == ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
                                    "preemption: 0/3 nodes are available: 3 No preemption victims found for "
                                    "incoming pod..")
    await client.delete(PODS, "db-0", namespace="default", grace_period_seconds=0)
    await eventually("the fourth replica to take the freed node", lambda: node_of(client, "db-3"), timeout=20.0)


async def test_a_cordoned_node_gets_pods_once_uncordoned(client: ApiClient, scheduler: Scheduler) -> None:
    await add_node(client, "only", unschedulable=True)
    await nodes_known(scheduler, 1)
    await add_pod(client, "waiting")

    async def refused() -> dict[str, Any] | None:
        condition = await scheduled_condition(client, "waiting")
        return condition if condition and condition["status"] == "False" else None

    condition = await eventually("the pod to be refused", refused, timeout=20.0)
    assert condition["message"] == ("0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes "
                                    "are available: 1 Preemption is not helpful for scheduling..")
    await client.patch(NODES, "only", {"spec": {"unschedulable": None}}, patch_type="strategic")
    assert await eventually("the pod to bind", lambda: node_of(client, "waiting"), timeout=20.0) == "only"


async def test_pods_naming_another_scheduler_are_left_alone(client: ApiClient, scheduler: Scheduler) -> None:
    await add_node(client, "node-0")
    await nodes_known(scheduler, 1)
    await add_pod(client, "theirs", schedulerName="my-scheduler")
    await add_pod(client, "ours")
    await eventually("our pod bound", lambda: node_of(client, "ours"), timeout=20.0)
    theirs = await client.get(PODS, "theirs", namespace="default")
    assert not theirs["spec"].get("nodeName") and not theirs["status"].get("conditions")
    assert await events_of(client, "theirs", "FailedScheduling") == []


async def test_a_deleted_pending_pod_leaves_the_queue(client: ApiClient, scheduler: Scheduler) -> None:
    await add_node(client, "small", cpu="1")
    await nodes_known(scheduler, 1)
    await add_pod(client, "huge", cpu="8")

    async def parked() -> bool:
        return "default/huge" in scheduler.queue.unschedulable_keys
    await eventually("the pod to be parked", parked, timeout=20.0)
    with contextlib.suppress(NotFound):
        await client.delete(PODS, "huge", namespace="default")

    async def gone() -> bool:
        return "default/huge" not in scheduler.queue
    await eventually("the pod to leave the queue", gone, timeout=20.0)
