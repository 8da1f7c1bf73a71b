"""Pods spread over simulated nodes: the whole pipeline, real processes.

One apiserver, the scheduler, the controller-manager and real node agents over the fake runtime
(one `minik8s.node.fake.simulated_nodes` process). A Deployment of 50 over 10 nodes ends 5 pods
per node, all Running: a user relies on the ReplicaSet controller creating the pods, the scheduler
spreading a controller's pods evenly over equal nodes (PodTopologySpread's system defaults, over
the ReplicaSet's selector), and each agent running what it was given. On 2 nodes (in two zones), a
Deployment's own `topologySpreadConstraints` (maxSkew 1, DoNotSchedule) keep its pods 3 and 3 even
against a strong preference for one node, and a pod no node can take without breaking its
constraint stays Pending, saying why in its PodScheduled condition and a FailedScheduling Event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from minik8s.api.kinds import DEPLOYMENTS, EVENTS, NODES
from minik8s.api.meta import JsonObject, condition_of
from minik8s.client.api import ApiClient
from tests.support.cluster_api import (
    NAMESPACE,
    deployment_body,
    list_pods,
    wait_all_running,
    wait_deployment_available,
    wait_for_ready_nodes,
)
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(180)

NODE_COUNT = 10
REPLICAS = 50
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SPREAD_MESSAGE = ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                  "1 node(s) didn't match pod topology spread constraints.")


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


# -- a Deployment's own constraints, on two nodes ---------------------------------------------------


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path_factory.mktemp("spread")) as running:
        running.start_nodes(2, zones=("zone-a", "zone-b"))
        running.start_scheduler("scheduler", leader_elect=False)
        running.start_controller_manager("controller-manager", leader_elect=False)
        yield running


@pytest.fixture
async def two_node_client(two_nodes: SimulatedCluster) -> AsyncIterator[ApiClient]:
    async with ApiClient(two_nodes.servers, max_connections=4) as api:
        await wait_for_ready_nodes(api, 2)
        yield api


def spread_deployment(name: str, replicas: int, *, affinity: JsonObject, **constraint: object) -> JsonObject:
    """A Deployment whose pods keep at most 1 apart per node (DoNotSchedule), with `affinity`."""
    body = deployment_body(name, replicas=replicas)
    pod_spec = body["spec"]["template"]["spec"]
    pod_spec["affinity"] = affinity
    pod_spec["topologySpreadConstraints"] = [{
        "maxSkew": 1, "topologyKey": HOSTNAME, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": name}}, "matchLabelKeys": ["pod-template-hash"], **constraint}]
    return body


def node_affinity_to_sim_1(kind: str) -> JsonObject:
    term = {"matchExpressions": [{"key": HOSTNAME, "operator": "In", "values": ["sim-1"]}]}
    if kind == "preferred":
        return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": term}]}}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


async def test_simulated_nodes_carry_their_hostname_and_zone(two_node_client: ApiClient) -> None:
    nodes = (await two_node_client.list(NODES))["items"]
    labels = {node["metadata"]["name"]: node["metadata"]["labels"] for node in nodes}
    assert {name: (found[HOSTNAME], found[ZONE]) for name, found in labels.items()} == {
        "sim-1": ("sim-1", "zone-a"), "sim-2": ("sim-2", "zone-b")}


async def test_max_skew_1_keeps_a_deployment_even_against_a_strong_node_preference(
        two_nodes: SimulatedCluster, two_node_client: ApiClient) -> None:
    body = spread_deployment("even", 6, affinity=node_affinity_to_sim_1("preferred"))
    await two_node_client.create(DEPLOYMENTS, body, namespace=NAMESPACE)

    await wait_deployment_available(two_node_client, "even", 6, timeout=60)
    pods = await wait_all_running(two_node_client, 6, label_selector="app=even")
    per_node = Counter(pod["spec"]["nodeName"] for pod in pods)
    assert per_node == {"sim-1": 3, "sim-2": 3}, f"{dict(per_node)}\n{two_nodes.daemons.describe()}"


async def test_a_pod_that_would_break_its_constraint_stays_pending_and_says_why(
        two_node_client: ApiClient) -> None:
    # Required onto sim-1, but sim-2 still counts as a domain (nodeAffinityPolicy: Ignore): the second pod
    # would put sim-1 two ahead of sim-2's zero.
    body = spread_deployment("pinned", 2, affinity=node_affinity_to_sim_1("required"), nodeAffinityPolicy="Ignore")
    await two_node_client.create(DEPLOYMENTS, body, namespace=NAMESPACE)

    async def one_running_one_refused() -> JsonObject | None:
        pods = await list_pods(two_node_client, label_selector="app=pinned")
        pending = [pod for pod in pods if not pod["spec"].get("nodeName")]
        placed = [pod for pod in pods if pod["spec"].get("nodeName") == "sim-1"]
        if len(pods) != 2 or len(placed) != 1 or len(pending) != 1:
            return None
        condition = condition_of(pending[0], "PodScheduled") or {}
        # (a scheduler that tries preemption appends what it found after this)
        return pending[0] if str(condition.get("message") or "").startswith(SPREAD_MESSAGE) else None

    pending = await eventually("one pod on sim-1, one refused by its spread", one_running_one_refused, timeout=60)
    condition = condition_of(pending, "PodScheduled") or {}
    assert (condition.get("status"), condition.get("reason")) == ("False", "Unschedulable")

    async def failed_scheduling_event() -> JsonObject | None:
        events = (await two_node_client.list(EVENTS, namespace=NAMESPACE))["items"]
        return next((event for event in events if event["involvedObject"]["name"] == pending["metadata"]["name"]
                     and event["reason"] == "FailedScheduling"), None)

    event = await eventually("a FailedScheduling Event", failed_scheduling_event, timeout=30)
    assert event["type"] == "Warning" and event["message"].startswith(SPREAD_MESSAGE)
