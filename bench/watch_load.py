"""The apiserver holding many watches: its memory with 10,000 idle watches, its write latency with 1,000 watchers.

Each benchmark starts one real apiserver process (a single Raft replica, plain HTTP, AlwaysAllow, so
every watch comes from the one anonymous user) in a temporary directory, and reads its memory as the
kernel counts it (VmRSS). `watch-memory` opens 10,000 idle ConfigMap watches from this process over
raw sockets, with the apiserver's watch limits lifted (`--max-watches 0 --max-watches-per-user 0`):
10,000 watches from one client is exactly what the defaults refuse, so the same 10,000 are then sent
to an apiserver with the default limits, to show what it lets in and what that costs. The memory once
the watches are closed shows what the allocator keeps for the next ones (see apiserver/watch_limits).
`watch-write-latency` times sequential 1 KB ConfigMap creates on one keep-alive connection, first
with no watcher, then with 1,000 watchers of ConfigMaps (the default per-user limit), each reading
every event in a separate process, and checks that every watcher received every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx

from bench.api_store import BenchmarkError, latency_figures
from bench.figures import Figure, Outcome
from bench.host import endpoint_of, server_runtime
from bench.wire import CONFIG_MAPS, Endpoint, LeanConnection, config_map_body
from tests.support.replicas import ReplicaSet

log = logging.getLogger(__name__)

IDLE_WATCHES = 10_000
OPEN_BATCH = 500
WATCHERS = 1_000
TIMED_WRITES = 300
WARMUP_WRITES = 20
UNLIMITED_WATCHES = ("--max-watches", "0", "--max-watches-per-user", "0")


def watch_request(resource_version: str = "") -> bytes:
    """A ConfigMap watch, from `resource_version` (none: the current objects first, as ADDED events)."""
    since = f"&resourceVersion={resource_version}" if resource_version else ""
    return (f"GET {CONFIG_MAPS}?watch=true&timeoutSeconds=900{since} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nAccept: application/json\r\n\r\n").encode()


EVENT_MARK = b'"type":"ADDED"'
DELIVERY_DEADLINE_SECONDS = 60.0


@contextlib.contextmanager
def one_apiserver(*flags: str) -> Iterator[ReplicaSet]:
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-") as root:
        cluster = ReplicaSet(Path(root), size=1, flags=flags)
        try:
            cluster.start_all()
            yield cluster
        finally:
            cluster.stop_all()


def pid_of(cluster: ReplicaSet) -> int:
    process = cluster.replicas[0].process
    assert process is not None
    return process.pid


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"no VmRSS for process {pid}")


def open_watch_count(endpoint: Endpoint) -> float:
    """The apiserver's own count of open watches (its minik8s_watchers gauge)."""
    text = httpx.get(f"http://{endpoint.netloc}/metrics", timeout=10).text
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith("minik8s_watchers "))


async def open_watches(endpoint: Endpoint, count: int, resource_version: str = "") -> tuple[
        list[asyncio.StreamWriter], list[asyncio.StreamReader], Counter[int]]:
    """`count` watch requests, each on its own connection, `OPEN_BATCH` at a time: the open ones and all statuses."""
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    statuses: Counter[int] = Counter()

    async def one() -> None:
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        writer.write(watch_request(resource_version))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        statuses[status] += 1
        if status == 200:
            writers.append(writer)
            readers.append(reader)
        else:
            writer.close()

    for start in range(0, count, OPEN_BATCH):
        await asyncio.gather(*(one() for _ in range(min(OPEN_BATCH, count - start))))
    return writers, readers, statuses


async def hold_idle_watches(endpoint: Endpoint, pid: int, count: int) -> dict[str, float]:
    """Open `count` watches, read the apiserver's RSS with them open and once they are closed again."""
    before = rss_mb(pid)
    writers, _, statuses = await open_watches(endpoint, count)
    await asyncio.sleep(1.0)  # let the last batch's allocations settle before reading RSS
    held = rss_mb(pid)
    for writer in writers:
        writer.close()
    deadline = time.monotonic() + 60
    while await asyncio.to_thread(open_watch_count, endpoint) > 0:
        if time.monotonic() > deadline:
            raise BenchmarkError("the apiserver still counts watches 60 s after they closed")
        await asyncio.sleep(0.2)
    return {"before": before, "held": held, "after": rss_mb(pid), "accepted": float(statuses[200]),
            "refused": float(statuses[429])}


def bench_watch_memory() -> Outcome:
    name = "watch-memory"
    with one_apiserver(*UNLIMITED_WATCHES) as cluster:
        lifted = asyncio.run(hold_idle_watches(endpoint_of(cluster.replicas[0]), pid_of(cluster), IDLE_WATCHES))
        runtime = server_runtime(pid_of(cluster))
    if lifted["accepted"] != IDLE_WATCHES:
        raise BenchmarkError(f"only {lifted['accepted']:.0f} of {IDLE_WATCHES} watches were accepted with no limits")
    with one_apiserver() as cluster:
        capped = asyncio.run(hold_idle_watches(endpoint_of(cluster.replicas[0]), pid_of(cluster), IDLE_WATCHES))
    per_watch_kb = 1024 * (lifted["held"] - lifted["before"]) / IDLE_WATCHES
    figures = (
        Figure(name, "RSS, no watch", lifted["before"], "MB"),
        Figure(name, f"RSS, {IDLE_WATCHES:,} idle watches (limits lifted)", lifted["held"], "MB"),
        Figure(name, "memory per idle watch", per_watch_kb, "KB"),
        Figure(name, "RSS once they closed", lifted["after"], "MB"),
        Figure(name, f"accepted of {IDLE_WATCHES:,} from one user, default limits", capped["accepted"], "watches"),
        Figure(name, "RSS with those open, default limits", capped["held"], "MB"),
    )
    remarks = (f"{name}: one apiserver (1 Raft replica, {runtime}); {IDLE_WATCHES:,} watches from one anonymous "
               f"client, first with --max-watches 0 --max-watches-per-user 0, then with the defaults "
               f"({capped['refused']:.0f} refused with 429)",)
    return Outcome(figures, remarks)


# ---- write latency with watchers ----

async def count_events(reader: asyncio.StreamReader, counts: list[int], index: int) -> None:
    """Count the ADDED events of one stream; a mark split between two reads is counted once."""
    tail = b""
    while data := await reader.read(65536):
        data = tail + data
        counts[index] += data.count(EVENT_MARK)
        tail = data[-(len(EVENT_MARK) - 1):]  # too short to hold a whole mark: never counted twice


async def watch_and_count(endpoint: Endpoint, count: int, resource_version: str, ready: EventType,
                          stop: EventType, results: multiprocessing.Queue[tuple[int, int, int]]) -> None:
    _, readers, statuses = await open_watches(endpoint, count, resource_version)
    counts = [0] * len(readers)
    tasks = [asyncio.create_task(count_events(reader, counts, index)) for index, reader in enumerate(readers)]
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(0.05)
    results.put((statuses[200], min(counts, default=0), sum(counts)))
    for task in tasks:
        task.cancel()


def run_watchers(endpoint: Endpoint, count: int, resource_version: str, ready: EventType, stop: EventType,
                 results: multiprocessing.Queue[tuple[int, int, int]]) -> None:
    """The watcher process: `count` watches from `resource_version`, each counting every event until told to stop."""
    asyncio.run(watch_and_count(endpoint, count, resource_version, ready, stop, results))


def timed_creates(endpoint: Endpoint, prefix: str) -> list[float]:
    latencies = []
    with LeanConnection(endpoint) as connection:
        for index in range(WARMUP_WRITES + TIMED_WRITES):
            started = time.perf_counter()
            status, answer = connection.post(CONFIG_MAPS, config_map_body(f"{prefix}-{index}"))
            if status != 201:
                raise BenchmarkError(f"create answered {status}: {answer[:200]!r}")
            if index >= WARMUP_WRITES:
                latencies.append(time.perf_counter() - started)
    return latencies


def bench_watch_write_latency() -> Outcome:
    name = "watch-write-latency"
    context = multiprocessing.get_context("spawn")
    with one_apiserver() as cluster:
        endpoint = endpoint_of(cluster.replicas[0])
        alone = timed_creates(endpoint, "alone")
        since = httpx.get(f"http://{endpoint.netloc}{CONFIG_MAPS}", timeout=10).json()["metadata"]["resourceVersion"]
        ready, stop, results = context.Event(), context.Event(), context.Queue()
        watchers = context.Process(target=run_watchers, args=(endpoint, WATCHERS, since, ready, stop, results),
                                   daemon=True)
        watchers.start()
        try:
            if not ready.wait(120):
                raise BenchmarkError(f"the {WATCHERS} watchers did not open within 120 s")
            watched = timed_creates(endpoint, "watched")
            time.sleep(min(DELIVERY_DEADLINE_SECONDS, 2.0))  # the last events on their way
            stop.set()
            accepted, fewest, total = results.get(timeout=DELIVERY_DEADLINE_SECONDS)
        finally:
            stop.set()
            watchers.join(10)
            if watchers.is_alive():
                watchers.kill()
    expected = WARMUP_WRITES + TIMED_WRITES
    figures = [*latency_figures(name, "create, no watcher", alone, with_targets=False),
               *latency_figures(name, f"create, {WATCHERS:,} watchers", watched, with_targets=False),
               Figure(name, "events delivered", 100 * total / max(1, accepted * expected), "%", 100.0, "at_least")]
    remarks = (f"{name}: one apiserver; {TIMED_WRITES} sequential 1 KB ConfigMap creates (after {WARMUP_WRITES} "
               f"warm-up) on one keep-alive connection, alone then with {accepted} ConfigMap watchers reading in "
               f"another process; the slowest watcher had {fewest} of {expected} events",)
    return Outcome(tuple(figures), remarks)
