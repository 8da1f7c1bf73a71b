"""Scheduler throughput (target: within 2 s, ≥ 500 pods/s): 1,000 pods on 100 simulated nodes, first create → all bound.

The figure is the scheduler's, so nothing else may be what limits it: the pods are created by
worker processes with threads on lean keep-alive connections (`bench.wire`, as `bench.load` does
for ConfigMaps), all starting at one agreed CLOCK_MONOTONIC instant, and "bound" is read from one
watch of *unbound* pods (`fieldSelector=spec.nodeName=`), on which a pod arrives as ADDED when it
is created and leaves as DELETED when it is bound — two small events per pod, whatever the nodes
then write. The 100 nodes are real node agents over the fake runtime in one process
(`minik8s.node.fake.simulated_nodes`), so they also start the pods they are given while the scheduler is
still binding, as a real cluster's would; the CPU table says who used the two cores meanwhile.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import multiprocessing
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.api_store import BenchmarkError
from bench.figures import Figure, Outcome
from bench.host import cpu_shares, endpoint_of, own_cpu_seconds, server_runtime, sleep_until, snapshot_cpu
from bench.wire import Endpoint, LeanConnection, post_or_reconnect
from tests.support import builders
from tests.support.daemons import SimulatedCluster, simulated_cluster

log = logging.getLogger(__name__)

POD_COUNT = 1_000
NODE_COUNT = 100
CREATE_WORKERS = 2
CONNECTIONS_PER_WORKER = 4
PODS_PATH = "/api/v1/namespaces/default/pods"
POD_PREFIX = "schedbench"
IMAGE = "minik8s/busybox:latest"  # present on every simulated node
START_DELAY_SECONDS = 3.0  # for the spawned workers to import and connect before the agreed instant
NODES_READY_DEADLINE_SECONDS = 120.0
BOUND_DEADLINE_SECONDS = 120.0


def pod_body(name: str) -> bytes:
    body = builders.pod(name, labels={"app": POD_PREFIX}, grace=0, containers=[builders.sleeper(image=IMAGE)])
    return json.dumps(body, separators=(",", ":")).encode()


# ---- the pod creators (worker processes) ----

@dataclass(frozen=True)
class CreatePlan:
    """What every creator agrees on: where to connect, how many pods, and when to start."""

    endpoints: tuple[Endpoint, ...]
    workers: int
    connections_per_worker: int
    pod_count: int
    start_at: float  # time.monotonic() instant at which every connection sends its first create

    @property
    def connections(self) -> int:
        return self.workers * self.connections_per_worker


@dataclass
class CreateReport:
    created: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    first_sent: float = float("inf")  # time.monotonic() just before the first create was sent
    last_acknowledged: float = 0.0  # time.monotonic() of the last 201
    cpu_seconds: float = 0.0  # the worker process's CPU time from the start instant on


def _create_share(plan: CreatePlan, *, connection_index: int, report: CreateReport, lock: threading.Lock) -> None:
    """One connection: create pods connection_index, +connections, +2·connections, … back to back."""
    endpoint = plan.endpoints[connection_index % len(plan.endpoints)]
    bodies = [pod_body(f"{POD_PREFIX}-{index}")
              for index in range(connection_index, plan.pod_count, plan.connections)]
    created, failures, last = 0, Counter[str](), 0.0
    connection = LeanConnection(endpoint)
    try:
        sleep_until(plan.start_at)
        first_sent = time.monotonic()
        for body in bodies:
            connection, answer = post_or_reconnect(connection, PODS_PATH, body, failures)
            if answer is None:
                continue
            status = answer[0]
            if status == 201:
                created, last = created + 1, time.monotonic()
            else:
                failures[f"HTTP {status}"] += 1
    finally:
        connection.close()
    with lock:
        report.created += created
        report.failures.update(failures)
        report.first_sent = min(report.first_sent, first_sent)
        report.last_acknowledged = max(report.last_acknowledged, last)


def run_creator(plan: CreatePlan, worker: int, results: multiprocessing.Queue[CreateReport]) -> None:
    """A worker process: one thread per connection; its report goes back through `results`."""
    report, lock = CreateReport(), threading.Lock()
    threads = [threading.Thread(target=_create_share, args=(plan,), kwargs={
        "connection_index": worker * plan.connections_per_worker + slot, "report": report, "lock": lock})
        for slot in range(plan.connections_per_worker)]
    for thread in threads:
        thread.start()
    sleep_until(plan.start_at)
    cpu_at_start = own_cpu_seconds()
    for thread in threads:
        thread.join()
    report.cpu_seconds = own_cpu_seconds() - cpu_at_start
    results.put(report)


def start_creators(plan: CreatePlan) -> tuple[list[BaseProcess], multiprocessing.Queue[CreateReport]]:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[CreateReport] = context.Queue()
    processes: list[BaseProcess] = [context.Process(target=run_creator, args=(plan, index, results), daemon=True)
                                    for index in range(plan.workers)]
    for process in processes:
        process.start()
    return processes, results


def collect_creators(processes: Sequence[BaseProcess], results: multiprocessing.Queue[CreateReport], *,
                     timeout: float) -> CreateReport:
    total = CreateReport()
    for _ in processes:
        report = results.get(timeout=timeout)
        total.created += report.created
        total.failures.update(report.failures)
        total.first_sent = min(total.first_sent, report.first_sent)
        total.last_acknowledged = max(total.last_acknowledged, report.last_acknowledged)
        total.cpu_seconds += report.cpu_seconds
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()
    return total


# ---- "all bound", from one watch of unbound pods ----

class BindingWatch:
    """Counts pods leaving the unbound set on a watch read by its own thread; notes when all have."""

    def __init__(self, endpoint: Endpoint, *, resource_version: str, expected: int) -> None:
        query = urlencode({"watch": "true", "resourceVersion": resource_version, "fieldSelector": "spec.nodeName=",
                           "timeoutSeconds": "600"})
        self._connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=600)
        self._connection.request("GET", f"{PODS_PATH}?{query}")
        self._socket = self._connection.sock
        self._response = self._connection.getresponse()
        if self._response.status != 200:
            raise BenchmarkError(f"the watch of unbound pods answered {self._response.status}")
        self.expected = expected
        self.added = 0
        self.bound = 0
        self.half_bound_at: float | None = None
        self.all_bound_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, name="binding-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while line := self._response.readline():
                event = json.loads(line)
                if not str(event["object"].get("metadata", {}).get("name", "")).startswith(POD_PREFIX):
                    continue
                if event.get("type") == "ADDED":
                    self.added += 1
                elif event.get("type") == "DELETED":
                    self.bound += 1
                    if self.bound == self.expected // 2:
                        self.half_bound_at = time.monotonic()
                    if self.bound == self.expected:
                        self.all_bound_at = time.monotonic()
                        self._done.set()
        except (OSError, ValueError, http.client.HTTPException) as error:
            log.debug("the watch of unbound pods ended: %s", error)

    def wait(self, *, timeout: float) -> float | None:
        self._done.wait(timeout)
        return self.all_bound_at

    def close(self) -> None:
        """End the stream: shutting the socket down wakes the reader thread out of its recv."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._connection.close()


# ---- the cluster ----

def wait_for_ready_nodes(server: str, count: int) -> None:
    deadline = time.monotonic() + NODES_READY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            nodes = httpx.get(f"{server}/api/v1/nodes", timeout=10).json()["items"]
            ready = sum(1 for node in nodes if any(c.get("type") == "Ready" and c.get("status") == "True"
                                                   for c in node.get("status", {}).get("conditions") or []))
            if ready >= count:
                return
        time.sleep(0.5)
    raise BenchmarkError(f"{count} simulated nodes were not Ready within {NODES_READY_DEADLINE_SECONDS:.0f} s")


def warm_up_scheduler(server: str) -> None:
    """One pod bound and deleted: the scheduler leads, has synced, and has its connections open."""
    name = f"warmup-{POD_PREFIX}"  # not counted by the BindingWatch, which counts POD_PREFIX-* only
    created = httpx.post(f"{server}{PODS_PATH}", content=pod_body(name), timeout=10,
                         headers={"Content-Type": "application/json"})
    if created.status_code != 201:
        raise BenchmarkError(f"the warm-up pod was refused: {created.status_code} {created.text[:200]}")
    deadline = time.monotonic() + 30
    while not httpx.get(f"{server}{PODS_PATH}/{name}", timeout=10).json()["spec"].get("nodeName"):
        if time.monotonic() > deadline:
            raise BenchmarkError("the scheduler did not bind the warm-up pod within 30 s")
        time.sleep(0.05)
    httpx.delete(f"{server}{PODS_PATH}/{name}", timeout=10)


def component_pids(cluster: SimulatedCluster) -> dict[str, int]:
    pids = {replica.name: replica.process.pid for replica in cluster.apiservers.replicas
            if replica.process is not None}
    pids.update({name: daemon.pid for name, daemon in cluster.daemons.daemons.items() if daemon.alive})
    return pids


@dataclass(frozen=True)
class SchedulingRun:
    seconds_to_all_bound: float
    seconds_to_half_bound: float
    seconds_to_all_created: float
    creates: CreateReport
    cpu: str
    runtime: str


def measure(cluster: SimulatedCluster) -> SchedulingRun:
    """Create POD_COUNT pods from the worker processes; time the first create → the last pod bound."""
    servers = cluster.servers
    endpoints = tuple(endpoint_of(replica) for replica in cluster.apiservers.replicas)
    listed = httpx.get(f"{servers[-1]}{PODS_PATH}", timeout=10).json()
    watch = BindingWatch(endpoints[-1], resource_version=listed["metadata"]["resourceVersion"], expected=POD_COUNT)
    try:
        plan = CreatePlan(endpoints, CREATE_WORKERS, CONNECTIONS_PER_WORKER, POD_COUNT,
                          time.monotonic() + START_DELAY_SECONDS)
        processes, results = start_creators(plan)
        pids = component_pids(cluster)
        sleep_until(plan.start_at)
        before = snapshot_cpu(pids)
        all_bound_at = watch.wait(timeout=START_DELAY_SECONDS + BOUND_DEADLINE_SECONDS)
        after = snapshot_cpu(pids)
        creates = collect_creators(processes, results, timeout=60)
    finally:
        watch.close()
    if all_bound_at is None:
        raise BenchmarkError(f"{watch.bound}/{POD_COUNT} pods bound ({watch.added} seen created) "
                             f"within {BOUND_DEADLINE_SECONDS:.0f} s")
    shares = cpu_shares(before, after, extra_seconds={"pod creators": creates.cpu_seconds})
    first_replica = cluster.apiservers.replicas[0].process
    runtime = server_runtime(first_replica.pid) if first_replica is not None else "unknown"
    first_create, half_bound_at = creates.first_sent, watch.half_bound_at or all_bound_at
    return SchedulingRun(all_bound_at - first_create, half_bound_at - first_create,
                         creates.last_acknowledged - first_create, creates, shares.describe(), runtime)


def run_scheduling(*, apiservers: int) -> SchedulingRun:
    with tempfile.TemporaryDirectory(prefix="minik8s-schedbench-") as root, \
            simulated_cluster(Path(root), apiservers=apiservers) as cluster:
        cluster.start_nodes(NODE_COUNT)
        cluster.start_scheduler("scheduler", leader_elect=False)
        wait_for_ready_nodes(cluster.servers[0], NODE_COUNT)
        warm_up_scheduler(cluster.servers[0])
        return measure(cluster)


def scheduling_outcome(name: str, run: SchedulingRun, *, apiservers: int) -> Outcome:
    failures = ", ".join(f"{kind}: {count}" for kind, count in run.creates.failures.most_common()) or "none"
    connections = CREATE_WORKERS * CONNECTIONS_PER_WORKER
    figures = (
        Figure(name, "first create → all bound", run.seconds_to_all_bound, "s", 3.0, "at_most",
               f"{POD_COUNT} pods, {NODE_COUNT} simulated nodes, {apiservers} apiserver(s)"),
        Figure(name, f"first create → {POD_COUNT // 2} bound", run.seconds_to_half_bound, "s"),
        Figure(name, "pods bound/s", POD_COUNT / run.seconds_to_all_bound, "pods/s"),
        Figure(name, "first create → last create acknowledged", run.seconds_to_all_created, "s",
               note=f"{run.creates.created} created over {connections} connections; failures: {failures}"),
    )
    remarks = (f"{name} CPU from the first create to all bound: {run.cpu}",
               f"{name}: uvicorn in the apiservers: {run.runtime}")
    return Outcome(figures, remarks)


def bench_scheduler() -> Outcome:
    """1,000 pods on 100 simulated nodes with 3 apiserver replicas: first create → all bound."""
    return scheduling_outcome("scheduler", run_scheduling(apiservers=3), apiservers=3)


def bench_scheduler_single_apiserver() -> Outcome:
    """The same with one apiserver, to show what the replication costs on 2 cores."""
    return scheduling_outcome("scheduler-1", run_scheduling(apiservers=1), apiservers=1)
