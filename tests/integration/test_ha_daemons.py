"""Two schedulers, two controller-managers: the leader is killed -9 and the standby finishes the job once.

A user runs two copies of each daemon so that losing one loses nothing. What
they rely on: only the Lease holder acts; when it dies mid-work the other takes over within the
Lease timings; and nothing is done twice — no pod bound a second time, no pod created twice. All
processes are real (one apiserver, simulated node agents over the fake runtime, the daemons with
short Lease timings) and everything is judged through the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from minik8s.api.kinds import DEPLOYMENTS, PODS, REPLICA_SETS
from minik8s.client.api import ApiClient
from tests.support.cluster_api import (
    NAMESPACE,
    PodHistory,
    deployment_body,
    lease_holder,
    list_pods,
    pod_body,
    scheduled_events,
    scheduled_node,
    wait_all_running,
    wait_deployment_available,
    wait_for_ready_nodes,
)
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)

POD_COUNT = 150
PODS_PER_BATCH = 5
BATCH_INTERVAL_SECONDS = 0.1  # 50 pods/s: the stream lasts ~3 s
BOUND_BEFORE_KILL = 40
TAKEOVER_SECONDS = 20.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path) as running:
        yield running


@pytest.fixture
async def client(cluster: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(cluster.servers, max_connections=8) as api:
        yield api


async def wait_for_leader(client: ApiClient, cluster: SimulatedCluster, lease: str, candidates: set[str]) -> str:
    async def holder() -> str | None:
        name = await lease_holder(client, lease)
        return name if name in candidates else None
    return await eventually(f"one of {sorted(candidates)} to hold Lease {lease}", holder,
                            timeout=TAKEOVER_SECONDS, describe=cluster.daemons.describe)


async def start_pair(client: ApiClient, cluster: SimulatedCluster, names: set[str],
                     start: Callable[[str], object], *, lease: str, nodes: int) -> tuple[str, str]:
    """Start two electing copies of a daemon; (leader, standby) once `nodes` are Ready and one holds `lease`."""
    for name in sorted(names):
        start(name)
    await wait_for_ready_nodes(client, nodes)
    leader = await wait_for_leader(client, cluster, lease, names)
    (standby,) = names - {leader}
    return leader, standby


async def create_pods_steadily(client: ApiClient, created: list[str]) -> None:
    """POD_COUNT pods at a steady rate, in small concurrent batches; `created` grows as they are."""
    for first in range(0, POD_COUNT, PODS_PER_BATCH):
        names = [f"stream-{index}" for index in range(first, first + PODS_PER_BATCH)]
        await asyncio.gather(*(client.create(PODS, pod_body(name, labels={"app": "stream"}), namespace=NAMESPACE)
                               for name in names))
        created.extend(names)
        await asyncio.sleep(BATCH_INTERVAL_SECONDS)


async def test_the_standby_scheduler_takes_over_mid_stream_and_no_pod_is_bound_twice(
        cluster: SimulatedCluster, client: ApiClient) -> None:
    cluster.start_nodes(10)
    leader, standby = await start_pair(client, cluster, {"scheduler-a", "scheduler-b"}, cluster.start_scheduler,
                                       lease="kube-scheduler", nodes=10)
    history = PodHistory(client)
    await history.start()
    try:
        created: list[str] = []
        creating = asyncio.create_task(create_pods_steadily(client, created))

        async def some_bound() -> bool:
            return len(history.bound()) >= BOUND_BEFORE_KILL
        await eventually(f"{BOUND_BEFORE_KILL} pods bound by {leader}", some_bound,
                         describe=cluster.daemons.describe)
        assert "leading:" not in cluster.daemons.daemons[standby].log_text(), "both schedulers led at once"
        cluster.daemons.kill(leader)
        assert len(created) < POD_COUNT, "the leader was killed after the stream ended, not mid-stream"

        await wait_for_leader(client, cluster, "kube-scheduler", {standby})
        taken_over_at = asyncio.get_running_loop().time()
        await asyncio.wait_for(creating, 30)

        async def all_bound() -> dict[str, str] | None:
            placed = history.bound()
            return placed if len(placed) == POD_COUNT else None
        placed = await eventually(f"all {POD_COUNT} pods bound",
                                  all_bound, timeout=60,
                                  describe=cluster.daemons.describe)
        assert history.rebound() == {}
        pods = await wait_all_running(client, POD_COUNT, label_selector="app=stream")
        for pod in pods:
            assert pod["spec"]["nodeName"] == placed[pod["metadata"]["name"]]
            conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
            assert conditions["PodScheduled"] == "True"
        bound_by_standby = {name for name, record in history.records.items()
                            if record.bound_at is not None and record.bound_at > taken_over_at}
        assert bound_by_standby, "the standby bound none of the pods"
        await check_scheduled_events(client, placed, bound_by_standby)
    finally:
        await history.stop()


async def check_scheduled_events(client: ApiClient, placed: dict[str, str], bound_by_standby: set[str]) -> None:
    """Each pod has at most one Scheduled Event, with count 1, naming the node it is bound to; every pod
    the standby bound has one (the killed leader's unsent Events are lost with it)."""
    async def standby_events_recorded() -> dict[str, list[dict[str, object]]] | None:
        events = await scheduled_events(client)
        return events if bound_by_standby <= events.keys() else None
    events = await eventually("Scheduled Events of the pods the standby bound", standby_events_recorded)
    for name, recorded in events.items():
        assert [(scheduled_node(event), event.get("count")) for event in recorded] == [(placed[name], 1)], name


async def test_the_standby_controller_manager_scales_a_deployment_without_creating_a_pod_twice(
        cluster: SimulatedCluster, client: ApiClient) -> None:
    cluster.start_nodes(3)
    cluster.start_scheduler("scheduler", leader_elect=False)
    leader, standby = await start_pair(client, cluster, {"controller-manager-a", "controller-manager-b"},
                                       cluster.start_controller_manager, lease="kube-controller-manager", nodes=3)
    history = PodHistory(client)
    await history.start()
    try:
        await client.create(DEPLOYMENTS, deployment_body("web", replicas=5), namespace=NAMESPACE)
        await wait_deployment_available(client, "web", 5)
        await wait_all_running(client, 5, label_selector="app=web")
        assert "leading:" not in cluster.daemons.daemons[standby].log_text(), "both managers led at once"

        cluster.daemons.kill(leader)
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 8}}, namespace=NAMESPACE, patch_type="merge")
        await wait_for_leader(client, cluster, "kube-controller-manager", {standby})
        await wait_deployment_available(client, "web", 8)
        pods = await wait_all_running(client, 8, label_selector="app=web")

        assert len(history.uids_with_prefix("web-")) == 8, "a pod was created and deleted again"
        assert len(await list_pods(client, label_selector="app=web")) == 8
        replica_sets = (await client.list(REPLICA_SETS, namespace=NAMESPACE))["items"]
        assert [rs["status"].get("replicas") for rs in replica_sets] == [8]
        assert {pod["metadata"]["ownerReferences"][0]["uid"] for pod in pods} == {
            replica_sets[0]["metadata"]["uid"]}
    finally:
        await history.stop()
