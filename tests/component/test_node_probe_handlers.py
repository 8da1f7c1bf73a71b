"""httpGet and tcpSocket probes against a tiny HTTP server on loopback, as the agent runs them."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from minik8s.node.probes import ProbeResult, run_probe
from minik8s.node.runtime import ContainerRuntime
from tests.support.fake_runtime import FakeRuntime
from tests.support.ports import free_port

NO_RUNTIME = cast(ContainerRuntime, FakeRuntime())  # httpGet/tcpSocket probes never use the runtime
CONTAINER = {"name": "app", "env": [{"name": "FILE", "value": "/tmp/healthy"}, {"name": "REF", "valueFrom": {}}],
             "ports": [{"name": "http", "containerPort": 8080}]}


@pytest.fixture
async def http_server():
    seen: list[dict[str, str]] = []
    handlers: set[asyncio.Task] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            request = (await reader.readuntil(b"\r\n\r\n")).decode()
            line, *header_lines = request.split("\r\n")
            headers = {k.lower(): v for k, _, v in (h.partition(": ") for h in header_lines if h)}
            path = line.split()[1]
            seen.append({"path": path, **headers})
            if path == "/slow":
                await asyncio.Event().wait()  # never answers; cancelled at teardown
            code = {"/healthz": 200, "/fail": 500, "/moved": 302, "/notfound": 404}.get(path.split("?")[0], 200)
            writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # a tcpSocket probe connects and leaves without a request
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, seen
    server.close()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    await server.wait_closed()


async def http_result(http_get, *, pod_ip="127.0.0.1", timeout=1):
    probe = {"httpGet": http_get, "timeoutSeconds": timeout}
    return await run_probe(probe, pod_ip=pod_ip, container=CONTAINER, container_id="cid", runtime=NO_RUNTIME)


@pytest.mark.parametrize(
    ("path", "success", "message"),
    [
        ("/healthz", True, "ok"),
        ("/moved", True, "ok"),
        ("/fail", False, "HTTP probe failed with statuscode: 500"),
        ("/notfound", False, "HTTP probe failed with statuscode: 404"),
    ],
)
async def test_http_probe_succeeds_on_200_to_399(http_server, path, success, message):
    port, _ = http_server
    assert await http_result({"path": path, "port": port}) == ProbeResult(success, message)


async def test_http_probe_sends_headers_and_query(http_server):
    port, seen = http_server
    result = await http_result({"path": "/healthz?full=1", "port": port, "scheme": "HTTP",
                                "httpHeaders": [{"name": "X-Probe", "value": "yes"}]})
    assert result.success
    assert seen[-1]["path"] == "/healthz?full=1"
    assert seen[-1]["x-probe"] == "yes"
    assert seen[-1]["user-agent"].startswith("kube-probe/")


async def test_http_probe_resolves_named_ports(http_server):
    port, _ = http_server
    container = {"name": "app", "ports": [{"name": "web", "containerPort": port}]}
    probe = {"httpGet": {"path": "/healthz", "port": "web"}}
    result = await run_probe(probe, pod_ip="127.0.0.1", container=container, container_id="c", runtime=NO_RUNTIME)
    assert result.success
    missing = await run_probe({"httpGet": {"port": "nope"}}, pod_ip="127.0.0.1", container=container,
                              container_id="c", runtime=NO_RUNTIME)
    assert missing == ProbeResult(False, "couldn't find port: nope in container app")


async def test_http_probe_times_out(http_server):
    port, _ = http_server
    result = await http_result({"path": "/slow", "port": port}, timeout=0.1)
    assert not result.success and "deadline exceeded" in result.message


async def test_http_probe_to_a_closed_port_fails_with_the_error():
    port = free_port()  # nothing listens on it
    result = await http_result({"path": "/", "port": port})
    assert not result.success
    assert result.message.startswith(f'Get "http://127.0.0.1:{port}/"')


@pytest.mark.parametrize("host", ["8.8.8.8", "example.com", "10.0.0.99", "169.254.169.254"])
async def test_probes_never_contact_hosts_other_than_the_pod_or_loopback(host):
    for handler in ("httpGet", "tcpSocket"):
        probe = {handler: {"host": host, "port": 80}, "timeoutSeconds": 5}
        result = await run_probe(probe, pod_ip="10.0.0.1", container=CONTAINER, container_id="c",
                                 runtime=NO_RUNTIME)
        assert result == ProbeResult(
            False, f'probe host "{host}" is not allowed: only the pod IP or a loopback address may be probed')


async def test_an_explicit_loopback_host_is_honoured(http_server):
    port, _ = http_server
    assert (await http_result({"host": "127.0.0.1", "path": "/healthz", "port": port}, pod_ip="10.0.0.1")).success
    assert (await http_result({"host": "localhost", "path": "/healthz", "port": port}, pod_ip="10.0.0.1")).success


async def test_probes_without_a_pod_ip_fail_clearly():
    assert await http_result({"port": 80}, pod_ip="") == ProbeResult(False, "the pod has no IP address yet")


async def test_tcp_probe_connects_or_reports_the_dial_error(http_server):
    port, _ = http_server
    ok = await run_probe({"tcpSocket": {"port": port}}, pod_ip="127.0.0.1", container=CONTAINER, container_id="c",
                         runtime=NO_RUNTIME)
    assert ok == ProbeResult(True, "")
    closed = free_port()  # nothing listens on it
    refused = await run_probe({"tcpSocket": {"port": closed}}, pod_ip="127.0.0.1", container=CONTAINER,
                              container_id="c", runtime=NO_RUNTIME)
    assert not refused.success and refused.message.startswith(f"dial tcp 127.0.0.1:{closed}: connect:")


async def test_a_probe_without_handler_fails():
    result = await run_probe({"periodSeconds": 1}, pod_ip="1.2.3.4", container=CONTAINER, container_id="c",
                             runtime=NO_RUNTIME)
    assert not result.success
