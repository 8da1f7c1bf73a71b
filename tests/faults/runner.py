"""The fault runner: traffic and watchers on a cluster, faults injected in cycles, then every check.

One run: clients and watchers start; each cycle lets the traffic run calmly, injects the scenario's next
fault, holds it, heals it, and measures the recovery time (from the heal to the first write that
succeeded after it). When the time is up the traffic stops, every replica is started and waited for,
every key is read on every replica, the watchers are given time to catch up, and the whole history is
checked (linearizability.py, watch_check.py). The runner only calls a fault's inject and heal, and
the cluster's `urls`, `generation`, `restart_dead` and `wait_ready`, so other fault catalogues reuse it.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from tests.faults.faults import Fault
from tests.faults.history import History
from tests.faults.linearizability import Anomaly, check
from tests.faults.traffic import Client, TrafficSettings, create_namespace, read_everything, run_client
from tests.faults.watch_check import check_watches, resumptions
from tests.faults.watchers import Watcher, wait_caught_up
from tests.support.waiting import wait_for


class Cluster(Protocol):
    @property
    def urls(self) -> list[str]: ...

    def generation(self, index: int) -> int: ...

    def restart_dead(self) -> list[str]: ...

    def wait_ready(self) -> None: ...

    @property
    def events(self) -> list[str]:
        """What happened to the cluster besides the faults (a replica that died of one), for the table."""


ClusterT = TypeVar("ClusterT", bound=Cluster)


@dataclass(frozen=True)
class Timing:
    calm: float = 2.0  # seconds of undisturbed traffic before each fault
    hold_min: float = 2.0  # seconds a fault lasts, drawn between these: several election timeouts, and
    hold_max: float = 7.0  # sometimes longer than the store's 5 s write timeout
    recovery_deadline: float = 90.0  # a cluster that takes longer to take a write again fails the run
    catch_up: float = 30.0  # seconds watchers get to receive the last write
    watchers: int = 2


@dataclass
class RunResult:
    scenario: str
    faults: list[str] = field(default_factory=list)  # each injection, in order
    operations: int = 0
    unknown: int = 0
    anomalies: list[Anomaly] = field(default_factory=list)
    recoveries: list[float] = field(default_factory=list)  # seconds from each heal to the first write that succeeded
    first_writes: list[float] = field(default_factory=list)  # seconds from each injection to the first write sent
    # after it that succeeded (a failover; when no write got through during the fault, until the recovery)
    resumptions: int = 0
    notes: list[str] = field(default_factory=list)
    history: History = field(default_factory=History)
    watchers: list[Watcher] = field(default_factory=list)


def _start(result: RunResult, cluster: Cluster, settings: TrafficSettings, timing: Timing,
           stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for number in range(settings.clients):
        client = Client(f"c{number}", cluster.urls, result.history, settings, random.Random(settings.seed + number))
        threads.append(threading.Thread(target=run_client, args=(client, stop), name=client.name, daemon=True))
    for number in range(timing.watchers):
        watcher = Watcher(f"w{number}", cluster.urls, cluster.generation, seed=settings.seed + 100 + number)
        result.watchers.append(watcher)
        threads.append(threading.Thread(target=watcher.run, name=watcher.log.name, daemon=True))
    for thread in threads:
        thread.start()
    return threads


def _cycle(result: RunResult, cluster: ClusterT, fault: Fault[ClusterT], timing: Timing,
           stop: threading.Event, rng: random.Random) -> None:
    stop.wait(timing.calm)
    result.history.note(f"inject {fault.name}")
    heal = fault.inject(cluster)
    injected = time.monotonic()  # the fault is in place
    result.faults.append(fault.name)
    stop.wait(rng.uniform(timing.hold_min, timing.hold_max))
    heal()
    healed = time.monotonic()
    result.history.note(f"healed {fault.name}")
    recovered = wait_for(f"a write to succeed after {fault.name} was healed",
                         lambda: result.history.first_write_ok_after(healed), timeout=timing.recovery_deadline)
    result.recoveries.append(recovered - healed)
    served = result.history.first_write_ok_after(injected, invoked_after=True)
    result.first_writes.append((served or recovered) - injected)


def _finish(result: RunResult, cluster: Cluster, settings: TrafficSettings, timing: Timing,
            stop: threading.Event, threads: list[threading.Thread]) -> None:
    """Stop the traffic, bring every replica back, read everything everywhere, let watchers catch up."""
    stop.set()
    for thread in threads:
        if thread.name.startswith("c"):
            thread.join(timeout=settings.request_timeout * 2)
    restarted = cluster.restart_dead()
    if restarted:
        result.notes.append(f"restarted after the run: {', '.join(restarted)}")
    cluster.wait_ready()
    read_everything(cluster.urls, result.history, settings.keys)
    operations = result.history.snapshot()
    newest = max([op.result_rv or 0 for op in operations if op.is_write and op.outcome == "ok"] +
                 [watcher.reached for watcher in result.watchers])
    wait_caught_up(result.watchers, newest, timing.catch_up)
    for watcher in result.watchers:
        watcher.stop.set()
    for thread in threads:
        thread.join(timeout=10)


def run(cluster: ClusterT, name: str, faults: tuple[Fault[ClusterT], ...], *, duration: float,
        settings: TrafficSettings = TrafficSettings(), timing: Timing = Timing()) -> RunResult:
    """Cycles of `faults` (in turn; at least one) for about `duration` seconds, then every check."""
    result = RunResult(name)
    create_namespace(cluster.urls[0])
    stop = threading.Event()
    threads = _start(result, cluster, settings, timing, stop)
    try:
        started = time.monotonic()
        wait_for("the first write to succeed", lambda: result.history.first_write_ok_after(started), timeout=60)
        end = time.monotonic() + duration
        cycle = 0
        rng = random.Random(settings.seed)
        while cycle == 0 or time.monotonic() < end:
            _cycle(result, cluster, faults[cycle % len(faults)], timing, stop, rng)
            cycle += 1
        _finish(result, cluster, settings, timing, stop, threads)
    finally:
        stop.set()
        for watcher in result.watchers:
            watcher.stop.set()
    result.notes += cluster.events
    operations = result.history.snapshot()
    result.operations = len(operations)
    result.unknown = sum(1 for op in operations if op.outcome == "unknown")
    result.anomalies = check(operations) + check_watches([watcher.log for watcher in result.watchers], operations)
    result.resumptions = resumptions([watcher.log for watcher in result.watchers])
    return result
