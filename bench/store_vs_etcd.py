"""The store next to etcd in the same run, driven by the same client (issue #14, "Figures").

Three minik8s apiserver replicas (plain HTTP, AlwaysAllow: `bench.host.replica_cluster`) and three etcd
members (`bench.etcd_cluster`: Debian's etcd 3.4, default fsync) run side by side on loopback. The same
code drives both: the lean keep-alive HTTP/1.1 client of `bench.wire` and the load generator of
`bench.load`; only the `CreateCall` differs — a ~1 KB ConfigMap POSTed to the apiserver, or the very
guarded create Kubernetes sends etcd for it (a transaction putting the same JSON under its key if absent)
through etcd's JSON gateway. etcd's native client speaks gRPC; its gateway adds a JSON decode and a hop
to the gRPC server inside the member, the same kind of work the apiserver does for its JSON, and is what
keeps the client identical.

- Create latency: one client per system on one connection to its leader, sequential; the two take turns
  in rounds (`bench.create_latency_tls.take_turns`) so both see the same machine as its load drifts.
- Throughput: 32 connections over all three members (4 worker processes), 10 s windows in the order
  minik8s, etcd, etcd, minik8s, so a drift in the machine's load weighs on both alike.

Targets (issue #14): at least 50 % of etcd's throughput, a p50 at most twice etcd's. Printed, never asserted.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.api_store import LOAD_CONNECTIONS, LOAD_SECONDS, LOAD_WARMUP_SECONDS, LOAD_WORKERS
from bench.create_latency_tls import Client, take_turns
from bench.etcd_cluster import (
    ETCD_CREATE,
    etcd_cluster,
    etcd_version,
    filesystem_of,
    leader_index,
    member_pids,
)
from bench.figures import Figure, Outcome, percentile
from bench.host import cpu_shares, endpoint_of, replica_cluster, replica_pids, snapshot_cpu
from bench.load import LoadPlan, WorkerReport, collect, start_workers
from bench.wire import CONFIG_MAP_CREATE, CreateCall, Endpoint, LeanConnection

NAME = "store-vs-etcd"
ROUNDS = 10
CREATES_PER_ROUND = 100  # 1,000 measured sequential creates per system
WARMUP_CREATES = 50
THROUGHPUT_SHARE_TARGET = 50.0  # % of etcd's creates/s
P50_RATIO_TARGET = 2.0  # the store's p50 over etcd's
WINDOW_ORDER = ("minik8s", "etcd", "etcd", "minik8s")


@dataclass
class System:
    """One cluster under test: how it is reached and created on, and what it managed under load."""

    label: str
    call: CreateCall
    leader: Endpoint
    endpoints: tuple[Endpoint, ...]
    pids: dict[str, int]
    created: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, creates under load

    @property
    def throughput(self) -> float:
        return self.created / self.seconds if self.seconds else float("nan")


def load_window(system: System, *, window: int) -> str:
    """32 connections over every member of `system` for one window; adds what they created to it, and says how
    the window went (its rate, failures, who used the CPU)."""
    plan = LoadPlan(system.endpoints, LOAD_CONNECTIONS // LOAD_WORKERS, time.monotonic() + 2.5,
                    LOAD_WARMUP_SECONDS, LOAD_SECONDS, create=system.call, name_prefix=f"load{window}")
    processes, results = start_workers(plan, workers=LOAD_WORKERS)
    begin, end = plan.window
    time.sleep(max(0.0, begin - time.monotonic()))
    before = snapshot_cpu(system.pids)
    time.sleep(max(0.0, end - time.monotonic()))
    after = snapshot_cpu(system.pids)
    report: WorkerReport = collect(processes, results, timeout=60)
    system.created += report.created
    system.seconds += LOAD_SECONDS
    system.latencies += report.latencies
    shares = cpu_shares(before, after, extra_seconds={"load generator": report.cpu_seconds})
    failures = ", ".join(f"{kind}: {count}" for kind, count in report.failures.most_common()) or "no failures"
    return (f"{NAME} window {window + 1} ({system.label}): {report.created / LOAD_SECONDS:,.0f} creates/s, "
            f"{failures}; CPU: {shares.describe()}")


def latency_figures(clients: list[Client]) -> list[Figure]:
    figures = []
    for fraction in (0.5, 0.99):
        for client in clients:
            figures.append(Figure(NAME, f"create p{round(fraction * 100)} {client.label}",
                                  percentile([1000 * s for s in client.seconds], fraction), "ms",
                                  note=client.note if fraction == 0.5 else ""))
    return figures


def comparison_figures(store: System, etcd: System, store_client: Client, etcd_client: Client) -> list[Figure]:
    """Throughputs side by side, then the two ratios against issue #14's targets."""
    p50_ratio = percentile(store_client.seconds, 0.5) / percentile(etcd_client.seconds, 0.5)
    note = f"{LOAD_CONNECTIONS} connections over 3 members, {LOAD_WORKERS} worker processes"
    return [
        Figure(NAME, "creates/s minik8s (32 connections)", store.throughput, "obj/s",
               note=f"{store.created} in {store.seconds:.0f} s; {note}"),
        Figure(NAME, "creates/s etcd (32 connections)", etcd.throughput, "obj/s",
               note=f"{etcd.created} in {etcd.seconds:.0f} s"),
        Figure(NAME, "create p50 under load minik8s", 1000 * percentile(store.latencies, 0.5), "ms"),
        Figure(NAME, "create p50 under load etcd", 1000 * percentile(etcd.latencies, 0.5), "ms"),
        Figure(NAME, "throughput minik8s / etcd", 100 * store.throughput / etcd.throughput, "%",
               THROUGHPUT_SHARE_TARGET, "at_least"),
        Figure(NAME, "create p50 minik8s / etcd", p50_ratio, "x", P50_RATIO_TARGET, "at_most",
               "sequential, 1 client each"),
    ]


def bench_store_vs_etcd() -> Outcome:
    """Sequential create latency and 32-connection throughput, minik8s beside etcd, same client, same run."""
    with ExitStack() as stack:
        members = stack.enter_context(etcd_cluster())
        cluster = stack.enter_context(replica_cluster())
        store_leader, etcd_leader = cluster.leader_index(), leader_index(members)
        store = System("minik8s", CONFIG_MAP_CREATE, endpoint_of(cluster.replicas[store_leader]),
                       tuple(endpoint_of(replica) for replica in cluster.replicas),
                       replica_pids(cluster, leader=store_leader))
        etcd = System("etcd", ETCD_CREATE, members[etcd_leader].endpoint,
                      tuple(member.endpoint for member in members), member_pids(members, leader=etcd_leader))
        clients = [
            Client("minik8s", "ConfigMap create (~1 KB) to the leader", stack.enter_context(
                LeanConnection(store.leader)), "latency", call=store.call),
            Client("etcd", "txn put-if-absent (~1 KB) to the leader", stack.enter_context(
                LeanConnection(etcd.leader)), "latency", call=etcd.call),
        ]
        take_turns(clients, rounds=ROUNDS, per_round=CREATES_PER_ROUND, warmup=WARMUP_CREATES)
        windows = [load_window(store if label == store.label else etcd, window=window)
                   for window, label in enumerate(WINDOW_ORDER)]
    figures = latency_figures(clients) + comparison_figures(store, etcd, clients[0], clients[1])
    remarks = [f"{NAME}: {etcd_version()} from Debian, 3 members on loopback, default fsync, data on "
               f"{filesystem_of(Path(tempfile.gettempdir()))}; minik8s: 3 replicas (plain HTTP, AlwaysAllow) as "
               "bench/host.py starts them; the same lean HTTP/1.1 client for both",
               f"{NAME}: latency from {ROUNDS} rounds of {CREATES_PER_ROUND} creates per system in turns, after "
               f"{WARMUP_CREATES} unmeasured", *windows]
    return Outcome(tuple(figures), tuple(remarks))
