"""Probes: one exec run over a scripted runtime, and the workers that repeat and threshold them.

The httpGet and tcpSocket handlers, which need a listening socket, are tested in
`tests/component/test_node_probe_handlers.py`.
"""

from __future__ import annotations

import asyncio
from typing import cast

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


async def periods(count: int, *, period: float = 0.005) -> None:
    """Let `count` probe periods pass, as counted by a witness worker probing every `period` on the same loop.

    A worker under test had as many chances to probe by then: a test that asserts it did *not* probe
    waits for this instead of sleeping.
    """
    witness = Script(True)
    ticker = ProbeWorker(kind="readiness", probe={"periodSeconds": period}, container_name="witness", run=witness,
                         on_result=lambda *_: None)
    ticker.start()
    try:
        await eventually(f"{count} probe periods", lambda: witness.calls >= count, timeout=2.0)
    finally:
        await ticker.stop()


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
    await eventually("a liveness report", lambda: bool(reports), timeout=2.0)
    assert reports == [("liveness", "app", False, "broken")]
    calls = script.calls
    await periods(6)  # on hold: the container is about to be restarted
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
    await periods(4)
    assert liveness_script.calls == 0  # waits for the startup probe
    startup.start()
    await eventually("the startup probe to pass and liveness to start",
                     lambda: startup.started and liveness_script.calls > 0, timeout=2.0)
    assert reports == [("startup", "app", True, "fine")]
    calls = startup_script.calls
    await periods(4)
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
    await eventually("three probes", lambda: len(probed_at) >= 3, timeout=2.0)
    await readiness.stop()
    assert probed_at[0] - begun >= 0.05
    count = len(probed_at)
    await periods(4)
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
    await eventually("the container to be ready", lambda: probes.ready("u1", "app", first), timeout=2.0)
    assert changes and changes[0] == "ns/p"
    assert ("readiness", "10.0.0.9") in calls
    assert probes.started("u1", "app", first) is None  # no startup probe
    assert probes.unhealthy("u1") == {}

    verdicts["liveness"] = False
    await eventually("the container to be unhealthy", lambda: bool(probes.unhealthy("u1")), timeout=2.0)
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
