"""PodDisruptionBudgets in a whole cluster of real processes: an apiserver, the scheduler, the controller-manager
(its disruption controller keeps the budget's status) and two simulated nodes over the fake runtime.

What a user relies on: with `minAvailable: 1` over two replicas, one eviction is granted, the next is refused
with 429 until the first pod's replacement is Ready, then granted; and the real `kubectl drain` waits on the
budget as kubectl does (retrying the refused eviction every 5 seconds) and finishes once the replacements run
on the other node. The replacement's readiness is held back by a readiness probe's initial delay, so the
budget has something to wait for.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.kinds import DEPLOYMENTS, NODES, POD_DISRUPTION_BUDGETS, PODS
from minik8s.api.meta import is_condition_true
from minik8s.client.api import ApiClient
from minik8s.client.errors import TooManyRequests, error_from_response
from minik8s.client.paths import object_path
from tests.support import builders
from tests.support.cluster_api import NAMESPACE, SIMULATED_IMAGE, list_pods, wait_for_ready_nodes
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)

READY_DELAY_SECONDS = 3


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path) as running:
        running.start_nodes(2)
        running.start_scheduler("scheduler", leader_elect=False)
        running.start_controller_manager("controller-manager", leader_elect=False)
        yield running


@pytest.fixture
async def client(cluster: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(cluster.servers, max_connections=4) as api:
        await wait_for_ready_nodes(api, 2)
        yield api


def web(replicas: int = 2) -> dict[str, Any]:
    """Pods that turn Ready READY_DELAY_SECONDS after they start (an exec readiness probe's initial delay)."""
    probe = {"exec": {"command": ["true"]}, "initialDelaySeconds": READY_DELAY_SECONDS, "periodSeconds": 1}
    container = {**builders.sleeper(image=SIMULATED_IMAGE), "readinessProbe": probe}
    return builders.deployment("web", replicas=replicas,
                               pod_spec={"containers": [container], "terminationGracePeriodSeconds": 1})


async def ready_web_pods(client: ApiClient, count: int) -> list[dict[str, Any]]:
    async def ready() -> list[dict[str, Any]] | None:
        pods = [p for p in await list_pods(client, label_selector="app=web")
                if not p["metadata"].get("deletionTimestamp")]
        return pods if len(pods) == count and all(is_condition_true(p, "Ready") for p in pods) else None
    return await eventually(f"{count} Ready web pods", ready, timeout=60)


async def budget_allows(client: ApiClient, allowed: int) -> dict[str, Any]:
    async def counted() -> dict[str, Any] | None:
        pdb = await client.get(POD_DISRUPTION_BUDGETS, "web", namespace=NAMESPACE)
        status = pdb.get("status") or {}
        current = status.get("observedGeneration") == pdb["metadata"]["generation"]
        return pdb if current and status.get("disruptionsAllowed") == allowed else None
    return await eventually(f"the budget to allow {allowed} disruption(s)", counted, timeout=30)


async def evict(client: ApiClient, name: str) -> None:
    path = object_path(PODS, name, namespace=NAMESPACE, subresource="eviction")
    response = await client.request("POST", path, json={"apiVersion": "policy/v1", "kind": "Eviction",
                                                        "metadata": {"name": name, "namespace": NAMESPACE}})
    if not response.is_success:
        raise error_from_response(response.status_code, response.content)


async def create_budget(client: ApiClient) -> None:
    await client.create(POD_DISRUPTION_BUDGETS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}, namespace=NAMESPACE)


async def test_a_budget_refuses_the_second_eviction_until_the_replacement_is_ready(
        cluster: SimulatedCluster, client: ApiClient) -> None:
    await client.create(DEPLOYMENTS, web(), namespace=NAMESPACE)
    first, second = await ready_web_pods(client, 2)
    await create_budget(client)
    status = (await budget_allows(client, 1))["status"]
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) == (2, 1, 2)

    await evict(client, first["metadata"]["name"])
    originals = {first["metadata"]["name"], second["metadata"]["name"]}

    async def replacement_made() -> str | None:
        names = {p["metadata"]["name"] for p in await list_pods(client, label_selector="app=web")} - originals
        return next(iter(names), None)
    replacement = await eventually("the first pod's replacement", replacement_made, timeout=30)
    refusals = 0
    while True:  # what kubectl drain does, faster: retry the refused eviction
        try:
            await evict(client, second["metadata"]["name"])
            break
        except TooManyRequests as refused:
            assert refused.message == "Cannot evict pod as it would violate the pod's disruption budget."
            refusals += 1
            assert refusals < 200, cluster.daemons.describe()
            await asyncio.sleep(0.1)
    assert refusals > 0
    # granted only once the replacement of the first pod was Ready (a pod never turns unready by itself here)
    pods = {p["metadata"]["name"]: p for p in await list_pods(client, label_selector="app=web")}
    assert is_condition_true(pods[replacement], "Ready"), pods[replacement]
    evicted = pods.get(second["metadata"]["name"])
    if evicted is not None:  # still terminating: it carries the condition the eviction set
        reasons = {c["type"]: c.get("reason") for c in evicted["status"].get("conditions") or []}
        assert reasons.get("DisruptionTarget") == "EvictionByEvictionAPI"
    await ready_web_pods(client, 2)


async def test_kubectl_drain_waits_on_the_budget_and_drains_the_node(cluster: SimulatedCluster,
                                                                     client: ApiClient, tmp_path: Path) -> None:
    await client.patch(NODES, "sim-2", {"spec": {"unschedulable": True}}, patch_type="strategic")
    await client.create(DEPLOYMENTS, web(), namespace=NAMESPACE)
    pods = await ready_web_pods(client, 2)
    assert {p["spec"]["nodeName"] for p in pods} == {"sim-1"}
    await client.patch(NODES, "sim-2", {"spec": {"unschedulable": None}}, patch_type="strategic")
    await create_budget(client)
    await budget_allows(client, 1)

    code, out, err = await kubectl(cluster.servers[0], tmp_path, "drain", "sim-1", "--ignore-daemonsets",
                                   "--timeout", "150s")
    assert code == 0, f"{out}\n{err}\n{cluster.daemons.describe()}"
    assert 'error when evicting pods/"web-' in err
    assert ("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget." in err), err
    assert out.splitlines()[0] == "node/sim-1 cordoned"
    assert out.splitlines()[-1] == "node/sim-1 drained"
    after = await ready_web_pods(client, 2)
    assert {p["spec"]["nodeName"] for p in after} == {"sim-2"}
    assert (await client.get(NODES, "sim-1"))["spec"]["unschedulable"] is True


async def kubectl(server: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """The real kubectl, without blocking the test's loop; bounded, killed if it hangs."""
    binary = shutil.which("kubectl")
    assert binary, "kubectl v1.32 is expected on this machine"
    process = await asyncio.create_subprocess_exec(binary, "--server", server, "--cache-dir", str(tmp_path / "cache"),
                                                   *args, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, out.decode(), err.decode()
