"""Leader failover: how long after the Raft leader is SIGKILLed do creates succeed again.

A survivor may hold a create for seconds (the store resubmits while no leader is known), so a client
that waits for each answer before retrying would measure its own timeout. Instead a fresh create is
*sent* every ~10 ms, alternating between the survivors, without waiting for the earlier ones; the clock
stops at the first 201 from any of them. The clock starts just before the kill signal is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import httpx

from bench.api_store import BenchmarkError, runtime_remark
from bench.figures import Figure, Outcome, median
from bench.host import endpoint_of, replica_cluster
from bench.wire import CONFIG_MAPS, Endpoint, ProtocolError, config_map_body, encode_request, parse_head
from tests.support.replicas import ReplicaSet

ROUNDS = 5
ATTEMPT_INTERVAL_SECONDS = 0.01
RECOVERY_DEADLINE_SECONDS = 20.0
REJOIN_DEADLINE_SECONDS = 30.0


async def create_once(endpoint: Endpoint, name: str) -> bool:
    """Send one create on a new connection; True when it was acknowledged with 201."""
    try:
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    except OSError:
        return False
    try:
        writer.write(encode_request("POST", CONFIG_MAPS, endpoint=endpoint, body=config_map_body(name)))
        head = await reader.readuntil(b"\r\n\r\n")
        status, _ = parse_head(head[:-4])
        return status == 201
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError):
        return False
    finally:
        writer.close()


async def seconds_until_a_create_succeeds(endpoints: Sequence[Endpoint], *, started: float,
                                          prefix: str) -> float:
    """Keep sending creates every ~10 ms, round-robin over `endpoints`, until one is acknowledged."""
    acknowledged: list[float] = []
    succeeded = asyncio.Event()
    in_flight: set[asyncio.Task[None]] = set()

    async def attempt(endpoint: Endpoint, name: str) -> None:
        if await create_once(endpoint, name) and not acknowledged:
            acknowledged.append(time.perf_counter())
            succeeded.set()

    sent = 0
    try:
        while not succeeded.is_set():
            if time.perf_counter() - started > RECOVERY_DEADLINE_SECONDS:
                raise BenchmarkError(f"no create succeeded {RECOVERY_DEADLINE_SECONDS:.0f} s after the kill")
            task = asyncio.create_task(attempt(endpoints[sent % len(endpoints)], f"{prefix}-{sent}"))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(succeeded.wait(), ATTEMPT_INTERVAL_SECONDS)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
    return acknowledged[0] - started


def raft_status(cluster: ReplicaSet, index: int) -> dict[str, object] | None:
    try:
        status: dict[str, object] = httpx.get(f"{cluster.replicas[index].url}/debug/raft", timeout=1).json()
    except (httpx.TransportError, ValueError):
        return None
    return status


def wait_until_caught_up(cluster: ReplicaSet, index: int) -> None:
    """Block until the restarted replica serves, sees a leader, and has applied the leader's commits."""
    cluster.wait_ready(timeout=REJOIN_DEADLINE_SECONDS)
    leader_status = raft_status(cluster, cluster.leader_index())
    target = int(str(leader_status["commit_index"])) if leader_status else 0
    deadline = time.monotonic() + REJOIN_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        status = raft_status(cluster, index)
        if status and status.get("leader") and int(str(status.get("last_applied") or 0)) >= target:
            return
        time.sleep(0.02)
    raise BenchmarkError(f"{cluster.replicas[index].name} did not catch up after its restart")


def failover_round(cluster: ReplicaSet, *, round_number: int) -> float:
    """Kill the leader, time the first successful create, then bring the victim back."""
    leader = cluster.leader_index()
    survivors = [endpoint_of(replica) for index, replica in enumerate(cluster.replicas) if index != leader]
    started = time.perf_counter()
    cluster.kill(leader)
    seconds = asyncio.run(seconds_until_a_create_succeeds(survivors, started=started,
                                                          prefix=f"failover-{round_number}"))
    cluster.start(leader)
    wait_until_caught_up(cluster, leader)
    return seconds


def bench_failover() -> Outcome:
    """5 rounds of SIGKILL-the-leader; each round's time to the first acknowledged create, and the median."""
    name = "failover"
    with replica_cluster() as cluster:
        runtime = runtime_remark(cluster, leader=cluster.leader_index())
        rounds = [failover_round(cluster, round_number=number) for number in range(1, ROUNDS + 1)]
    figures = [Figure(name, f"round {number}", seconds, "s") for number, seconds in enumerate(rounds, 1)]
    figures.append(Figure(name, "median", median(rounds), "s", 1.0, "at_most",
                          f"{ROUNDS} kills; creates sent every {ATTEMPT_INTERVAL_SECONDS * 1000:.0f} ms"))
    return Outcome(tuple(figures), (runtime,))
