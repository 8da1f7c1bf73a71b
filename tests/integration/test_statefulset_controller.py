"""StatefulSets on real processes: apiserver, scheduler, controller-manager and two node agents on the fake runtime.

What a user relies on, seen through the API only: pods web-0, web-1, web-2 come up one at a time, each
only once the one before is Running and Ready; a deleted web-1 comes back as web-1 (a new pod, the same
name and DNS hostname in the governing Service's Endpoints); a rolling update with a partition replaces
only the pods at or above it, highest ordinal first, and each template is kept as a ControllerRevision;
a scale down removes the highest ordinals first, one at a time; deleting the set deletes its pods
and revisions (the garbage collector); the `minik8s` CLI's rollout history, undo and status read and
drive the revisions as kubectl does, and the real kubectl (v1.32) does all of it against the cluster.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from minik8s.api.kinds import CONTROLLER_REVISIONS, ENDPOINTS, PODS, SERVICES, STATEFUL_SETS
from minik8s.api.meta import JsonObject
from minik8s.client.api import ApiClient
from minik8s.client.informer import Informer
from tests.support import builders
from tests.support.cluster_api import NAMESPACE, SIMULATED_IMAGE, wait_for_ready_nodes
from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.kubectl import kubectl_for
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)

WAIT_SECONDS = 60.0
REVISION_LABEL = "controller-revision-hash"
REPO = Path(__file__).resolve().parents[2]


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


async def minik8s(cluster: SimulatedCluster, *args: str) -> str:
    """`python -m minik8s.cli.main ARGS --server URL`, as a user runs it: what it prints (it must succeed)."""
    environment = {key: value for key, value in os.environ.items() if key not in ("MINIK8S_HOME", "KUBECONFIG")}
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "minik8s.cli.main", *args, "--server", cluster.servers[0]],
        capture_output=True, text=True, timeout=60, cwd=REPO, env={**environment, "PYTHONPATH": str(REPO)},
        check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stdout, result.stderr)
    return result.stdout


async def test_rollout_history_undo_and_status_through_the_cli(cluster: SimulatedCluster, client: ApiClient) -> None:
    await client.create(STATEFUL_SETS, stateful_set_body(), namespace=NAMESPACE)
    first = (await wait_status(client, readyReplicas=3, updatedReplicas=3))["status"]["updateRevision"]
    await client.patch(STATEFUL_SETS, "web", {"spec": {"template": {"metadata": {"annotations": {"version": "2"}}}}},
                       namespace=NAMESPACE, patch_type="strategic")
    status = (await wait_status(client, readyReplicas=3, updatedReplicas=3, currentReplicas=3))["status"]
    second = status["updateRevision"]
    assert status["currentRevision"] == second != first
    history = await minik8s(cluster, "rollout", "history", "statefulset/web")
    assert history.splitlines() == ["statefulset.apps/web ", "REVISION  CHANGE-CAUSE", "1         <none>",
                                    "2         <none>", ""]  # kubectl ends it with a blank line too

    assert await minik8s(cluster, "rollout", "undo", "sts/web") == "statefulset.apps/web rolled back\n"
    status = (await wait_status(client, readyReplicas=3, updatedReplicas=3, currentRevision=first))["status"]
    assert status["updateRevision"] == first  # the first template again, under its old name
    history = await minik8s(cluster, "rollout", "history", "sts", "web")
    assert history.splitlines()[2:] == ["2         <none>", "3         <none>", ""]  # revision 1 came back as 3
    assert await minik8s(cluster, "rollout", "status", "sts/web") == \
        "partitioned roll out complete: 3 new pods have been updated...\n"
    table = (await minik8s(cluster, "get", "sts")).splitlines()
    assert table[0].split() == ["NAME", "READY", "AGE"] and table[1].split()[:2] == ["web", "3/3"]
    assert "Replicas:           3 desired | 3 total" in (await minik8s(cluster, "describe", "sts", "web")).splitlines()


async def test_the_real_kubectl_drives_a_stateful_set(cluster: SimulatedCluster, client: ApiClient,
                                                     tmp_path: Path) -> None:
    kubectl = kubectl_for(cluster.servers[0], tmp_path / "kubectl-cache")

    async def run(*args: str) -> str:
        return (await asyncio.to_thread(kubectl, *args)).stdout

    manifest = tmp_path / "web.yaml"
    manifest.write_text(yaml.safe_dump_all([headless_service(), stateful_set_body()]))
    assert "statefulset.apps/web created" in await run("apply", "-f", str(manifest))
    assert "partitioned roll out complete: 3 new pods have been updated..." in await run(
        "rollout", "status", "statefulset/web", "--timeout=60s")
    assert (await run("get", "sts", "web")).splitlines()[1].split()[:2] == ["web", "3/3"]
    await run("patch", "sts", "web", "-p", '{"spec":{"template":{"metadata":{"annotations":{"version":"2"}}}}}')
    await wait_status(client, readyReplicas=3, updatedReplicas=3, currentReplicas=3)
    history = (await run("rollout", "history", "sts/web")).splitlines()
    assert history[1:4] == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"]
    assert "Pod Template:" in await run("rollout", "history", "sts/web", "--revision=1")
    assert (await run("rollout", "undo", "sts/web")).strip() == "statefulset.apps/web rolled back"
    await wait_status(client, readyReplicas=3, updatedReplicas=3, currentReplicas=3)
    assert (await run("get", "sts", "web", "-o", "jsonpath={.spec.template.metadata.annotations.version}")) == "1"
    assert (await run("rollout", "restart", "sts/web")).strip() == "statefulset.apps/web restarted"
    assert (await run("scale", "sts", "web", "--replicas=1")).strip() == "statefulset.apps/web scaled"
    await wait_ready_set(client, ["web-0"])
    revisions = (await run("get", "controllerrevisions")).splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert {line.split()[1] for line in revisions[1:]} == {"statefulset.apps/web"}
    assert "statefulset.apps/web" in await run("get", "all")
    described = await run("describe", "sts", "web")
    assert "Replicas:           1 desired | 1 total" in described.splitlines(), described
