"""The real node agent against a real apiserver, with the in-memory runtime in place of Docker.

Everything above the runtime seam is the real thing — `NodeAgent` with its informer, work
queue, pod sync, back-offs, status writes and graceful deletion, talking HTTP through
`ApiClient` to `create_app(LocalStore())` served by uvicorn on a loopback port — so these
tests pin the pod lifecycle a user sees without needing Docker. The fake's knobs stand in
for a container's process: `finish` is a process that exits by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from minik8s.client.api import ApiClient
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from minik8s.node.runtime import LABEL_POD_NAME, LABEL_POD_UID, LABEL_ROLE, ContainerInfo, SecurityOptions
from tests.support import builders
from tests.support.serving import apiserver_serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)

NODE = "node-a"
PODS = "/api/v1/namespaces/default/pods"
BACKOFF_BASE_SECONDS = 1.0
DEADLINE_SECONDS = 10.0



@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """A real apiserver over an in-process store, on a loopback port; a plain HTTP client to it."""
    async with apiserver_serving(history=1000) as url, httpx.AsyncClient(base_url=url, timeout=5) as client:
        yield client


async def namespace_exists(client: httpx.AsyncClient, name: str) -> bool:
    try:
        return (await client.get(f"/api/v1/namespaces/{name}")).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Node:
    """One node agent's world: the fake engine outlives the agent, as Docker outlives a kubelet."""

    runtime: FakeRuntime
    settings: NodeSettings
    server: str
    task: asyncio.Task[None] | None = None
    client: ApiClient | None = None

    async def start(self) -> None:
        self.client = ApiClient([self.server])
        agent = NodeAgent(self.client, self.runtime, self.settings, backoff_base=BACKOFF_BASE_SECONDS,
                          resync_seconds=0.5, workers=2)
        self.task = asyncio.create_task(agent.run())
        await eventually("the agent's informer to sync", lambda: _synced(agent), timeout=DEADLINE_SECONDS)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def containers(self, pod_name: str, *, role: str | None = None) -> list[ContainerInfo]:
        labels = {LABEL_POD_NAME: pod_name} | ({LABEL_ROLE: role} if role else {})
        return await self.runtime.list_containers(labels)

    async def running_app(self, pod_name: str) -> ContainerInfo:
        running = [info for info in await self.containers(pod_name, role="app") if info.state == "running"]
        assert len(running) == 1, running
        return running[0]


async def _synced(agent: NodeAgent) -> bool:
    return agent.pods.has_synced


@pytest.fixture
async def node(api: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[Node]:
    runtime = FakeRuntime()
    settings = NodeSettings(node_name=NODE, network=f"fake-{NODE}", pod_cidr="10.250.1.0/24", node_ip="10.250.1.1",
                            data_dir=tmp_path / NODE)
    await runtime.ensure_network(settings.network, subnet=settings.pod_cidr, gateway=settings.gateway)
    world = Node(runtime, settings, str(api.base_url).rstrip("/"))
    await world.start()
    yield world
    await world.stop()


def pod_body(name: str, *, grace: int = 2) -> dict[str, Any]:
    return builders.pod(name, node_name=NODE, grace=grace, containers=[builders.sleeper("main")])


async def create_pod(api: httpx.AsyncClient, name: str, **options: Any) -> dict[str, Any]:
    response = await api.post(PODS, json=pod_body(name, **options))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def read_pod(api: httpx.AsyncClient, name: str) -> dict[str, Any] | None:
    response = await api.get(f"{PODS}/{name}")
    return response.json() if response.status_code == 200 else None


async def wait_pod(api: httpx.AsyncClient, name: str, condition: Callable[[dict[str, Any]], bool], *,
                   what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        pod = await read_pod(api, name)
        return pod if pod is not None and condition(pod) else None

    return await eventually(f"pod {name} to be {what}", probe, timeout=DEADLINE_SECONDS)  # type: ignore[no-any-return]


def main_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0]  # type: ignore[no-any-return]


def running_and_ready(pod: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
    return pod.get("status", {}).get("phase") == "Running" and conditions.get("Ready") == "True"


def running_with_restarts(count: int) -> Callable[[dict[str, Any]], bool]:
    def condition(pod: dict[str, Any]) -> bool:
        status = main_status(pod)
        return running_and_ready(pod) and status.get("restartCount") == count and "running" in status["state"]

    return condition


def in_crash_loop(pod: dict[str, Any]) -> bool:
    waiting = (main_status(pod).get("state") or {}).get("waiting") or {}
    return bool(waiting.get("reason") == "CrashLoopBackOff")


async def test_a_pod_bound_to_the_node_runs_and_reports_ready(api: httpx.AsyncClient, node: Node) -> None:
    await create_pod(api, "web")

    pod = await wait_pod(api, "web", running_and_ready, what="Running and Ready")

    status = pod["status"]
    app = await node.running_app("web")
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True"}
    assert status["podIP"].startswith("10.250.1.") and status["hostIP"] == "10.250.1.1"
    main = main_status(pod)
    assert main["name"] == "main" and main["ready"] is True and main["restartCount"] == 0
    assert "startedAt" in main["state"]["running"]
    assert main["containerID"] == f"docker://{app.id}"
    assert main["image"] == "minik8s/busybox:latest" and main["imageID"] == app.image_id
    assert [info.state for info in await node.containers("web", role="sandbox")] == ["running"]


async def test_a_crashing_container_is_restarted_then_backs_off(api: httpx.AsyncClient, node: Node) -> None:
    await create_pod(api, "crasher")
    await wait_pod(api, "crasher", running_and_ready, what="Running and Ready")

    node.runtime.finish((await node.running_app("crasher")).id, 1)
    restarted = await wait_pod(api, "crasher", running_with_restarts(1), what="restarted once")
    assert restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1

    node.runtime.finish((await node.running_app("crasher")).id, 1)
    backing_off = await wait_pod(api, "crasher", in_crash_loop, what="in CrashLoopBackOff")
    main = main_status(backing_off)
    assert main["restartCount"] == 1 and main["ready"] is False
    assert main["lastState"]["terminated"]["exitCode"] == 1
    assert "back-off" in main["state"]["waiting"]["message"]
    assert backing_off["status"]["phase"] == "Running"  # restartPolicy Always: never Failed

    await wait_pod(api, "crasher", running_with_restarts(2), what="restarted after its back-off")


async def test_deleting_a_pod_stops_its_containers_and_removes_it(api: httpx.AsyncClient, node: Node) -> None:
    created = await create_pod(api, "doomed", grace=2)
    await wait_pod(api, "doomed", running_and_ready, what="Running and Ready")
    app = await node.running_app("doomed")

    response = await api.delete(f"{PODS}/doomed")
    assert response.status_code == 200, response.text

    await eventually("the pod object to be removed", lambda: _gone(api, "doomed"), timeout=DEADLINE_SECONDS)
    assert await node.runtime.list_containers({LABEL_POD_UID: created["metadata"]["uid"]}) == []
    graces = [grace for container_id, grace in node.runtime.stop_calls if container_id == app.id]
    assert graces and 0 < graces[0] <= 2  # SIGTERM with the grace period, not an outright kill


async def _gone(api: httpx.AsyncClient, name: str) -> bool:
    return await read_pod(api, name) is None


async def test_containers_of_a_pod_deleted_while_the_agent_was_down_are_removed(
        api: httpx.AsyncClient, node: Node) -> None:
    deleted = await create_pod(api, "deleted-meanwhile")
    await create_pod(api, "kept")
    for name in ("deleted-meanwhile", "kept"):
        await wait_pod(api, name, running_and_ready, what="Running and Ready")
    kept_before = {info.id for info in await node.containers("kept")}

    await node.stop()
    response = await api.delete(f"{PODS}/deleted-meanwhile", params={"gracePeriodSeconds": "0"})
    assert response.status_code == 200, response.text
    assert await node.containers("deleted-meanwhile")  # nobody cleaned up: the agent is down
    await node.start()

    uid = deleted["metadata"]["uid"]
    await eventually("the orphaned containers to be removed",
               lambda: _no_containers(node.runtime, uid), timeout=DEADLINE_SECONDS)
    assert {info.id for info in await node.containers("kept")} == kept_before  # adopted, not restarted
    kept = await wait_pod(api, "kept", running_and_ready, what="still Running and Ready")
    assert main_status(kept)["restartCount"] == 0


async def _no_containers(runtime: FakeRuntime, pod_uid: str) -> bool:
    return not await runtime.list_containers({LABEL_POD_UID: pod_uid})


async def test_an_edited_config_map_reaches_the_running_pods_volume(api: httpx.AsyncClient, node: Node) -> None:
    config_maps = "/api/v1/namespaces/default/configmaps"
    assert (await api.post(config_maps, json={"metadata": {"name": "site"}, "data": {"motd": "v1"}})).status_code == 201
    body = pod_body("reader")
    body["spec"]["volumes"] = [{"name": "site", "configMap": {"name": "site"}}]
    assert (await api.post(PODS, json=body)).status_code == 201
    pod = await wait_pod(api, "reader", running_and_ready, what="Running and Ready")
    motd = node.settings.data_dir / "pods" / pod["metadata"]["uid"] / "volumes" / "site" / "motd"
    assert motd.read_text() == "v1"
    app = await node.running_app("reader")
    assert (await api.patch(f"{config_maps}/site", json={"data": {"motd": "v2"}},
                            headers={"content-type": "application/merge-patch+json"})).status_code == 200
    await eventually("the periodic sync to rewrite the file", lambda: motd.read_text() == "v2",
                     timeout=DEADLINE_SECONDS)
    assert (await node.running_app("reader")).id == app.id  # the container kept running


def waiting_on(reason: str) -> Callable[[dict[str, Any]], bool]:
    def condition(pod: dict[str, Any]) -> bool:
        return bool(((main_status(pod).get("state") or {}).get("waiting") or {}).get("reason") == reason)

    return condition


async def test_run_as_non_root_on_a_root_image_holds_the_container_with_kubernetes_message(
        api: httpx.AsyncClient, node: Node) -> None:
    body = pod_body("rootless")
    body["spec"]["securityContext"] = {"runAsNonRoot": True}
    created = (await api.post(PODS, json=body)).json()
    pod = await wait_pod(api, "rootless", waiting_on("CreateContainerConfigError"), what="refused its container")
    uid = created["metadata"]["uid"]
    assert main_status(pod)["state"]["waiting"]["message"] == (
        f'container has runAsNonRoot and image will run as root (pod: "rootless_default({uid})", container: main)')
    assert await node.containers("rootless", role="app") == []  # nothing ran as root


async def test_the_security_context_and_host_namespaces_reach_the_runtime(api: httpx.AsyncClient, node: Node) -> None:
    node.runtime.image_users["minik8s/busybox:latest"] = "1000"
    body = pod_body("hardened")
    body["spec"].update(hostNetwork=True, securityContext={"runAsNonRoot": True, "runAsGroup": 3000,
                                                          "supplementalGroups": [4000]})
    body["spec"]["containers"][0]["securityContext"] = {
        "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}
    assert (await api.post(PODS, json=body)).status_code == 201
    pod = await wait_pod(api, "hardened", running_and_ready, what="Running and Ready")
    spec = node.runtime.created_specs[(await node.running_app("hardened")).id]
    assert spec.security == SecurityOptions(user="1000:3000", group_add=(4000,), cap_drop=("ALL",),
                                            read_only_root=True, no_new_privileges=True)
    assert spec.namespaces.host_network is True
    assert pod["status"]["podIP"] == pod["status"]["hostIP"] == "10.250.1.1"  # the node's own address
