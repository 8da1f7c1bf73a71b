"""The apiserver + replicated store figures: create latency, write throughput, watch delay.

Each benchmark starts its own three real replica processes (`tests.support.replicas.ReplicaSet`)
in a fresh temporary directory, drives them over loopback HTTP with the lean client of `bench.wire`,
and returns `Figure`s. Nothing here asserts a time: the figures are printed for a human to judge.
Leader failover lives in `bench.failover`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from urllib.parse import urlencode

import httpx

from bench.figures import Figure, Outcome, percentile
from bench.host import (
    cpu_shares,
    endpoint_of,
    replica_cluster,
    replica_pids,
    server_runtime,
    snapshot_cpu,
)
from bench.load import LoadPlan, collect, start_workers
from bench.wire import CONFIG_MAPS, Endpoint, LeanConnection, config_map_body
from tests.support.replicas import ReplicaSet

log = logging.getLogger(__name__)

CREATES_PER_PATH = 1_000
WARMUP_CREATES = 50
LOAD_CONNECTIONS = 32
LOAD_WORKERS = 4
LOAD_SECONDS = 10.0
LOAD_WARMUP_SECONDS = 1.0
WATCHED_WRITES = 500
EVENT_DEADLINE_SECONDS = 5.0


class BenchmarkError(Exception):
    """The cluster answered in a way that makes the figure meaningless (e.g. a failed create)."""


def sequential_create_latencies(endpoint: Endpoint, *, count: int, prefix: str) -> list[float]:
    """Seconds per create for `count` back-to-back creates on one keep-alive connection."""
    bodies = [config_map_body(f"{prefix}-{index}") for index in range(count + WARMUP_CREATES)]
    latencies: list[float] = []
    with LeanConnection(endpoint) as connection:
        for index, body in enumerate(bodies):
            started = time.perf_counter()
            status, answer = connection.post(CONFIG_MAPS, body)
            elapsed = time.perf_counter() - started
            if status != 201:
                raise BenchmarkError(f"create answered {status}: {answer[:200]!r}")
            if index >= WARMUP_CREATES:
                latencies.append(elapsed)
    return latencies


def latency_figures(benchmark: str, path: str, seconds: list[float], *, with_targets: bool) -> list[Figure]:
    milliseconds = [1000 * value for value in seconds]
    targets = {0.5: 3.0, 0.99: 15.0} if with_targets else {}
    figures = []
    for fraction in (0.5, 0.9, 0.99):
        target = targets.get(fraction)
        figures.append(Figure(benchmark, f"{path} p{round(fraction * 100)}", percentile(milliseconds, fraction),
                              "ms", target, "at_most" if target is not None else "none"))
    return figures


def runtime_remark(cluster: ReplicaSet, *, leader: int) -> str:
    process = cluster.replicas[leader].process
    runtime = server_runtime(process.pid) if process is not None else "unknown"
    return f"uvicorn in the replicas: {runtime}"


def bench_create_latency() -> Outcome:
    """1,000 sequential ~1 KB creates from one keep-alive client, to the leader and via a follower."""
    name = "create-latency"
    with replica_cluster() as cluster:
        leader = cluster.leader_index()
        follower = (leader + 1) % len(cluster.replicas)
        runtime = runtime_remark(cluster, leader=leader)
        to_leader = sequential_create_latencies(endpoint_of(cluster.replicas[leader]),
                                                count=CREATES_PER_PATH, prefix="latency-leader")
        via_follower = sequential_create_latencies(endpoint_of(cluster.replicas[follower]),
                                                   count=CREATES_PER_PATH, prefix="latency-follower")
    note = f"{CREATES_PER_PATH} creates each"
    figures = latency_figures(name, "to leader", to_leader, with_targets=True)
    figures += latency_figures(name, "via follower", via_follower, with_targets=False)
    return Outcome(tuple(Figure(f.benchmark, f.name, f.value, f.unit, f.target, f.direction, note)
                         for f in figures), (runtime,))


def bench_write_throughput() -> Outcome:
    """32 connections over 3 replicas, creating ~1 KB ConfigMaps for 10 s from 4 worker processes."""
    name = "write-throughput"
    with replica_cluster() as cluster:
        leader = cluster.leader_index()
        endpoints = tuple(endpoint_of(replica) for replica in cluster.replicas)
        plan = LoadPlan(endpoints, LOAD_CONNECTIONS // LOAD_WORKERS, time.monotonic() + 2.5,
                        LOAD_WARMUP_SECONDS, LOAD_SECONDS)
        processes, results = start_workers(plan, workers=LOAD_WORKERS)
        pids = replica_pids(cluster, leader=leader)
        begin, end = plan.window
        time.sleep(max(0.0, begin - time.monotonic()))
        before = snapshot_cpu(pids)
        time.sleep(max(0.0, end - time.monotonic()))
        after = snapshot_cpu(pids)
        report = collect(processes, results, timeout=30)
    shares = cpu_shares(before, after, extra_seconds={"load generator": report.cpu_seconds})
    failures = ", ".join(f"{kind}: {count}" for kind, count in report.failures.most_common()) or "none"
    milliseconds = [1000 * value for value in report.latencies]
    figures = (
        Figure(name, "objects/s (32 connections)", report.created / LOAD_SECONDS, "obj/s", 1500, "at_least",
               f"{report.created} creates in {LOAD_SECONDS:.0f} s; failures: {failures}"),
        Figure(name, "create p50 under load", percentile(milliseconds, 0.5), "ms"),
        Figure(name, "create p99 under load", percentile(milliseconds, 0.99), "ms"),
        Figure(name, "load generator CPU", shares.processes["load generator"], "% machine",
               note=f"{LOAD_WORKERS} processes x {plan.connections_per_worker} threads"),
        Figure(name, "replicas CPU", sum(v for k, v in shares.processes.items() if k != "load generator"),
               "% machine"),
    )
    return Outcome(figures, (f"write-throughput CPU over the window: {shares.describe()}",))


class _WatchRecorder:
    """Reads a watch stream on its own thread; notes when each ConfigMap's ADDED event arrives."""

    def __init__(self, endpoint: Endpoint, *, resource_version: str) -> None:
        query = urlencode({"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": "120"})
        self._connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=120)
        self._connection.request("GET", f"{CONFIG_MAPS}?{query}")
        self._socket = self._connection.sock
        self._response = self._connection.getresponse()
        if self._response.status != 200:
            raise BenchmarkError(f"watch answered {self._response.status}")
        self.arrivals: dict[str, float] = {}
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="watch-recorder", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while line := self._response.readline():
                arrived = time.perf_counter()
                event = json.loads(line)
                if event.get("type") == "ADDED":
                    with self._arrived:
                        self.arrivals[event["object"]["metadata"]["name"]] = arrived
                        self._arrived.notify_all()
        except (OSError, ValueError, http.client.HTTPException) as error:
            log.debug("watch stream ended: %s", error)

    def wait_for(self, name: str, *, timeout: float) -> float | None:
        with self._arrived:
            self._arrived.wait_for(lambda: name in self.arrivals, timeout)
            return self.arrivals.get(name)

    def close(self) -> None:
        """End the stream: shutting the socket down wakes the reader thread out of its recv."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._connection.close()


def bench_watch_latency() -> Outcome:
    """~500 creates on the leader, one at a time; delay from each 201 to its event on a follower's watch."""
    name = "watch-latency"
    delays: list[float] = []  # ms from the writer reading its 201 to the watcher reading the event
    round_trips: list[float] = []  # ms from sending the create to the watcher reading the event
    missed = 0
    with replica_cluster() as cluster:
        leader = cluster.leader_index()
        follower = cluster.replicas[(leader + 1) % len(cluster.replicas)]
        listed = httpx.get(f"{follower.url}{CONFIG_MAPS}", timeout=5).json()
        recorder = _WatchRecorder(endpoint_of(follower), resource_version=listed["metadata"]["resourceVersion"])
        try:
            with LeanConnection(endpoint_of(cluster.replicas[leader])) as writer:
                for index in range(WATCHED_WRITES):
                    object_name = f"watched-{index}"
                    body = config_map_body(object_name)
                    sent = time.perf_counter()
                    status, answer = writer.post(CONFIG_MAPS, body)
                    acknowledged = time.perf_counter()
                    if status != 201:
                        raise BenchmarkError(f"create answered {status}: {answer[:200]!r}")
                    arrived = recorder.wait_for(object_name, timeout=EVENT_DEADLINE_SECONDS)
                    if arrived is None:
                        missed += 1
                    else:
                        delays.append(1000 * (arrived - acknowledged))
                        round_trips.append(1000 * (arrived - sent))
        finally:
            recorder.close()
    early = sum(1 for delay in delays if delay < 0)
    note = f"{len(delays)} events, {missed} missed, {early} arrived before the writer's 201"
    return Outcome((
        Figure(name, "ack → event p50", percentile(delays, 0.5), "ms", note=note),
        Figure(name, "ack → event p99", percentile(delays, 0.99), "ms", 20.0, "at_most"),
        Figure(name, "ack → event max", max(delays, default=float("nan")), "ms"),
        Figure(name, "create sent → event p99", percentile(round_trips, 0.99), "ms",
               note="for scale: includes the create's own round trip"),
    ))
