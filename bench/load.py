"""The write-throughput load generator: several worker processes, each with threads on lean connections.

One Python process cannot drive 32 connections fast enough to load three replicas (httpx reaches a
few hundred requests/s with one core busy in the client), so the connections are spread over worker
processes (multiprocessing, spawn) and each connection gets a thread running the blocking
`LeanConnection`. All workers start at an agreed CLOCK_MONOTONIC instant
(the clock is shared by every process on Linux) and count only the creates completed inside the
measuring window, after a warm-up. Each worker reports its own CPU time, so the client's share of the
machine can be printed next to the figure.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from bench.host import own_cpu_seconds, sleep_until
from bench.wire import CONFIG_MAP_CREATE, CreateCall, Endpoint, LeanConnection, post_or_reconnect


@dataclass(frozen=True)
class LoadPlan:
    """What every worker agrees on: where to connect, and the window to count in."""

    endpoints: tuple[Endpoint, ...]
    connections_per_worker: int
    start_at: float  # time.monotonic() instant at which every connection starts writing
    warmup: float
    duration: float
    create: CreateCall = CONFIG_MAP_CREATE  # what a connection sends: ConfigMaps to an apiserver by default
    name_prefix: str = "load"  # of every object created: two plans on one server need different ones

    @property
    def window(self) -> tuple[float, float]:
        begin = self.start_at + self.warmup
        return begin, begin + self.duration


@dataclass
class WorkerReport:
    created: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, creates completed in the window
    cpu_seconds: float = 0.0  # this worker process's CPU time inside the window


def _drive_connection(plan: LoadPlan, *, worker: int, slot: int, report: WorkerReport,
                      lock: threading.Lock) -> None:
    """One connection: create objects (`plan.create`) back to back until the window closes."""
    connection_index = worker * plan.connections_per_worker + slot
    endpoint = plan.endpoints[connection_index % len(plan.endpoints)]
    begin, end = plan.window
    created, latencies, failures = 0, [], Counter[str]()
    connection = LeanConnection(endpoint)
    try:
        sleep_until(plan.start_at)
        sequence = 0
        while (started := time.monotonic()) < end:
            sequence += 1
            body = plan.create.body(f"{plan.name_prefix}-{connection_index}-{sequence}")
            connection, answer = post_or_reconnect(connection, plan.create.path, body, failures)
            if answer is None:
                continue
            finished = time.monotonic()
            if not begin <= finished <= end:
                continue
            if plan.create.created(*answer):
                created += 1
                latencies.append(finished - started)
            else:
                failures[f"HTTP {answer[0]}"] += 1
    finally:
        connection.close()
    with lock:
        report.created += created
        report.latencies.extend(latencies)
        report.failures.update(failures)


def run_worker(plan: LoadPlan, worker: int, results: multiprocessing.Queue[WorkerReport]) -> None:
    """A worker process: one thread per connection; its report goes back through `results`."""
    report, lock = WorkerReport(), threading.Lock()
    threads = [threading.Thread(target=_drive_connection, args=(plan,),
                                kwargs={"worker": worker, "slot": slot, "report": report, "lock": lock})
               for slot in range(plan.connections_per_worker)]
    for thread in threads:
        thread.start()
    begin, end = plan.window
    sleep_until(begin)
    cpu_at_begin = own_cpu_seconds()
    sleep_until(end)
    report.cpu_seconds = own_cpu_seconds() - cpu_at_begin
    for thread in threads:
        thread.join()
    results.put(report)


def start_workers(plan: LoadPlan, *, workers: int) -> tuple[list[BaseProcess],
                                                             multiprocessing.Queue[WorkerReport]]:
    """Spawn the worker processes; they wait for `plan.start_at` before writing."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[WorkerReport] = context.Queue()
    processes: list[BaseProcess] = [context.Process(target=run_worker, args=(plan, index, results), daemon=True)
                 for index in range(workers)]
    for process in processes:
        process.start()
    return processes, results


def collect(processes: Sequence[BaseProcess], results: multiprocessing.Queue[WorkerReport],
            *, timeout: float) -> WorkerReport:
    """Merge the workers' reports (waiting at most `timeout` s for each) and reap the processes."""
    total = WorkerReport()
    for _ in processes:
        report = results.get(timeout=timeout)
        total.created += report.created
        total.failures.update(report.failures)
        total.latencies.extend(report.latencies)
        total.cpu_seconds += report.cpu_seconds
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()
    return total
