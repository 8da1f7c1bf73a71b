"""Probe workers: the kubelet's prober, repeating one probe per container and probe kind.

Readiness decides whether a pod receives Service traffic, liveness whether a container is
killed and restarted, startup whether the other two may begin: users rely on Kubernetes'
timing (initialDelaySeconds, periodSeconds) and thresholds (successThreshold,
failureThreshold). `ProbeWorker` repeats one check (`probe_checks.run_probe`) and reports
only when the thresholded verdict changes; `ProbeSet` keeps the workers of every running
container of the node and answers the agent's questions (ready? started? unhealthy?).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from minik8s.api.meta import parse_time, spec_of, status_of, uid_of
from minik8s.node.probe_checks import (
    ProbeResult,
    exec_probe,
    http_probe,
    probe_host,
    resolve_port,
    run_probe,
    tcp_probe,
)
from minik8s.node.runtime import LABEL_CONTAINER, LABEL_ROLE, ContainerInfo, ContainerRuntime

__all__ = [
    "PROBE_FIELDS",
    "ProbeKind",
    "ProbeResult",
    "ProbeSet",
    "ProbeWorker",
    "exec_probe",
    "http_probe",
    "probe_host",
    "resolve_port",
    "run_probe",
    "tcp_probe",
]

logger = logging.getLogger(__name__)

ProbeKind = Literal["liveness", "readiness", "startup"]
PROBE_FIELDS: dict[ProbeKind, str] = {
    "startup": "startupProbe",
    "liveness": "livenessProbe",
    "readiness": "readinessProbe",
}
_INITIAL_STATE: dict[ProbeKind, bool | None] = {"liveness": True, "readiness": False, "startup": None}

ResultCallback = Callable[[str, str, bool, str], None]  # (kind, container name, success, message)
AttemptCallback = Callable[[str, str, ProbeResult], None]  # every single run, e.g. for Unhealthy events


class ProbeWorker:
    """Probes one container with one probe, as the kubelet's prober worker does.

    The thresholded verdict starts as: readiness False (not ready), liveness True (alive),
    startup None (unknown). `on_result` is called only when it changes. After a liveness or
    startup failure the worker holds: the container is about to be restarted, and the new
    container gets a new worker. A startup worker stops probing once it succeeded; liveness
    and readiness workers given `startup=` wait until that worker's `started` is True.
    """

    def __init__(
        self, *, kind: ProbeKind, probe: Mapping[str, Any], container_name: str,
        run: Callable[[], Awaitable[ProbeResult]], on_result: ResultCallback,
        startup: ProbeWorker | None = None, running_for: float = 0.0, on_attempt: AttemptCallback | None = None,
    ) -> None:
        self.kind, self.container_name = kind, container_name
        self.initial_delay = max(0.0, float(probe.get("initialDelaySeconds") or 0) - running_for)
        self.period = float(probe.get("periodSeconds") or 10)
        self.success_threshold = int(probe.get("successThreshold") or 1)
        self.failure_threshold = int(probe.get("failureThreshold") or 3)
        self._run, self._on_result, self._on_attempt = run, on_result, on_attempt
        self._startup = startup
        self.result: bool | None = _INITIAL_STATE[kind]  # the thresholded verdict
        self.message = ""
        self._last: bool | None = None
        self._run_length = 0
        self.on_hold = False
        self._task: asyncio.Task[None] | None = None

    @property
    def success(self) -> bool:
        return self.result is True

    @property
    def started(self) -> bool:
        """For a startup worker: whether the startup probe has succeeded. Always True otherwise."""
        return self.kind != "startup" or self.result is True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name=f"probe {self.kind} {self.container_name}"
            )

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self.initial_delay > 0:
            await asyncio.sleep(self.initial_delay)
        next_tick = loop.time()
        while not (self.kind == "startup" and self.result is True):
            if not self.on_hold and (self._startup is None or self._startup.started):
                await self.probe_once()
            next_tick = max(next_tick + self.period, loop.time())
            await asyncio.sleep(next_tick - loop.time())

    async def probe_once(self) -> None:
        """One probe run and its thresholding (the loop calls this every period)."""
        try:
            outcome = await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.warning("%s probe of %s failed to run: %s", self.kind, self.container_name, error)
            outcome = ProbeResult(False, f"probe error: {error}")
        self.message = outcome.message
        if self._on_attempt is not None:
            try:
                self._on_attempt(self.kind, self.container_name, outcome)
            except Exception:
                logger.exception("on_attempt of the %s probe of %s failed", self.kind, self.container_name)
        if outcome.success == self._last:
            self._run_length += 1
        else:
            self._last, self._run_length = outcome.success, 1
        threshold = self.success_threshold if outcome.success else self.failure_threshold
        if self._run_length < threshold:
            return
        if self.result != outcome.success:
            self.result = outcome.success
            try:
                self._on_result(self.kind, self.container_name, outcome.success, outcome.message)
            except Exception:
                logger.exception("on_result of the %s probe of %s failed", self.kind, self.container_name)
        if not outcome.success and self.kind in ("liveness", "startup"):
            self.on_hold, self._run_length = True, 0


RunProbe = Callable[..., Awaitable[ProbeResult]]  # run_probe's signature
UnhealthyCallback = Callable[[str, str, str], None]  # (pod key, container name, "Liveness probe failed: …")


@dataclass
class _ContainerProbes:
    pod_uid: str
    name: str
    workers: dict[str, ProbeWorker]


class ProbeSet:
    """The probe workers of every running app container of the node's pods, by container id.

    `sync` starts workers for containers that newly run and stops those of containers that
    no longer do; the agent asks `ready`, `started` and `unhealthy` when it decides and
    reports, and `on_change(pod_key)` tells it when a verdict changed.
    """

    def __init__(self, runtime: ContainerRuntime, *, on_change: Callable[[str], None],
                 on_unhealthy: UnhealthyCallback | None = None, run: RunProbe = run_probe) -> None:
        self._runtime, self._run = runtime, run
        self._on_change, self._on_unhealthy = on_change, on_unhealthy
        self._containers: dict[str, _ContainerProbes] = {}
        self._specs: dict[str, dict[str, Mapping[str, Any]]] = {}  # pod uid -> container name -> spec

    def sync(self, pod_key: str, pod: Mapping[str, Any], containers: Sequence[ContainerInfo]) -> None:
        uid = uid_of(pod)
        specs = {str(c.get("name")): c for c in spec_of(pod).get("containers") or []}
        self._specs[uid] = specs
        running = {
            info.id: info for info in containers
            if info.labels.get(LABEL_ROLE) == "app" and info.state == "running"
            and info.labels.get(LABEL_CONTAINER) in specs
        }
        for container_id, entry in list(self._containers.items()):
            if entry.pod_uid == uid and container_id not in running:
                self._drop(container_id)
        pod_ip = _pod_ip(pod, containers)
        for container_id, info in running.items():
            if container_id not in self._containers:
                name = info.labels[LABEL_CONTAINER]
                workers = self._start_workers(pod_key, specs[name], info, pod_ip)
                self._containers[container_id] = _ContainerProbes(pod_uid=uid, name=name, workers=workers)

    def _start_workers(self, pod_key: str, spec: Mapping[str, Any], info: ContainerInfo,
                       pod_ip: str) -> dict[str, ProbeWorker]:
        workers: dict[str, ProbeWorker] = {}
        for kind, field_name in PROBE_FIELDS.items():
            probe = spec.get(field_name)
            if not probe:
                continue
            run = functools.partial(self._run, probe, pod_ip=pod_ip, container=spec, container_id=info.id,
                                    runtime=self._runtime)
            worker = ProbeWorker(
                kind=kind, probe=probe, container_name=str(spec.get("name")), run=run,
                on_result=lambda *_: self._on_change(pod_key), startup=workers.get("startup"),
                running_for=_running_for(info), on_attempt=self._attempt_callback(pod_key),
            )
            workers[kind] = worker
            worker.start()
        return workers

    def _attempt_callback(self, pod_key: str) -> AttemptCallback:
        def attempted(kind: str, container_name: str, outcome: ProbeResult) -> None:
            if not outcome.success and self._on_unhealthy is not None:
                self._on_unhealthy(pod_key, container_name, f"{kind.capitalize()} probe failed: {outcome.message}")

        return attempted

    def ready(self, pod_uid: str, name: str, latest: ContainerInfo | None) -> bool:
        """Readiness of the newest container: True without a readiness probe, False before a success.

        False for a pod `sync` has not seen (yet, or since `forget`).
        """
        if latest is None or latest.state != "running":
            return False
        spec = self._specs.get(pod_uid, {}).get(name)
        if spec is None:
            return False  # not synced yet: its probes are unknown, so not ready
        if not spec.get("readinessProbe"):
            return True
        worker = self._worker(latest.id, "readiness")
        return worker is not None and worker.success

    def started(self, pod_uid: str, name: str, latest: ContainerInfo | None) -> bool | None:
        """The startup probe's verdict for the newest container; None when it has no startup probe."""
        spec = self._specs.get(pod_uid, {}).get(name)
        if spec is None or not spec.get("startupProbe"):
            return None
        if latest is None or latest.state != "running":
            return False
        worker = self._worker(latest.id, "startup")
        return worker is not None and worker.started

    def unhealthy(self, pod_uid: str) -> dict[str, str]:
        """Running containers whose liveness or startup probe failed: name -> the Killing message."""
        failed: dict[str, str] = {}
        for entry in self._containers.values():
            if entry.pod_uid != pod_uid:
                continue
            for kind in ("startup", "liveness"):
                worker = entry.workers.get(kind)
                if worker is not None and worker.result is False:
                    failed[entry.name] = f"Container {entry.name} failed {kind} probe, will be restarted"
        return failed

    def forget(self, pod_uid: str) -> None:
        for container_id, entry in list(self._containers.items()):
            if entry.pod_uid == pod_uid:
                self._drop(container_id)
        self._specs.pop(pod_uid, None)

    def _worker(self, container_id: str, kind: str) -> ProbeWorker | None:
        entry = self._containers.get(container_id)
        return entry.workers.get(kind) if entry is not None else None

    def _drop(self, container_id: str) -> None:
        for worker in self._containers.pop(container_id).workers.values():
            worker.cancel()


def _pod_ip(pod: Mapping[str, Any], containers: Sequence[ContainerInfo]) -> str:
    if spec_of(pod).get("hostNetwork") is True:  # the node's address, which the status reports as its IP
        return str(status_of(pod).get("podIP") or status_of(pod).get("hostIP") or "")
    for info in containers:
        if info.labels.get(LABEL_ROLE) == "sandbox" and info.state == "running" and info.ip:
            return info.ip
    return str(status_of(pod).get("podIP") or "")


def _running_for(info: ContainerInfo) -> float:
    """Seconds since the container started (initialDelaySeconds counts from there)."""
    started = parse_time(info.started_at)
    if started is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - started).total_seconds())
