"""The node agent's `persistentVolumeClaim` volumes, without Docker: claim → volume → a directory of the node.

A real apiserver (in-process store) and the real `NodeAgent` with the in-memory runtime; the claims and
volumes are bound by hand, as the binder would, so these tests pin only what the agent does: which
directory a container gets, that a pod waits (ContainerCreating, FailedMount in the kubelet's words)
while its claim is not bound, and that a released local-path volume loses its directory and object.
"""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from minik8s.api.persistent_volumes import (
    ANN_BIND_COMPLETED,
    ANN_PROVISIONED_BY,
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_NODE_LABEL,
    LOCAL_PATH_PROVISIONER,
)
from minik8s.client.api import ApiClient
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from minik8s.node.registration import Heartbeat, HostFacts, NodeIdentity
from minik8s.node.runtime import LABEL_POD_NAME, LABEL_ROLE, ContainerSpec
from tests.support.serving import apiserver_serving
from tests.support.storage_builders import claim_pod, pv, pvc
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)

NODE = "node-a"
PODS = "/api/v1/namespaces/default/pods"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
PVS = "/api/v1/persistentvolumes"
FACTS = HostFacts(cpu_count=2, memory_bytes=2**31, kernel="test", os_image="test", machine_id="m", boot_id="b",
                  hostname=NODE, architecture="amd64")


@dataclass
class World:
    api: httpx.AsyncClient
    runtime: FakeRuntime
    settings: NodeSettings

    async def app_spec(self, pod: str) -> ContainerSpec | None:
        for info in await self.runtime.list_containers({LABEL_POD_NAME: pod, LABEL_ROLE: "app"}):
            return self.runtime.created_specs.get(info.id)
        return None


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with apiserver_serving(history=1000) as url, httpx.AsyncClient(base_url=url, timeout=5) as api, \
            ApiClient([url]) as client:
        runtime = FakeRuntime()
        settings = NodeSettings(node_name=NODE, network=f"fake-{NODE}", pod_cidr="10.250.1.0/24",
                                node_ip="10.250.1.1", data_dir=tmp_path / NODE, host_mounts=False)
        await runtime.ensure_network(settings.network, subnet=settings.pod_cidr, gateway=settings.gateway)
        await Heartbeat(client, NodeIdentity(NODE, settings.node_ip, 0, settings.pod_cidr), FACTS,
                        annotations={LOCAL_PATH_DIR_ANNOTATION: str(settings.local_path_dir)}).register()
        agent = NodeAgent(client, runtime, settings, backoff_base=1.0, resync_seconds=0.5, workers=2)
        task = asyncio.create_task(agent.run())
        try:
            yield World(api, runtime, settings)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def post(api: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(url, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def bind(api: httpx.AsyncClient, claim: dict[str, Any], volume: dict[str, Any]) -> None:
    """What the binder does: the volume names the claim (uid), the claim its volume; both Bound."""
    name = volume["metadata"]["name"]
    volume["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": "default",
                                  "name": claim["metadata"]["name"], "uid": claim["metadata"]["uid"]}
    volume = (await api.put(f"{PVS}/{name}", json=volume)).json()
    volume["status"] = {"phase": "Bound"}
    assert (await api.put(f"{PVS}/{name}/status", json=volume)).status_code == 200
    claim = (await api.get(f"{PVCS}/{claim['metadata']['name']}")).json()
    claim["spec"]["volumeName"] = name
    claim["metadata"].setdefault("annotations", {})[ANN_BIND_COMPLETED] = "yes"
    claim = (await api.put(f"{PVCS}/{claim['metadata']['name']}", json=claim)).json()
    claim["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert (await api.put(f"{PVCS}/{claim['metadata']['name']}/status", json=claim)).status_code == 200


async def pod_state(api: httpx.AsyncClient, name: str) -> tuple[str, str]:
    pod = (await api.get(f"{PODS}/{name}")).json()
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    waiting = (statuses[0].get("state") or {}).get("waiting") or {}
    running = "running" in (statuses[0].get("state") or {})
    return pod.get("status", {}).get("phase", ""), "running" if running else str(waiting.get("reason") or "")


async def in_state(api: httpx.AsyncClient, name: str, expected: tuple[str, str]) -> bool:
    """The pod's phase and its container's state (`running`, or the waiting reason) are `expected`."""
    return await pod_state(api, name) == expected


async def test_a_pod_waits_for_its_claim_then_mounts_its_volumes_directory(world: World, tmp_path: Path) -> None:
    claim = await post(world.api, PVCS, pvc("data", storage_class=""))
    volume = await post(world.api, PVS, pv("static", path=str(tmp_path / "disk"), node=NODE,
                                            hostPath={"path": str(tmp_path / "disk"), "type": "DirectoryOrCreate"}))
    await post(world.api, PODS, claim_pod("web", "data", node_name=NODE))
    await eventually("the pod to wait in ContainerCreating",
                     lambda: in_state(world.api, "web", ("Pending", "ContainerCreating")))

    async def failed_mount() -> str | None:
        events = (await world.api.get("/api/v1/namespaces/default/events")).json()["items"]
        return next((e["message"] for e in events if e["reason"] == "FailedMount"), None)

    assert await eventually("a FailedMount event", failed_mount) == (
        "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data]: "
        "error processing PVC default/data: PVC is not bound")
    assert not await world.runtime.list_containers({LABEL_POD_NAME: "web"})  # no sandbox before the volume
    await bind(world.api, claim, volume)
    await eventually("the pod to run", lambda: in_state(world.api, "web", ("Running", "running")))
    spec = await world.app_spec("web")
    assert spec is not None
    assert [(m.source, m.target, m.read_only) for m in spec.mounts if m.target == "/data"] == [
        (str(tmp_path / "disk"), "/data", False)]
    assert (tmp_path / "disk").is_dir()


async def test_a_volume_pinned_to_another_node_is_not_mounted(world: World) -> None:
    claim = await post(world.api, PVCS, pvc("data", storage_class=""))
    volume = await post(world.api, PVS, pv("elsewhere", node="node-b"))
    await bind(world.api, claim, volume)
    await post(world.api, PODS, claim_pod("web", "data", node_name=NODE))

    async def message() -> str | None:
        events = (await world.api.get("/api/v1/namespaces/default/events")).json()["items"]
        return next((e["message"] for e in events if e["reason"] == "FailedMount"), None)

    assert (await eventually("a FailedMount event", message)).endswith(
        'MountVolume.NodeAffinity check failed for volume "elsewhere" : no matching NodeSelectorTerms')


async def test_a_local_path_volume_is_made_on_first_use_and_removed_once_released(world: World) -> None:
    base = world.settings.local_path_dir
    directory = base / "pvc-1_default_data"
    claim = await post(world.api, PVCS, pvc("data", storage_class="standard"))
    volume = await post(world.api, PVS, pv("pvc-1", policy="Delete", storage_class="standard", node=NODE,
                                            labels={LOCAL_PATH_NODE_LABEL: NODE},
                                            annotations={ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER},
                                            hostPath={"path": str(directory), "type": "DirectoryOrCreate"}))
    await bind(world.api, claim, volume)
    await post(world.api, PODS, claim_pod("web", "data", node_name=NODE, read_only=True))
    await eventually("the pod to run", lambda: in_state(world.api, "web", ("Running", "running")))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o777  # any container user may write, as rancher's
    spec = await world.app_spec("web")
    assert spec is not None and [m.read_only for m in spec.mounts if m.target == "/data"] == [True]
    (directory / "kept").write_text("data")
    stored = (await world.api.get(f"{PVS}/pvc-1")).json()
    stored["status"] = {"phase": "Released"}  # what the binder writes once the claim is gone
    assert (await world.api.put(f"{PVS}/pvc-1/status", json=stored)).status_code == 200

    async def gone() -> bool:
        response = await world.api.get(f"{PVS}/pvc-1")
        if response.status_code == 200 and response.json()["metadata"].get("deletionTimestamp"):
            finalized = response.json()
            finalized["metadata"]["finalizers"] = []  # the pv-protection controller's part
            await world.api.put(f"{PVS}/pvc-1", json=finalized)
        return response.status_code == 404 and not directory.exists()

    await eventually("the directory and the volume to be gone", gone)
    assert base.is_dir()  # only the volume's own directory goes

