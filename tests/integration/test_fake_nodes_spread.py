"""A Deployment of 50 over 10 simulated nodes ends 5 pods per node, all Running: the whole pipeline, real processes.

One apiserver, the scheduler, the controller-manager and ten real node agents over the fake
runtime (one `minik8s.node.fake.simulated_nodes` process): a user creating a Deployment relies on the
ReplicaSet controller creating the pods, the scheduler spreading a controller's pods evenly over
equal nodes (kube-scheduler's SelectorSpread), and each agent running what it was given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from minik8s.api.kinds import DEPLOYMENTS
from minik8s.client.api import ApiClient
from tests.support.cluster_api import (
    NAMESPACE,
    deployment_body,
    wait_all_running,
    wait_deployment_available,
    wait_for_ready_nodes,
)
from tests.support.daemons import SimulatedCluster, simulated_cluster

pytestmark = pytest.mark.timeout(180)

NODE_COUNT = 10
REPLICAS = 50


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path) as running:
        running.start_nodes(NODE_COUNT)
        running.start_scheduler("scheduler", leader_elect=False)
        running.start_controller_manager("controller-manager", leader_elect=False)
        yield running


@pytest.fixture
async def client(cluster: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(cluster.servers, max_connections=4) as api:
        yield api


async def test_fifty_replicas_end_five_on_each_of_ten_nodes_and_all_running(
        cluster: SimulatedCluster, client: ApiClient) -> None:
    await wait_for_ready_nodes(client, NODE_COUNT)
    await client.create(DEPLOYMENTS, deployment_body("spread", replicas=REPLICAS), namespace=NAMESPACE)

    await wait_deployment_available(client, "spread", REPLICAS, timeout=90)
    pods = await wait_all_running(client, REPLICAS, label_selector="app=spread")

    per_node = Counter(pod["spec"]["nodeName"] for pod in pods)
    assert per_node == {f"sim-{index}": REPLICAS // NODE_COUNT for index in range(1, NODE_COUNT + 1)}, (
        f"{dict(per_node)}\n{cluster.daemons.describe()}")
