"""pods/log and pods/exec through the apiserver, relayed to a fake node agent on another loopback port.

The apiserver (over a LocalStore, the `api` fixture) finds the pod's node, reads where its agent
listens from the Node's status, and relays; the agent is the real node server over a fake runtime.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from minik8s.client.errors import BadRequest, NotFound
from minik8s.node.runtime import LogOptions
from minik8s.node.server import ResolvedContainer
from tests.support import builders
from tests.support.fake_runtime import FakeRuntime
from tests.support.node_server import V4, V4_BASE64, V5, node_server, run_exec
from tests.support.ports import free_port
from tests.support.waiting import eventually

PODS = "/api/v1/namespaces/default/pods"
WAIT = 5.0
# (pod, container) -> the runtime's container id, as the agent's pod cache would know it
AGENT_CONTAINERS = {("web", "app"): "c-app", ("web", "sidecar"): "c-sidecar", ("solo", "main"): "c-main"}


async def resolve(namespace: str, pod: str, container: str | None, previous: bool) -> ResolvedContainer:
    if pod == "starting":
        raise BadRequest(400, "BadRequest",
                         f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating')
    container_id = AGENT_CONTAINERS.get((pod, container or ""))
    if namespace != "default" or container_id is None:
        raise NotFound(404, "NotFound", f'pod "{pod}" not found on this node')
    return ResolvedContainer(container_id)


def pod(name: str, *containers: str, node: str | None = "node-1", init: str | None = None) -> dict[str, Any]:
    return builders.pod(name, containers=[builders.container(c) for c in containers],
                        init_containers=[builders.container(init)] if init else None, node_name=node)


async def add_node(api: httpx.AsyncClient, name: str, address: str | None) -> None:
    assert (await api.post("/api/v1/nodes", json={"metadata": {"name": name}})).status_code == 201
    if address is None:
        return
    host, port = address.rsplit(":", 1)
    status = {"status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": host}],
                         "daemonEndpoints": {"kubeletEndpoint": {"Port": int(port)}}}}
    patched = await api.patch(f"/api/v1/nodes/{name}/status", json=status,
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text


@pytest.fixture
async def cluster(api: httpx.AsyncClient) -> AsyncIterator[tuple[httpx.AsyncClient, FakeRuntime]]:
    runtime = FakeRuntime()
    runtime.lines["c-app"] = [f"line {n}\n".encode() for n in range(1, 6)]
    runtime.lines["c-main"] = [b"solo says hi\n"]
    async with node_server(runtime, resolve) as address:
        await add_node(api, "node-1", address)
        await add_node(api, "node-silent", None)
        await add_node(api, "node-down", f"127.0.0.1:{free_port()}")
        for body in (pod("web", "app", "sidecar", init="setup"), pod("solo", "main"), pod("starting", "app"),
                     pod("pending", "app", node=None), pod("lost", "app", node="node-silent"),
                     pod("orphan", "app", node="node-down")):
            assert (await api.post(PODS, json=body)).status_code == 201
        yield api, runtime


def exec_url(api: httpx.AsyncClient, pod_name: str, query: str) -> str:
    return f"{str(api.base_url).replace('http://', 'ws://')}{PODS}/{pod_name}/exec?{query}"


async def test_log_is_relayed_as_plain_text(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, runtime = cluster
    response = await api.get(f"{PODS}/web/log", params={"container": "app", "tailLines": "2", "timestamps": "true"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "line 4\nline 5\n"
    assert runtime.log_calls == [("c-app", LogOptions(tail_lines=2, timestamps=True))]


async def test_log_defaults_to_the_only_container(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    response = await api.get(f"{PODS}/solo/log")
    assert (response.status_code, response.text) == (200, "solo says hi\n")


async def test_log_since_time_becomes_since_seconds(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, runtime = cluster
    response = await api.get(f"{PODS}/solo/log", params={"sinceTime": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200
    since = runtime.log_calls[-1][1].since_seconds
    assert since is not None and since > 20 * 365 * 86400


async def test_log_follow_streams_lines_as_they_come(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, runtime = cluster
    async with api.stream("GET", f"{PODS}/web/log", params={"container": "app", "follow": "true", "tailLines": "1"},
                          timeout=WAIT) as response:
        assert response.status_code == 200
        lines = response.aiter_lines()
        assert await anext(lines) == "line 5"
        for number in (6, 7):
            runtime.append("c-app", f"line {number}\n".encode())
            assert await anext(lines) == f"line {number}"
    # the agent stops following once the client has gone
    await eventually("the agent to stop following", lambda: runtime.followers == 0, timeout=WAIT)


@pytest.mark.parametrize(("path", "code", "reason", "message"), [
    ("ghost/log", 404, "NotFound", 'pods "ghost" not found'),
    ("web/log", 400, "BadRequest", "a container name must be specified for pod web, choose one of: [setup app sidecar]"),
    ("web/log?container=nope", 400, "BadRequest", "container nope is not valid for pod web"),
    ("pending/log", 400, "BadRequest", "pod pending does not have a host assigned"),
    ("starting/log", 400, "BadRequest", 'container "app" in pod "starting" is waiting to start: ContainerCreating'),
    ("web/log?container=app&tailLines=-1", 422, "Invalid",
     'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    ("web/log?container=app&sinceSeconds=5&sinceTime=2000-01-01T00:00:00Z", 422, "Invalid",
     "at most one of `sinceTime` or `sinceSeconds` may be specified"),
    ("lost/log", 503, "ServiceUnavailable", 'node "node-silent" does not report where its agent listens'),
    ("orphan/log", 503, "ServiceUnavailable", 'the agent of node "node-down" is not reachable'),
    ("web/exec?command=sh&stdout=true&container=app", 400, "BadRequest", "exec is served over WebSocket only"),
    ("ghost/exec?command=sh&stdout=true", 404, "NotFound", 'pods "ghost" not found'),
])
async def test_errors_are_status_objects(cluster: tuple[httpx.AsyncClient, FakeRuntime], path: str, code: int,
                                         reason: str, message: str) -> None:
    api, _ = cluster
    response = await api.get(f"{PODS}/{path}")
    body = response.json()
    assert response.status_code == code, body
    assert body["kind"] == "Status" and body["code"] == code and body["reason"] == reason
    assert message in body["message"]


async def test_spdy_exec_fallback_is_refused_with_a_clear_status(
        cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    response = await api.post(f"{PODS}/web/exec?command=sh&stdin=true&stdout=true&container=app",
                              headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                       "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "BadRequest" and "WebSocket only" in body["message"] and "SPDY/3.1" in body["message"]


async def test_exec_relays_stdout_stderr_and_the_exit_code(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    result = await run_exec(exec_url(api, "web", "container=app&command=fail&stdout=true&stderr=true"))
    assert result.protocol == V5
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")
    assert result.status is not None and result.status["status"] == "Failure"
    assert result.status["reason"] == "NonZeroExitCode"
    assert result.status["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}


@pytest.mark.parametrize("protocol", [V5, V4, V4_BASE64])
async def test_exec_relays_each_subprotocol(cluster: tuple[httpx.AsyncClient, FakeRuntime], protocol: str) -> None:
    api, _ = cluster
    result = await run_exec(exec_url(api, "solo", "command=echo&command=hi&stdout=true"), protocol=protocol)
    assert result.protocol == protocol
    assert result.stdout == b"hi\n" and result.status == {"metadata": {}, "status": "Success"}


async def test_exec_stdin_is_echoed_by_cat(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    result = await run_exec(exec_url(api, "solo", "command=cat&stdin=true&stdout=true&stderr=true"),
                            stdin=b"ping\npong\n")
    assert result.stdout == b"ping\npong\n" and result.status == {"metadata": {}, "status": "Success"}


async def test_exec_refused_by_the_agent_reports_its_status(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    result = await run_exec(exec_url(api, "starting", "command=sh&stdout=true"))
    assert result.status is not None and result.status["status"] == "Failure"
    assert result.status["code"] == 400
    assert result.status["message"] == 'container "app" in pod "starting" is waiting to start: ContainerCreating'


async def test_exec_to_an_unreachable_agent_reports_a_failure(cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, _ = cluster
    result = await run_exec(exec_url(api, "orphan", "command=sh&stdout=true"))
    assert result.status is not None and result.status["code"] == 503
    assert 'the agent of node "node-down" is not reachable' in result.status["message"]


@pytest.mark.parametrize(("pod_name", "query", "code", "message"), [
    ("ghost", "command=sh&stdout=true", 404, 'pods "ghost" not found'),
    ("web", "command=sh&stdout=true", 400, "a container name must be specified for pod web"),
    ("pending", "command=sh&stdout=true", 400, "pod pending does not have a host assigned"),
])
async def test_exec_upgrade_is_refused_with_a_status(cluster: tuple[httpx.AsyncClient, FakeRuntime], pod_name: str,
                                                     query: str, code: int, message: str) -> None:
    api, _ = cluster
    with pytest.raises(InvalidStatus) as refused:
        await connect(exec_url(api, pod_name, query), subprotocols=[Subprotocol(V5)], proxy=None)
    assert refused.value.response.status_code == code
    body = json.loads(refused.value.response.body or b"{}")
    assert body["kind"] == "Status" and message in body["message"]


async def test_leaving_an_exec_closes_the_session_on_the_agent(
        cluster: tuple[httpx.AsyncClient, FakeRuntime]) -> None:
    api, runtime = cluster
    async with asyncio.timeout(WAIT):
        async with connect(exec_url(api, "solo", "command=sleep&stdout=true"), subprotocols=[Subprotocol(V5)],
                           proxy=None) as socket:
            assert await socket.recv() == b"\x01"
            await eventually("the exec session to start", lambda: runtime.sessions, timeout=WAIT)
        await runtime.sessions[0].closed.wait()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_attack_exec_from_another_sites_page_is_refused(cluster: tuple[httpx.AsyncClient, FakeRuntime],
                                                              origin: str) -> None:
    """The issue's attack: exec ran with `Origin: evil.example`; a browser's upgrade now gets 403."""
    api, runtime = cluster
    with pytest.raises(InvalidStatus) as refused:
        await connect(exec_url(api, "solo", "command=echo&command=hi&stdout=true"), subprotocols=[Subprotocol(V5)],
                      proxy=None, origin=Origin(origin))
    assert refused.value.response.status_code == 403
    body = json.loads(refused.value.response.body or b"{}")
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "Forbidden", 403)
    assert f'a WebSocket from origin "{origin}" is refused' in body["message"]
    assert not runtime.sessions


@pytest.mark.parametrize("headers", [
    {},  # kubectl sends no Origin
    {"Origin": "same"},  # the official Python client's websocket-client sends the server's own origin
    {"Origin": "http://evil.example", "Authorization": "Bearer a-token"},  # credentials in a header
])
async def test_exec_without_a_foreign_origin_or_with_a_bearer_token_runs(
        cluster: tuple[httpx.AsyncClient, FakeRuntime], headers: dict[str, str]) -> None:
    api, _ = cluster
    if headers.get("Origin") == "same":
        headers = {"Origin": str(api.base_url).rstrip("/")}
    result = await run_exec(exec_url(api, "solo", "command=echo&command=hi&stdout=true"), headers=headers)
    assert result.stdout == b"hi\n" and result.status == {"metadata": {}, "status": "Success"}
