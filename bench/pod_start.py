"""Pod start latency on real Docker nodes, printed next to the raw Docker floor measured in the same run.

The target: a pod with `spec.nodeName` set and its image present is seen Running and
Ready through a watch within p50 0.6 s / p99 1.5 s of its create being acknowledged. That only means
something next to what Docker alone needs on the same machine at the same moment, so one run
brings a cluster up with the real CLI (`minik8s up`, Docker node agents node-1 and node-2), times
50 pods one after the other, times 20 bare pause + joined busybox pairs through `DockerRuntime`,
and takes everything down again (`minik8s down --purge`) whatever happened.

Each pod's path is also stamped with the Docker events of its containers as they reach this
process (sandbox created/started, app container created/started), so the table shows where the
time between "create acknowledged" and "Ready seen" goes without reading the agent's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from bench.api_store import BenchmarkError
from bench.figures import Figure, Outcome, median, percentile
from bench.host import cpu_shares, snapshot_cpu
from minik8s.client.kubeconfig import load_kubeconfig
from minik8s.client.tls import ssl_context_for
from minik8s.node.docker.runtime import DockerRuntime
from minik8s.node.runtime import (
    LABEL_MANAGED,
    LABEL_POD_NAME,
    LABEL_ROLE,
    ContainerRuntime,
    ContainerSpec,
    RuntimeFailure,
    SandboxSpec,
)
from tests.support import builders

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

ROOT = Path(__file__).resolve().parents[1]
POD_COUNT = 50
FLOOR_ROUNDS = 20
NODE_NAMES = ("node-1", "node-2")
BUSYBOX_IMAGE = "minik8s/busybox:latest"
PAUSE_IMAGE = "minik8s/pause:latest"
POD_PREFIX = "podbench"
TERMINATION_GRACE_SECONDS = 1  # `sleep` as PID 1 ignores SIGTERM, so each stop waits this out
UP_TIMEOUT_SECONDS = 60
READY_DEADLINE_SECONDS = 30.0
DELETE_DEADLINE_SECONDS = 120.0
FLOOR_NETWORK = "minik8s-podbench-floor"
FLOOR_SUBNET = "10.245.255.0/24"
FLOOR_GATEWAY = "10.245.255.1"
LABEL_BENCH = "minik8s.io/bench"  # on the floor's containers, which belong to no node


# ---- the cluster ----

@dataclass(frozen=True)
class DockerCluster:
    """A cluster started by `minik8s up` in a throw-away home."""

    home: Path
    api_url: str
    tls: ssl.SSLContext  # the admin kubeconfig's: the cluster CA and the admin's client certificate


def run_cli(*arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minik8s.cli.main", *arguments, "--home", str(home)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)


@contextmanager
def docker_cluster(*, replicas: int) -> Iterator[DockerCluster]:
    """`minik8s up` with two Docker nodes; `down --purge` on exit, even after a failure."""
    with tempfile.TemporaryDirectory(prefix="minik8s-podbench-") as root:
        home = Path(root) / "cluster"
        try:
            started = run_cli("up", "--replicas", str(replicas), "--nodes", str(len(NODE_NAMES)),
                              "--timeout", str(UP_TIMEOUT_SECONDS), home=home)
            if started.returncode != 0:
                raise BenchmarkError(f"minik8s up failed: {(started.stderr or started.stdout).strip()[-500:]}")
            layout = json.loads((home / "cluster.json").read_text())
            yield DockerCluster(home, f"https://127.0.0.1:{layout['apiservers'][0]['http_port']}",
                                ssl_context_for(load_kubeconfig(home / "kubeconfig")))
        finally:
            stopped = run_cli("down", "--purge", home=home)
            if stopped.returncode != 0:
                log.warning("minik8s down failed: %s", stopped.stderr.strip())


def component_pids(cluster: DockerCluster) -> dict[str, int]:
    """Live pids of the cluster's processes and of the Docker engine, by name, for CPU shares."""
    answer = run_cli("status", "-o", "json", home=cluster.home)
    components = json.loads(answer.stdout)["components"] if answer.returncode == 0 else []
    pids = {entry["name"]: int(entry["pid"]) for entry in components if entry.get("pid")}
    for name, command in (("dockerd", "dockerd"), ("containerd", "containerd")):
        found = subprocess.run(["pgrep", "-o", "-x", command], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            pids[name] = int(found.stdout.split()[0])
    return pids


# ---- pods through the API ----

def pod_body(name: str, *, node: str) -> dict[str, Any]:
    return builders.pod(name, labels={"app": POD_PREFIX}, node_name=node, grace=TERMINATION_GRACE_SECONDS,
                        containers=[builders.sleeper("main", BUSYBOX_IMAGE)])


def running_and_ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    return status.get("phase") == "Running" and any(
        condition.get("type") == "Ready" and condition.get("status") == "True" for condition in conditions)


@dataclass
class PodTimeline:
    """perf_counter() instants of one pod's path, each as it reached this process."""

    acknowledged: float = 0.0
    ready: float | None = None
    deleted: float | None = None
    docker: dict[str, float] = field(default_factory=dict)  # "sandbox create", "app start" … (first seen)


class PodWatch:
    """One watch on the pods of the benchmark, and the Docker events of their containers."""

    def __init__(self) -> None:
        self.timelines: dict[str, PodTimeline] = {}
        self.changed = asyncio.Event()

    def timeline(self, name: str) -> PodTimeline:
        return self.timelines.setdefault(name, PodTimeline())

    async def follow_api(self, client: httpx.AsyncClient, *, resource_version: str) -> None:
        params = {"watch": "true", "resourceVersion": resource_version, "labelSelector": f"app={POD_PREFIX}"}
        async with client.stream("GET", "/api/v1/namespaces/default/pods", params=params,
                                 timeout=httpx.Timeout(10, read=None)) as response:
            if response.status_code != 200:
                raise BenchmarkError(f"watch answered {response.status_code}")
            async for line in response.aiter_lines():
                if line.strip():
                    self.on_api_event(orjson.loads(line), arrived=time.perf_counter())

    def on_api_event(self, event: Mapping[str, Any], *, arrived: float) -> None:
        pod = event.get("object") or {}
        name = str((pod.get("metadata") or {}).get("name", ""))
        if event.get("type") == "ERROR" or not name:
            raise BenchmarkError(f"the pod watch failed: {event}")
        timeline = self.timeline(name)
        if event.get("type") == "DELETED":
            timeline.deleted = arrived
        elif timeline.ready is None and running_and_ready(pod):
            timeline.ready = arrived
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    async def follow_docker(self, runtime: ContainerRuntime) -> None:
        async for event in runtime.events({LABEL_MANAGED: "true"}):
            name = event.labels.get(LABEL_POD_NAME, "")
            if name.startswith(POD_PREFIX):
                stamp = f"{event.labels.get(LABEL_ROLE, '?')} {event.action}"
                self.timeline(name).docker.setdefault(stamp, time.perf_counter())

    async def wait_ready(self, name: str) -> None:
        timeline = self.timeline(name)
        await self.wait_for(f"pod {name} to be Running and Ready", lambda: timeline.ready is not None,
                            deadline_seconds=READY_DEADLINE_SECONDS)

    async def wait_for(self, what: str, done: Callable[[], bool], *, deadline_seconds: float) -> None:
        """Until done() is true; BenchmarkError naming `what` at the deadline."""
        deadline = time.perf_counter() + deadline_seconds
        while not done():
            changed = self.changed
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchmarkError(f"timed out after {deadline_seconds:.0f} s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)


@dataclass
class PodRun:
    timelines: dict[str, PodTimeline]
    delete_seconds: float
    cpu: str


async def start_pods(client: httpx.AsyncClient, watch: PodWatch, *, count: int) -> list[str]:
    """Create the pods one after the other, each once the previous one is Running and Ready."""
    names = []
    for index in range(count):
        name = f"{POD_PREFIX}-{index}"
        body = pod_body(name, node=NODE_NAMES[index % len(NODE_NAMES)])
        response = await client.post("/api/v1/namespaces/default/pods", json=body)
        acknowledged = time.perf_counter()
        if response.status_code != 201:
            raise BenchmarkError(f"creating pod {name} answered {response.status_code}: {response.text[:200]}")
        watch.timeline(name).acknowledged = acknowledged
        names.append(name)
        await watch.wait_ready(name)
    return names


async def delete_pods(client: httpx.AsyncClient, watch: PodWatch, names: list[str]) -> float:
    """Delete them all at once (as `kubectl delete pods -l` does); seconds until the last is gone."""
    started = time.perf_counter()
    for name in names:
        response = await client.delete(f"/api/v1/namespaces/default/pods/{name}")
        if response.status_code not in (200, 202, 404):
            raise BenchmarkError(f"deleting pod {name} answered {response.status_code}: {response.text[:200]}")
    await watch.wait_for(f"{len(names)} pods to be deleted",
                         lambda: all(watch.timeline(n).deleted is not None for n in names),
                         deadline_seconds=DELETE_DEADLINE_SECONDS)
    return max(watch.timeline(name).deleted or started for name in names) - started


async def remove_leftover_pods(client: httpx.AsyncClient) -> None:
    """After a failure: force-delete whatever pods of the benchmark are left (containers go at `down`)."""
    listed = await client.get("/api/v1/namespaces/default/pods", params={"labelSelector": f"app={POD_PREFIX}"})
    for pod in listed.json().get("items") or []:
        await client.delete(f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}",
                            params={"gracePeriodSeconds": "0"})


async def run_pods(cluster: DockerCluster, *, count: int) -> PodRun:
    """Watch, create `count` pods one by one, then delete them all; Docker events stamped alongside."""
    watch, runtime = PodWatch(), DockerRuntime()
    pids = component_pids(cluster)
    async with httpx.AsyncClient(base_url=cluster.api_url, timeout=10, verify=cluster.tls) as client:
        listed = await client.get("/api/v1/namespaces/default/pods")
        resource_version = listed.json()["metadata"]["resourceVersion"]
        followers = [asyncio.create_task(watch.follow_api(client, resource_version=resource_version)),
                     asyncio.create_task(watch.follow_docker(runtime))]
        names: list[str] = []
        try:
            before, own_before = snapshot_cpu(pids), time.process_time()
            names = await _with_followers(start_pods(client, watch, count=count), followers)
            shares = cpu_shares(before, snapshot_cpu(pids),
                                extra_seconds={"this benchmark": time.process_time() - own_before})
            delete_seconds = await _with_followers(delete_pods(client, watch, names), followers)
        except BaseException:
            with contextlib.suppress(Exception):
                await remove_leftover_pods(client)
            raise
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
            await runtime.close()
    return PodRun({name: watch.timeline(name) for name in names}, delete_seconds,
                  f"CPU while the pods started: {shares.describe()}")


async def _with_followers(work: Coroutine[Any, Any, ResultT], followers: list[asyncio.Task[None]]) -> ResultT:
    """Await `work`, failing at once if a follower (the watch, the Docker events) died first."""
    task = asyncio.create_task(work)
    done, _ = await asyncio.wait([task, *followers], return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        task.cancel()
        broken = next(follower for follower in followers if follower in done)
        raise BenchmarkError(f"a follower stopped early: {broken.exception() or 'its stream ended'}")
    return task.result()


# ---- the raw Docker floor ----

@dataclass(frozen=True)
class FloorRound:
    sandbox: float  # run_sandbox: create + start + inspect of the pause container
    joined: float  # create + start of busybox in the sandbox's network namespace

    @property
    def total(self) -> float:
        return self.sandbox + self.joined


async def docker_floor(*, rounds: int) -> list[FloorRound]:
    """`rounds` pause + joined busybox pairs through DockerRuntime, on a network of their own."""
    runtime = DockerRuntime()
    labels = {LABEL_BENCH: "pod-start-floor"}
    measured: list[FloorRound] = []
    try:
        await runtime.ensure_network(FLOOR_NETWORK, subnet=FLOOR_SUBNET, gateway=FLOOR_GATEWAY)
        for index in range(rounds):
            started = time.perf_counter()
            sandbox = await runtime.run_sandbox(SandboxSpec(
                name=f"{POD_PREFIX}-floor-pause-{index}", image=PAUSE_IMAGE, labels=labels,
                network=FLOOR_NETWORK, hostname=f"floor-{index}"))
            sandbox_ready = time.perf_counter()
            container_id = await runtime.create_container(ContainerSpec(
                name=f"{POD_PREFIX}-floor-busybox-{index}", image=BUSYBOX_IMAGE, labels=labels,
                sandbox_id=sandbox.id, entrypoint=["sleep", "3600"]))
            await runtime.start_container(container_id)
            measured.append(FloorRound(sandbox_ready - started, time.perf_counter() - sandbox_ready))
    finally:
        with contextlib.suppress(RuntimeFailure):
            leftovers = await runtime.list_containers(labels)
            await asyncio.gather(*(runtime.remove_container(info.id) for info in leftovers))
            await runtime.remove_network(FLOOR_NETWORK)
        await runtime.close()
    return measured


# ---- figures ----

PHASES = (  # (label, from, to): stamps are "acknowledged", "ready" or Docker events "<role> <action>"
    ("create ack → sandbox created", "acknowledged", "sandbox create"),
    ("sandbox created → started", "sandbox create", "sandbox start"),
    ("sandbox started → app created", "sandbox start", "app create"),
    ("app created → started", "app create", "app start"),
    ("app started → Ready seen", "app start", "ready"),
)


def span_ms(timeline: PodTimeline, begin: str, end: str) -> float | None:
    """Milliseconds between two stamps of a pod; None when either is missing."""
    stamps = {"acknowledged": timeline.acknowledged, "ready": timeline.ready, **timeline.docker}
    start, finish = stamps.get(begin), stamps.get(end)
    return 1000 * (finish - start) if start is not None and finish is not None else None


def phase_figures(benchmark: str, timelines: list[PodTimeline]) -> list[Figure]:
    """The median of each step between create and Ready, from the stamps every pod has."""
    figures = []
    for label, begin, end in PHASES:
        spans = [span for timeline in timelines if (span := span_ms(timeline, begin, end)) is not None]
        figures.append(Figure(benchmark, f"  {label} p50", median(spans), "ms",
                              note=f"{len(spans)} pods" if len(spans) != len(timelines) else ""))
    return figures


def slowest_remark(timelines: Mapping[str, PodTimeline]) -> str:
    """The slowest pod's five phases, to tell a Docker hiccup from an agent one."""
    ready = {name: timeline for name, timeline in timelines.items() if timeline.ready is not None}
    if not ready:
        return "no pod became Ready"
    name = max(ready, key=lambda key: (ready[key].ready or 0.0) - ready[key].acknowledged)
    spans = [span_ms(ready[name], begin, end) for _, begin, end in PHASES]
    return f"slowest pod {name}: " + " / ".join("?" if span is None else f"{span:.0f}" for span in spans) + \
        " ms (the five phases above, in order)"


def latency_figures(benchmark: str, label: str, seconds: list[float], *, targets: Mapping[float, float],
                    note: str) -> list[Figure]:
    figures = []
    for fraction in (0.5, 0.9, 0.99):
        target = targets.get(fraction)
        figures.append(Figure(benchmark, f"{label} p{round(fraction * 100)}", percentile(seconds, fraction), "s",
                              target, "at_most" if target is not None else "none", note if fraction == 0.5 else ""))
    figures.append(Figure(benchmark, f"{label} max", max(seconds, default=float("nan")), "s"))
    return figures


def pod_start_outcome(name: str, run: PodRun, floor: list[FloorRound], *, replicas: int) -> Outcome:
    timelines = list(run.timelines.values())
    starts = [timeline.ready - timeline.acknowledged for timeline in timelines if timeline.ready is not None]
    figures = latency_figures(name, "create → Running+Ready", starts, targets={0.5: 0.6, 0.99: 1.5},
                              note=f"{len(starts)} pods, one at a time, {replicas} apiserver replica(s)")
    figures += phase_figures(name, timelines)
    floor_totals = [round_.total for round_ in floor]
    figures += latency_figures(name, "docker pause+busybox", floor_totals, targets={},
                               note=f"{len(floor)} pairs via DockerRuntime, same run")
    figures += [Figure(name, "  docker sandbox p50", median([r.sandbox for r in floor]), "s"),
                Figure(name, "  docker joined container p50", median([r.joined for r in floor]), "s"),
                Figure(name, f"delete {len(timelines)} pods", run.delete_seconds, "s",
                       note=f"all at once, grace {TERMINATION_GRACE_SECONDS} s, until the last DELETED event")]
    return Outcome(tuple(figures), (run.cpu, slowest_remark(run.timelines)))


def measure_pod_start(*, replicas: int) -> Outcome:
    name = "pod-start" if replicas == 1 else f"pod-start-{replicas}"
    with docker_cluster(replicas=replicas) as cluster:
        floor = asyncio.run(docker_floor(rounds=FLOOR_ROUNDS))
        run = asyncio.run(run_pods(cluster, count=POD_COUNT))
    return pod_start_outcome(name, run, floor, replicas=replicas)


def bench_pod_start() -> Outcome:
    """50 pods created one at a time on two Docker nodes (1 apiserver) → Running and Ready via a watch."""
    return measure_pod_start(replicas=1)


def bench_pod_start_replicated() -> Outcome:
    """The same with three apiserver replicas (writes and watches go through Raft)."""
    return measure_pod_start(replicas=3)
