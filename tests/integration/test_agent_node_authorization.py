"""The real node agent under `--authorization-mode=Node,RBAC`, as `system:node:node-a` and nothing more.

The agent (in-memory runtime, real informer, pod sync, status writes, graceful deletion) talks
HTTP to a Node,RBAC apiserver with a test token naming it `system:node:node-a` in
`system:nodes`: the Node authorizer and NodeRestriction must let it watch its pods, read the
Secret its pod mounts, write that pod's status, record events and finish the pod's deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from minik8s.api.user import SYSTEM_NODES
from minik8s.client.api import ApiClient
from minik8s.node.agent import NodeAgent
from minik8s.node.executor import NodeSettings
from minik8s.node.fake.runtime import FakeRuntime
from tests.support import builders
from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, user_token
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)

NODE = "node-a"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def admin() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=1000, authorization_mode="Node,RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=5, headers={TEST_USER_HEADER: ADMIN}) as client:
        yield client


@pytest.fixture
async def agent(admin: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[NodeAgent]:
    runtime = FakeRuntime()
    settings = NodeSettings(node_name=NODE, network=f"fake-{NODE}", pod_cidr="10.250.1.0/24", node_ip="10.250.1.1",
                            data_dir=tmp_path / NODE, host_mounts=False)  # fake pods: volumes on disk, no mounts
    await runtime.ensure_network(settings.network, subnet=settings.pod_cidr, gateway=settings.gateway)
    client = ApiClient([str(admin.base_url).rstrip("/")], token=user_token(f"system:node:{NODE}", SYSTEM_NODES))
    node_agent = NodeAgent(client, runtime, settings, backoff_base=1.0, resync_seconds=0.5, workers=2)
    task = asyncio.create_task(node_agent.run())
    try:
        await eventually("the agent's informer to sync", lambda: _synced(node_agent), timeout=10)
        yield node_agent
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def _synced(agent: NodeAgent) -> bool:
    return agent.pods.has_synced


async def test_the_agent_runs_and_deletes_its_pod_as_its_node(admin: httpx.AsyncClient, agent: NodeAgent) -> None:
    secret = {"metadata": {"name": "web-tls"}, "stringData": {"tls.key": "k"}}
    assert (await admin.post("/api/v1/namespaces/default/secrets", json=secret)).status_code == 201
    body = builders.pod("web", node_name=NODE, grace=2, containers=[builders.sleeper("main")],
                        volumes=[{"name": "tls", "secret": {"secretName": "web-tls"}}])
    assert (await admin.post(PODS, json=body)).status_code == 201

    async def running() -> bool:
        pod = (await admin.get(f"{PODS}/web")).json()
        return bool(pod.get("status", {}).get("phase") == "Running")

    await eventually("the pod to run, its Secret mounted, its status written by the node", running, timeout=10)
    assert (await admin.delete(f"{PODS}/web")).status_code == 200

    async def gone() -> bool:
        return (await admin.get(f"{PODS}/web")).status_code == 404

    await eventually("the node to finish the pod's graceful deletion", gone, timeout=10)
