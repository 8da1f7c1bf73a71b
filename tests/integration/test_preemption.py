"""Pod priority and preemption in a cluster of real processes: an apiserver (Priority admission), the scheduler,
the controller-manager and one simulated node of 4 CPUs over the fake runtime.

What a user relies on: a node full of ordinary pods takes a high-priority pod anyway — the scheduler nominates it
to the node, evicts the fewest lower-priority pods (each marked DisruptionTarget/PreemptionByScheduler, with a
Preempted event) and binds it once they are gone — while the evicted pods' replacements wait, told why, and a
pod whose class says `preemptionPolicy: Never` waits without evicting anybody.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.kinds import DEPLOYMENTS, EVENTS, PODS, PRIORITY_CLASSES
from minik8s.api.meta import JsonObject, condition_of
from minik8s.client.api import ApiClient
from minik8s.client.informer import Informer
from tests.support import builders
from tests.support.cluster_api import NAMESPACE, SIMULATED_IMAGE, list_pods, wait_for_ready_nodes
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)

# kube-scheduler's messages, their double period included
NOT_ELIGIBLE = ("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
                "preemptionPolicy=Never..")
NO_VICTIMS = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption "
              "victims found for incoming pod..")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path) as running:
        running.start_nodes(1)  # 4 CPUs
        running.start_scheduler("scheduler", leader_elect=False)
        running.start_controller_manager("controller-manager", leader_elect=False)
        yield running


@pytest.fixture
async def client(cluster: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(cluster.servers, max_connections=4) as api:
        await wait_for_ready_nodes(api, 1)
        yield api


class Seen:
    """Every revision of every pod of the namespace, from before the test creates any."""

    def __init__(self, client: ApiClient) -> None:
        self.revisions: list[JsonObject] = []
        self.informer = Informer(client, PODS, namespace=NAMESPACE)
        self.informer.add_handler(on_add=self.revisions.append, on_update=lambda _old, new: self.revisions.append(new))

    def of(self, name: str) -> list[JsonObject]:
        return [pod for pod in self.revisions if pod["metadata"]["name"] == name]


@pytest.fixture
async def seen(client: ApiClient) -> AsyncIterator[Seen]:
    watching = Seen(client)
    task = asyncio.create_task(watching.informer.run())
    assert await watching.informer.wait_synced(timeout=10)
    yield watching
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def cpu_pod(name: str, cpu: str, **spec: Any) -> JsonObject:
    container = {**builders.sleeper(image=SIMULATED_IMAGE), "resources": {"requests": {"cpu": cpu}}}
    return builders.pod(name, containers=[container], grace=1, **spec)


async def pod_message(client: ApiClient, name: str) -> str:
    scheduled = condition_of(await client.get(PODS, name, namespace=NAMESPACE), "PodScheduled") or {}
    return str(scheduled.get("message") or "")


async def test_a_high_priority_pod_preempts_the_fewest_lower_priority_pods(
        cluster: SimulatedCluster, client: ApiClient, seen: Seen) -> None:
    filler = builders.deployment("filler", replicas=4, pod_spec=cpu_pod("x", "1")["spec"])
    await client.create(DEPLOYMENTS, filler, namespace=NAMESPACE)

    async def full() -> list[JsonObject] | None:
        pods = await list_pods(client, label_selector="app=filler")
        return pods if len(pods) == 4 and all(p["status"].get("phase") == "Running" for p in pods) else None
    fillers = await eventually("4 Running fillers", full, timeout=60)
    assert {p["spec"]["priority"] for p in fillers} == {0}
    for name, value, policy in (("high", 1000, "PreemptLowerPriority"), ("polite", 500, "Never")):
        await client.create(PRIORITY_CLASSES, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                               "metadata": {"name": name}, "value": value,
                                               "preemptionPolicy": policy})

    await client.create(PODS, cpu_pod("polite", "2", priorityClassName="polite"), namespace=NAMESPACE)
    await eventually("the polite pod to be told it may not preempt",
                     lambda: _says(client, "polite", NOT_ELIGIBLE), timeout=30)

    await client.create(PODS, cpu_pod("urgent", "2", priorityClassName="high"), namespace=NAMESPACE)

    async def urgent_running() -> JsonObject | None:
        pod = await client.get(PODS, "urgent", namespace=NAMESPACE)
        return pod if pod["status"].get("phase") == "Running" else None
    urgent = await eventually("the urgent pod to run", urgent_running, timeout=90, describe=cluster.daemons.describe)
    assert urgent["spec"]["nodeName"] == "sim-1" and urgent["spec"]["priority"] == 1000
    assert any((p.get("status") or {}).get("nominatedNodeName") == "sim-1" and not p["spec"].get("nodeName")
               for p in seen.of("urgent"))

    marked = {p["metadata"]["name"]: condition_of(p, "DisruptionTarget") for p in seen.revisions
              if condition_of(p, "DisruptionTarget") is not None}
    victims = set(marked)
    assert len(victims) == 2 and victims <= {p["metadata"]["name"] for p in fillers}
    assert {(c["status"], c["reason"], c["message"]) for c in marked.values() if c is not None} == {
        ("True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")}
    events = (await client.list(EVENTS, namespace=NAMESPACE))["items"]
    preempted = {e["involvedObject"]["name"]: e["message"] for e in events if e.get("reason") == "Preempted"}
    assert preempted == {name: f"Preempted by pod {urgent['metadata']['uid']} on node sim-1" for name in victims}

    # the victims' replacements and the polite pod wait: only equal-or-higher priority pods hold the room
    pending = [p for p in await list_pods(client, label_selector="app=filler") if not p["spec"].get("nodeName")]
    assert len(pending) == 2
    for name in (pod["metadata"]["name"] for pod in pending):
        await eventually(f"{name} to be told why it waits", partial(_says, client, name, NO_VICTIMS), timeout=30)
    assert not (await client.get(PODS, "polite", namespace=NAMESPACE))["spec"].get("nodeName")


async def _says(client: ApiClient, name: str, message: str) -> bool:
    return await pod_message(client, name) == message
