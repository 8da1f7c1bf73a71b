"""Probes: one run of exec/httpGet/tcpSocket, and the workers that repeat and threshold them."""

from __future__ import annotations

import asyncio
import socket
from typing import cast

import pytest

from minik8s.node.probes import ProbeResult, ProbeSet, ProbeWorker, run_probe
from minik8s.node.runtime import (
    LABEL_CONTAINER,
    LABEL_ROLE,
    ContainerInfo,
    ContainerRuntime,
    ContainerState,
    RuntimeFailure,
)
from tests.support.fake_runtime import FakeRuntime, exits_with
from tests.support.waiting import eventually

# ---- exec ----


NO_RUNTIME = cast(ContainerRuntime, FakeRuntime())  # httpGet/tcpSocket probes never use the runtime

CONTAINER = {"name": "app", "env": [{"name": "FILE", "value": "/tmp/healthy"}, {"name": "REF", "valueFrom": {}}],
             "ports": [{"name": "http", "containerPort": 8080}]}


async def exec_result(runtime, command, timeout=1):
    probe = {"exec": {"command": command}, "timeoutSeconds": timeout}
    return await run_probe(probe, pod_ip="10.0.0.1", container=CONTAINER, container_id="cid",
                           runtime=cast(ContainerRuntime, runtime))


async def test_exec_probe_succeeds_on_exit_code_zero_with_expanded_static_env():
    runtime = FakeRuntime(programs={"cat": exits_with(0, b"all good")})
    result = await exec_result(runtime, ["cat", "$(FILE)", "$(REF)"])
    assert result == ProbeResult(True, "all good")
    assert runtime.exec_calls == [("cid", ["cat", "/tmp/healthy", "$(REF)"], False, False)]
    assert runtime.sessions[0].closed.is_set()


async def test_exec_probe_fails_on_non_zero_exit_with_its_output():
    runtime = FakeRuntime(programs={"cat": exits_with(1, b"cat: no such file")})
    assert await exec_result(runtime, ["cat", "/x"]) == ProbeResult(False, "cat: no such file")


async def test_exec_probe_is_bounded_by_its_timeout():
    runtime = FakeRuntime()  # its `sleep` never ends
    result = await exec_result(runtime, ["sleep", "100"], timeout=0.05)
    assert result == ProbeResult(False, 'command "sleep 100" timed out')
    assert runtime.sessions[0].closed.is_set()


async def test_exec_probe_reports_runtime_failures():
    runtime = FakeRuntime(exec_error=RuntimeFailure("container not running"))
    assert await exec_result(runtime, ["true"]) == ProbeResult(False, "container not running")


# ---- httpGet and tcpSocket against a tiny local server ----


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


def closed_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


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
    port = closed_port()
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
    closed = closed_port()
    refused = await run_probe({"tcpSocket": {"port": closed}}, pod_ip="127.0.0.1", container=CONTAINER,
                              container_id="c", runtime=NO_RUNTIME)
    assert not refused.success and refused.message.startswith(f"dial tcp 127.0.0.1:{closed}: connect:")


async def test_a_probe_without_handler_fails():
    result = await run_probe({"periodSeconds": 1}, pod_ip="1.2.3.4", container=CONTAINER, container_id="c",
                             runtime=NO_RUNTIME)
    assert not result.success


# ---- workers ----


class Script:
    """A fake probe run: returns the queued verdicts, then repeats the last one."""

    def __init__(self, *verdicts: bool):
        self.verdicts = list(verdicts)
        self.calls = 0

    async def __call__(self) -> ProbeResult:
        self.calls += 1
        verdict = self.verdicts.pop(0) if len(self.verdicts) > 1 else self.verdicts[0]
        return ProbeResult(verdict, "fine" if verdict else "broken")


def worker(kind, script, reports, **probe_fields):
    probe = {"periodSeconds": 0.005, "successThreshold": 1, "failureThreshold": 3, **probe_fields}
    return ProbeWorker(kind=kind, probe=probe, container_name="app", run=script,
                       on_result=lambda *report: reports.append(report))


async def test_readiness_starts_unready_and_reports_only_changes():
    reports: list[tuple] = []
    readiness = worker("readiness", Script(False, False, True, True, False, False, False), reports)
    assert readiness.success is False
    for _ in range(7):
        await readiness.probe_once()
    assert reports == [("readiness", "app", True, "fine"), ("readiness", "app", False, "broken")]
    assert readiness.success is False


async def test_success_threshold_needs_consecutive_successes():
    reports: list[tuple] = []
    readiness = worker("readiness", Script(True, False, True, True), reports, successThreshold=2)
    for _ in range(3):
        await readiness.probe_once()
    assert reports == []
    await readiness.probe_once()
    assert reports == [("readiness", "app", True, "fine")]


async def test_liveness_starts_alive_and_fails_after_the_threshold_then_holds():
    reports: list[tuple] = []
    script = Script(False, True, False, False, False)
    liveness = worker("liveness", script, reports)
    assert liveness.success is True
    liveness.start()
    await eventually('bool(reports)', lambda: bool(reports), timeout=2.0)
    assert reports == [("liveness", "app", False, "broken")]
    calls = script.calls
    await asyncio.sleep(0.03)  # on hold: the container is about to be restarted
    assert script.calls == calls
    await liveness.stop()


async def test_startup_gates_liveness_and_stops_once_it_succeeds():
    reports: list[tuple] = []
    startup_script, liveness_script = Script(False, False, True), Script(True)
    startup = worker("startup", startup_script, reports, failureThreshold=10)
    liveness = ProbeWorker(kind="liveness", probe={"periodSeconds": 0.005}, container_name="app", run=liveness_script,
                           on_result=lambda *report: reports.append(report), startup=startup)
    assert startup.started is False and startup.result is None and liveness.started is True
    liveness.start()
    await asyncio.sleep(0.02)
    assert liveness_script.calls == 0  # waits for the startup probe
    startup.start()
    await eventually('startup.started and liveness_script.calls > 0', lambda: startup.started and liveness_script.calls > 0, timeout=2.0)
    assert reports == [("startup", "app", True, "fine")]
    calls = startup_script.calls
    await asyncio.sleep(0.02)
    assert startup_script.calls == calls  # a succeeded startup probe is not run again
    await liveness.stop()
    await startup.stop()


async def test_initial_delay_passes_before_the_first_probe():
    loop = asyncio.get_running_loop()
    probed_at: list[float] = []

    async def run() -> ProbeResult:
        probed_at.append(loop.time())
        return ProbeResult(True, "")

    begun = loop.time()
    readiness = ProbeWorker(kind="readiness", probe={"initialDelaySeconds": 0.05, "periodSeconds": 0.005},
                            container_name="app", run=run, on_result=lambda *_: None)
    readiness.start()
    await eventually('len(probed_at) >= 3', lambda: len(probed_at) >= 3, timeout=2.0)
    await readiness.stop()
    assert probed_at[0] - begun >= 0.05
    count = len(probed_at)
    await asyncio.sleep(0.02)
    assert len(probed_at) == count  # stopped: no more probes


async def test_a_crashing_probe_run_counts_as_a_failure():
    reports: list[tuple] = []

    async def broken() -> ProbeResult:
        raise OSError("boom")

    liveness = ProbeWorker(kind="liveness", probe={"failureThreshold": 1}, container_name="app", run=broken,
                           on_result=lambda *report: reports.append(report))
    await liveness.probe_once()
    assert reports == [("liveness", "app", False, "probe error: boom")]


# ---- the set of workers the agent keeps ----


def app_container(container_id: str, state: ContainerState = "running") -> ContainerInfo:
    return ContainerInfo(id=container_id, name=container_id, labels={LABEL_ROLE: "app", LABEL_CONTAINER: "app"},
                         state=state, image="busybox", image_id="", started_at="2024-05-01T12:00:00Z")


SANDBOX = ContainerInfo(id="sb", name="sb", labels={LABEL_ROLE: "sandbox"}, state="running", image="pause",
                        image_id="", ip="10.0.0.9")


async def test_probe_set_tracks_readiness_and_liveness_of_running_containers():
    verdicts = {"readiness": True, "liveness": True}
    calls: list[tuple[str, str]] = []

    async def run(probe, *, pod_ip, container, container_id, runtime):
        kind = probe["exec"]["command"][0]
        calls.append((kind, pod_ip))
        return ProbeResult(verdicts[kind], kind)

    changes: list[str] = []
    probes = ProbeSet(NO_RUNTIME, on_change=changes.append, run=run)
    spec = {"name": "app", "image": "busybox",
            "readinessProbe": {"exec": {"command": ["readiness"]}, "periodSeconds": 0.005},
            "livenessProbe": {"exec": {"command": ["liveness"]}, "periodSeconds": 0.005, "failureThreshold": 1}}
    pod = {"metadata": {"uid": "u1", "name": "p", "namespace": "ns"}, "spec": {"containers": [spec]}}
    first = app_container("c1")
    assert probes.ready("u1", "app", first) is False  # before any result: not ready
    probes.sync("ns/p", pod, [SANDBOX, first])
    await eventually("probes.ready('u1', 'app', first)", lambda: probes.ready("u1", "app", first), timeout=2.0)
    assert changes and changes[0] == "ns/p"
    assert ("readiness", "10.0.0.9") in calls
    assert probes.started("u1", "app", first) is None  # no startup probe
    assert probes.unhealthy("u1") == {}

    verdicts["liveness"] = False
    await eventually("bool(probes.unhealthy('u1'))", lambda: bool(probes.unhealthy("u1")), timeout=2.0)
    assert probes.unhealthy("u1") == {"app": "Container app failed liveness probe, will be restarted"}

    second = app_container("c2")  # the restarted container: fresh workers, healthy again
    probes.sync("ns/p", pod, [SANDBOX, app_container("c1", "exited"), second])
    assert probes.unhealthy("u1") == {}
    assert probes.ready("u1", "app", second) is False
    probes.forget("u1")
    assert probes.ready("u1", "app", second) is False


async def test_probe_set_reports_ready_without_a_readiness_probe():
    probes = ProbeSet(NO_RUNTIME, on_change=lambda _: None)
    pod = {"metadata": {"uid": "u1"}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}}
    probes.sync("ns/p", pod, [SANDBOX, app_container("c1")])
    assert probes.ready("u1", "app", app_container("c1")) is True
    assert probes.ready("u1", "app", app_container("c1", "exited")) is False
    assert probes.ready("u1", "app", None) is False
