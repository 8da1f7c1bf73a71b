"""The node agent's logs and exec server, served by uvicorn on loopback over a fake runtime.

The runtime is `tests.support.fake_runtime.FakeRuntime`: logs per container and scripted exec
programs; `tests.support.node_server` serves the agent's app over it and speaks the exec protocol.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from minik8s.client.errors import BadRequest, NotFound
from minik8s.node.runtime import LogOptions
from minik8s.node.server import ResolvedContainer
from tests.support.fake_runtime import FakeRuntime
from tests.support.node_server import V4, V4_BASE64, V5, node_server, run_exec
from tests.support.raw_upgrade import raw_upgrade
from tests.support.waiting import eventually

WAIT = 5.0


CONTAINERS = {("default", "web", "app"): "c-app", ("default", "web", "sidecar"): "c-sidecar"}


async def resolve(namespace: str, pod: str, container: str | None, previous: bool) -> ResolvedContainer:
    if pod == "starting":
        raise BadRequest(400, "BadRequest",
                         f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating')
    container_id = CONTAINERS.get((namespace, pod, container or ""))
    if container_id is None:
        raise NotFound(404, "NotFound", f'pod "{pod}" not found')
    return ResolvedContainer(container_id + ("-previous" if previous else ""))


@pytest.fixture
async def agent() -> AsyncIterator[tuple[str, FakeRuntime]]:
    runtime = FakeRuntime()
    runtime.lines["c-app"] = [f"line {n}\n".encode() for n in range(1, 6)]
    runtime.lines["c-app-previous"] = [b"before the restart\n"]
    async with node_server(runtime, resolve) as address:
        yield address, runtime


async def test_logs_return_the_tail_as_plain_text_and_pass_the_options(agent: tuple[str, FakeRuntime]) -> None:
    address, runtime = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False) as client:
        response = await client.get("/containerLogs/default/web/app",
                                    params={"tailLines": "2", "timestamps": "true", "sinceSeconds": "60"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "line 4\nline 5\n"
    assert runtime.log_calls == [("c-app", LogOptions(tail_lines=2, timestamps=True, since_seconds=60))]


@pytest.mark.parametrize(("params", "expected"), [
    ({"previous": "true"}, "before the restart\n"),
    ({"limitBytes": "9"}, "line 1\nli"),
    ({}, "".join(f"line {n}\n" for n in range(1, 6))),
])
async def test_logs_previous_and_limit_bytes(agent: tuple[str, FakeRuntime], params: dict[str, str],
                                             expected: str) -> None:
    address, _ = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False) as client:
        response = await client.get("/containerLogs/default/web/app", params=params)
    assert (response.status_code, response.text) == (200, expected)


async def test_follow_streams_new_lines_and_stops_reading_when_the_client_leaves(
        agent: tuple[str, FakeRuntime]) -> None:
    address, runtime = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False, timeout=WAIT) as client, \
            client.stream("GET", "/containerLogs/default/web/app",
                          params={"follow": "true", "tailLines": "1"}) as response:
        assert response.status_code == 200
        lines = response.aiter_lines()
        assert await anext(lines) == "line 5"
        runtime.append("c-app", b"line 6\n")
        assert await anext(lines) == "line 6"
        assert runtime.followers == 1
    await eventually("the agent to stop following", lambda: runtime.followers == 0, timeout=WAIT)


@pytest.mark.parametrize(("path", "code", "reason", "message"), [
    ("/containerLogs/default/starting/app", 400, "BadRequest",
     'container "app" in pod "starting" is waiting to start: ContainerCreating'),
    ("/containerLogs/default/ghost/app", 404, "NotFound", 'pod "ghost" not found'),
    ("/containerLogs/default/web/sidecar", 500, "InternalError", "no such container: c-sidecar"),
    ("/containerLogs/default/web/app?tailLines=many", 400, "BadRequest", "invalid tailLines 'many'"),
    ("/containerLogs/default/web/app?follow=maybe", 400, "BadRequest", "invalid follow 'maybe'"),
])
async def test_log_errors_are_status_objects(agent: tuple[str, FakeRuntime], path: str, code: int, reason: str,
                                             message: str) -> None:
    address, _ = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False) as client:
        response = await client.get(path)
    body = response.json()
    assert response.status_code == code and body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason and message in body["message"]


async def test_exec_separates_stdout_and_stderr_and_reports_the_exit_code(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=fail&stdout=true&stderr=true")
    assert result.protocol == V5
    assert result.frames[0] == (1, b""), "the first frame announces the stream"
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")
    assert result.status == {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: error executing command [fail], exit code 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }


@pytest.mark.parametrize("protocol", [V5, V4, V4_BASE64])
async def test_exec_speaks_every_supported_subprotocol(agent: tuple[str, FakeRuntime], protocol: str) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=echo&command=hello&command=world"
                            f"&stdout=true&stderr=true", protocol=protocol)
    assert result.protocol == protocol
    assert result.stdout == b"hello world\n" and result.stderr == b""
    assert result.status == {"metadata": {}, "status": "Success"}


async def test_exec_stdin_reaches_the_process_until_v5_closes_it(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=cat&stdin=true&stdout=true",
                            stdin=b"hello\n")
    assert result.stdout == b"hello\n" and result.status == {"metadata": {}, "status": "Success"}


async def test_exec_tty_resize_reaches_the_process(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=size&stdin=true&stdout=true&tty=true",
                            resize=(80, 24))
    assert result.stdout == b"80x24\n"


async def test_exec_drops_streams_the_client_did_not_ask_for(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=fail&stderr=true")
    assert result.frames[0] == (2, b"")
    assert (result.stdout, result.stderr) == (b"", b"err\n")
    assert result.status is not None and result.status["reason"] == "NonZeroExitCode"


async def test_exec_of_a_missing_executable_reports_a_failure_status(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    result = await run_exec(f"ws://{address}/exec/default/web/app?command=nope&stdout=true")
    assert result.status is not None and result.status["status"] == "Failure"
    assert 'exec: "nope": executable file not found' in result.status["message"]


async def test_exec_session_is_closed_when_the_client_leaves(agent: tuple[str, FakeRuntime]) -> None:
    address, runtime = agent
    url = f"ws://{address}/exec/default/web/app?command=sleep&stdout=true"
    async with asyncio.timeout(WAIT):
        async with connect(url, subprotocols=[Subprotocol(V5)], proxy=None) as socket:
            assert await socket.recv() == b"\x01"
            await eventually("the exec session to start", lambda: runtime.sessions, timeout=WAIT)
        await runtime.sessions[0].closed.wait()


@pytest.mark.parametrize(("query", "protocols", "code", "message"), [
    ("command=echo&stdout=true", [V5], 404, 'pod "ghost" not found'),
    ("command=echo", [V5], 400, "you must specify at least 1 of stdin, stdout, stderr"),
    ("stdout=true", [V5], 400, "you must specify at least one command"),
    ("command=echo&stdout=true", ["channel.k8s.io"], 400, "requested protocol(s) are not supported"),
])
async def test_exec_refuses_the_upgrade_with_a_status(agent: tuple[str, FakeRuntime], query: str,
                                                      protocols: list[str], code: int, message: str) -> None:
    address, _ = agent
    pod = "ghost" if code == 404 else "web"
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://{address}/exec/default/{pod}/app?{query}",
                      subprotocols=[Subprotocol(p) for p in protocols], proxy=None)
    assert refused.value.response.status_code == code
    body = json.loads(refused.value.response.body or b"{}")
    assert body["kind"] == "Status" and message in body["message"]


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_attack_exec_from_another_sites_page_is_refused(agent: tuple[str, FakeRuntime], origin: str) -> None:
    """The issue's attack on the agent itself: exec ran with `Origin: evil.example`; now 403."""
    address, runtime = agent
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://{address}/exec/default/web/app?command=echo&stdout=true",
                      subprotocols=[Subprotocol(V5)], proxy=None, origin=Origin(origin))
    assert refused.value.response.status_code == 403
    body = json.loads(refused.value.response.body or b"{}")
    assert (body["kind"], body["reason"]) == ("Status", "Forbidden") and origin in body["message"]
    assert not runtime.sessions


async def test_exec_with_the_agents_own_origin_or_a_bearer_token_runs(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    url = f"ws://{address}/exec/default/web/app?command=echo&command=hi&stdout=true"
    for headers in ({"Origin": f"http://{address}"}, {"Origin": "http://evil.example", "Authorization": "Bearer t"}):
        result = await run_exec(url, headers=headers)
        assert result.stdout == b"hi\n" and result.status == {"metadata": {}, "status": "Success"}


@pytest.mark.parametrize("host", ["evil.example:10250", "node-1.evil.example"])
async def test_attack_a_rebound_name_is_refused_by_the_agent(agent: tuple[str, FakeRuntime], host: str) -> None:
    address, runtime = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=WAIT) as http:
        logs = await http.get("/containerLogs/default/web/app", headers={"Host": host})
    assert logs.status_code == 403 and logs.json()["reason"] == "Forbidden"
    status, body = await raw_upgrade(address, "/exec/default/web/app?command=echo&stdout=true",
                                     {"Host": host, "Origin": f"http://{host}"})
    assert status == 403 and body is not None and host in body["message"]
    assert not runtime.sessions


async def test_the_agent_serves_its_addresses_and_names(agent: tuple[str, FakeRuntime]) -> None:
    address, _ = agent
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=WAIT) as http:
        for host in (address, "localhost:10250", "[::1]:10250", "10.244.1.1:10250"):
            assert (await http.get("/healthz", headers={"Host": host})).status_code == 200
