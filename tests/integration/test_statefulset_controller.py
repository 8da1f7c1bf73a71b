"""StatefulSets on real processes: apiserver, scheduler, controller-manager and two node agents on the fake runtime.

What a user relies on, seen through the API only: pods web-0, web-1, web-2 come up one at a time, each
only once the one before is Running and Ready; a deleted web-1 comes back as web-1 (a new pod, the same
name and DNS hostname in the governing Service's Endpoints); a rolling update with a partition replaces
only the pods at or above it, highest ordinal first, and each template is kept as a ControllerRevision;
a scale down removes the highest ordinals first, one at a time; deleting the set deletes its pods
and revisions (the garbage collector).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from minik8s.api.kinds import CONTROLLER_REVISIONS, ENDPOINTS, PODS, SERVICES, STATEFUL_SETS
from minik8s.api.meta import JsonObject
from minik8s.client.api import ApiClient
from minik8s.client.informer import Informer
from tests.support import builders
from tests.support.cluster_api import NAMESPACE, SIMULATED_IMAGE, wait_for_ready_nodes
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)

WAIT_SECONDS = 60.0
REVISION_LABEL = "controller-revision-hash"


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


def headless_service() -> JsonObject:
    return builders.service("web", cluster_ip="None", selector={"app": "web"}, ports=[{"name": "http", "port": 80}])


def stateful_set_body(*, replicas: int = 3, version: str = "1") -> JsonObject:
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"version": version}},
                "spec": {"terminationGracePeriodSeconds": 0,
                         "containers": [builders.sleeper("web", image=SIMULATED_IMAGE)]}}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                     "template": template}}


def ready(pod: JsonObject) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


async def pods_by_name(client: ApiClient) -> dict[str, JsonObject]:
    listing = await client.list(PODS, namespace=NAMESPACE, label_selector="app=web")
    return {pod["metadata"]["name"]: pod for pod in listing["items"] if not pod["metadata"].get("deletionTimestamp")}


async def wait_ready_set(client: ApiClient, names: list[str]) -> dict[str, JsonObject]:
    async def all_ready() -> dict[str, JsonObject] | None:
        pods = await pods_by_name(client)
        return pods if sorted(pods) == sorted(names) and all(ready(pod) for pod in pods.values()) else None
    return await eventually(f"pods {names} Running and Ready", all_ready, timeout=WAIT_SECONDS)


async def wait_status(client: ApiClient, **wanted: Any) -> JsonObject:
    async def matches() -> JsonObject | None:
        stateful_set = await client.get(STATEFUL_SETS, "web", namespace=NAMESPACE)
        status = stateful_set.get("status") or {}
        observed = status.get("observedGeneration") == stateful_set["metadata"]["generation"]
        return stateful_set if observed and all(status.get(k) == v for k, v in wanted.items()) else None
    return await eventually(f"statefulset status {wanted}", matches, timeout=WAIT_SECONDS)


class PodLog:
    """The order pods are created and deleted in, and which others were Ready at each creation."""

    def __init__(self, client: ApiClient) -> None:
        self.informer = Informer(client, PODS, namespace=NAMESPACE, label_selector="app=web")
        self.created: list[tuple[str, set[str]]] = []
        self.deleted: list[str] = []
        self.informer.add_handler(on_add=self._added, on_delete=lambda pod: self.deleted.append(pod["metadata"]["name"]))

    def _added(self, pod: JsonObject) -> None:
        others = {p["metadata"]["name"] for p in self.informer.list() if ready(p) and p is not pod}
        self.created.append((pod["metadata"]["name"], others))


async def test_pods_start_in_order_and_a_deleted_pod_comes_back_with_its_name_and_dns_name(client: ApiClient) -> None:
    log = PodLog(client)
    watching = asyncio.create_task(log.informer.run())
    try:
        await log.informer.wait_synced()
        await client.create(SERVICES, headless_service(), namespace=NAMESPACE)
        await client.create(STATEFUL_SETS, stateful_set_body(), namespace=NAMESPACE)
        pods = await wait_ready_set(client, ["web-0", "web-1", "web-2"])
        assert log.created == [("web-0", set()), ("web-1", {"web-0"}), ("web-2", {"web-0", "web-1"})]
        assert pods["web-1"]["spec"]["hostname"] == "web-1" and pods["web-1"]["spec"]["subdomain"] == "web"
        await wait_status(client, replicas=3, readyReplicas=3, availableReplicas=3)

        old_uid = pods["web-1"]["metadata"]["uid"]
        await client.delete(PODS, "web-1", namespace=NAMESPACE)

        async def replaced() -> JsonObject | None:
            current = (await pods_by_name(client)).get("web-1")
            return current if current and current["metadata"]["uid"] != old_uid and ready(current) else None
        web_1 = await eventually("web-1 to come back", replaced, timeout=WAIT_SECONDS)
        assert web_1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"

        async def named_in_endpoints() -> bool:
            endpoints = await client.get(ENDPOINTS, "web", namespace=NAMESPACE)
            addresses = [a for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []]
            return {"hostname": "web-1", "ip": web_1["status"]["podIP"]} in [
                {"hostname": a.get("hostname"), "ip": a.get("ip")} for a in addresses]
        await eventually("web-1's new address under its hostname in the Endpoints", named_in_endpoints,
                         timeout=WAIT_SECONDS)
    finally:
        watching.cancel()


async def test_a_partitioned_rolling_update_then_an_ordered_scale_down(client: ApiClient) -> None:
    await client.create(STATEFUL_SETS, stateful_set_body(), namespace=NAMESPACE)
    await wait_ready_set(client, ["web-0", "web-1", "web-2"])
    first = (await wait_status(client, readyReplicas=3, updatedReplicas=3))["status"]["updateRevision"]

    patch = {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}},
                      "template": {"metadata": {"annotations": {"version": "2"}}}}}
    await client.patch(STATEFUL_SETS, "web", patch, namespace=NAMESPACE, patch_type="strategic")
    status = (await wait_status(client, readyReplicas=3, updatedReplicas=1, currentReplicas=2))["status"]
    second = status["updateRevision"]
    assert second != first and status["currentRevision"] == first
    pods = await wait_ready_set(client, ["web-0", "web-1", "web-2"])
    assert {name: pod["metadata"]["labels"][REVISION_LABEL] for name, pod in pods.items()} == {
        "web-0": first, "web-1": first, "web-2": second}

    await client.patch(STATEFUL_SETS, "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}},
                       namespace=NAMESPACE, patch_type="strategic")
    status = (await wait_status(client, readyReplicas=3, updatedReplicas=3, currentRevision=second))["status"]
    assert status["currentReplicas"] == 3
    revisions = (await client.list(CONTROLLER_REVISIONS, namespace=NAMESPACE, label_selector="app=web"))["items"]
    assert sorted((r["metadata"]["name"], r["revision"]) for r in revisions) == sorted([(first, 1), (second, 2)])

    log = PodLog(client)
    watching = asyncio.create_task(log.informer.run())
    try:
        await log.informer.wait_synced()
        await client.patch(STATEFUL_SETS, "web", {"spec": {"replicas": 1}}, namespace=NAMESPACE,
                           subresource="scale")
        await wait_ready_set(client, ["web-0"])
        await eventually("web-2 and web-1 to be gone", lambda: len(log.deleted) == 2, timeout=WAIT_SECONDS)
        assert log.deleted == ["web-2", "web-1"]
    finally:
        watching.cancel()

    await client.delete(STATEFUL_SETS, "web", namespace=NAMESPACE)  # the garbage collector takes what it owned

    async def all_gone() -> bool:
        left = await client.list(CONTROLLER_REVISIONS, namespace=NAMESPACE, label_selector="app=web")
        return not left["items"] and not await pods_by_name(client)
    await eventually("its pods and ControllerRevisions to be deleted with it", all_gone, timeout=WAIT_SECONDS)
