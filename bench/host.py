"""The machine side of a benchmark: a throw-away 3-replica cluster, and where the CPU time went.

Figures on a 2-core machine only mean something next to who used the cores (the load generator,
the replicas and any daemon share them), so the benchmarks sample per-process and whole-machine
CPU from /proc, and report which event loop and HTTP parser (uvloop, httptools) the replicas
really loaded.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.wire import Endpoint
from tests.support.replicas import Replica, ReplicaSet

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def replica_cluster(*, watch_history: int = 10_000) -> Iterator[ReplicaSet]:
    """Three fresh replicas in a temporary directory; killed and removed on exit."""
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-") as root:
        cluster = ReplicaSet(Path(root), watch_history=watch_history)
        try:
            cluster.start_all()
            yield cluster
        finally:
            cluster.stop_all()


def endpoint_of(replica: Replica) -> Endpoint:
    return Endpoint("127.0.0.1", replica.http_port)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (0.0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # fields[0] is the state, field 3 of proc(5)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds summed over every core since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


@dataclass(frozen=True)
class CpuSnapshot:
    processes: Mapping[str, float]  # name → CPU seconds so far
    machine_busy: float
    machine_total: float


@dataclass(frozen=True)
class CpuShares:
    """Shares of the machine's whole capacity (all cores) over an interval, in percent."""

    processes: Mapping[str, float]
    machine_busy: float

    def describe(self) -> str:
        parts = [f"{name} {share:.0f}%" for name, share in self.processes.items()]
        others = self.machine_busy - sum(self.processes.values())
        return ", ".join([*parts, f"everything else {max(0.0, others):.0f}%",
                          f"machine busy {self.machine_busy:.0f}% of {os.cpu_count()} cores"])


def snapshot_cpu(pids: Mapping[str, int]) -> CpuSnapshot:
    busy, total = machine_cpu_seconds()
    return CpuSnapshot({name: process_cpu_seconds(pid) for name, pid in pids.items()}, busy, total)


def cpu_shares(before: CpuSnapshot, after: CpuSnapshot, *,
               extra_seconds: Mapping[str, float] | None = None) -> CpuShares:
    """Per-process shares between two snapshots; `extra_seconds` adds CPU measured elsewhere."""
    capacity = max(after.machine_total - before.machine_total, 1e-9)
    shares = {name: 100 * (after.processes[name] - before.processes[name]) / capacity
              for name in before.processes}
    for name, seconds in (extra_seconds or {}).items():
        shares[name] = 100 * seconds / capacity
    return CpuShares(shares, 100 * (after.machine_busy - before.machine_busy) / capacity)


def replica_pids(cluster: ReplicaSet, *, leader: int) -> dict[str, int]:
    """Live replica pids, named so the leader stands out."""
    named: dict[str, int] = {}
    for index, replica in enumerate(cluster.replicas):
        if replica.process is not None and replica.process.poll() is None:
            named["leader" if index == leader else f"follower {replica.name}"] = replica.process.pid
    return named


def server_runtime(pid: int) -> str:
    """The event loop and HTTP parser a replica process has loaded (read from its memory map)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "unknown (process gone)"
    loop = "uvloop" if "/uvloop/loop." in maps else "asyncio"
    parser = "httptools" if "/httptools/parser/parser." in maps else "h11"
    return f"event loop {loop}, HTTP parser {parser}"


def sleep_until(instant: float) -> None:
    """Sleep until time.monotonic() reaches `instant` (the agreed start of a measured window)."""
    remaining = instant - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def own_cpu_seconds() -> float:
    """User + system CPU this (calling) process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
