"""Create latency through HTTPS + authentication + RBAC, next to plain HTTP measured in the same run.

Issue #12 puts TLS, client-certificate authentication and RBAC on every request; the design's
targets for a create to the leader (p50 ≤ 3 ms, p99 ≤ 15 ms) still hold. So two 3-replica
clusters run side by side: one as `create-latency` measures it (plain HTTP, AlwaysAllow, anonymous)
and one as issue #12 runs it (`bench.secure_cluster`: HTTPS, a client CA, Node,RBAC). Each client
keeps one keep-alive connection to its leader for the whole run, as a real client does, and sends
the same ~1 KB ConfigMaps one at a time:

- over HTTP, anonymous (AlwaysAllow);
- over HTTPS as a non-admin user whose RoleBinding to `edit` RBAC must find and evaluate: the figure
  with the targets;
- over HTTPS as the admin (`system:masters`, which RBAC allows before reading any rule).

On a shared 2-core machine the load drifts during a run, so the three clients take turns in rounds
of 100 creates (the first client changing each round) rather than one after the other: each figure
sees the same machine. Rounds are short enough that no connection idles near uvicorn's 5 s
keep-alive timeout.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from bench.api_store import BenchmarkError
from bench.figures import Figure, Outcome, percentile
from bench.host import endpoint_of, replica_cluster, server_runtime
from bench.secure_cluster import EDITOR_USER, SecureCluster, secure_replica_cluster
from bench.wire import CONFIG_MAP_CREATE, CreateCall, LeanConnection
from tests.support.replicas import ReplicaSet

NAME = "create-latency-tls"
ROUNDS = 10
CREATES_PER_ROUND = 100  # 1,000 measured creates per client, as create-latency
WARMUP_CREATES = 50  # per client, not measured: first RBAC decision, caches, the first Raft appends
TARGETS = {0.5: 3.0, 0.99: 15.0}  # ms, on the RBAC-evaluated path
PERCENTILES = (0.5, 0.9, 0.99)


@dataclass
class Client:
    """One client's persistent connection to a leader, its ConfigMap names and its measured seconds."""

    label: str
    note: str
    connection: LeanConnection
    prefix: str  # every prefix has the same length, so every body is the same size
    sent: int = 0
    seconds: list[float] = field(default_factory=list)
    call: CreateCall = CONFIG_MAP_CREATE  # what a create sends (bench.store_vs_etcd: an etcd transaction)

    def create(self, count: int, *, measured: bool) -> None:
        """`count` creates, one at a time; each round trip is timed from send to the whole answer read."""
        for _ in range(count):
            body = self.call.body(f"{self.prefix}-{self.sent:05d}")
            self.sent += 1
            started = time.perf_counter()
            status, answer = self.connection.post(self.call.path, body)
            elapsed = time.perf_counter() - started
            if not self.call.created(status, answer):
                raise BenchmarkError(f"{self.label}: create answered {status}: {answer[:200]!r}")
            if measured:
                self.seconds.append(elapsed)


def take_turns(clients: Sequence[Client], *, rounds: int, per_round: int, warmup: int) -> None:
    """Warm every client up, then let them create in turns: each round, every client `per_round` creates,
    starting with the next client each round (so no client always follows the same one)."""
    for client in clients:
        client.create(warmup, measured=False)
    for round_number in range(rounds):
        first = round_number % len(clients)
        for client in [*clients[first:], *clients[:first]]:
            client.create(per_round, measured=True)


def comparison_figures(clients: Sequence[Client], *, targeted: str) -> list[Figure]:
    """Each percentile of every client in adjacent rows; targets on the `targeted` client's p50 and p99."""
    figures = []
    for fraction in PERCENTILES:
        for client in clients:
            target = TARGETS.get(fraction) if client.label == targeted else None
            value = percentile([1000 * s for s in client.seconds], fraction)
            figures.append(Figure(NAME, f"p{round(fraction * 100)} {client.label}", value, "ms", target,
                                  "at_most" if target is not None else "none", client.note if fraction == 0.5 else ""))
    return figures


def added_cost_figures(plain: Client, secure: Client) -> list[Figure]:
    """What HTTPS + authentication + RBAC add to a create, at p50 and p99."""
    return [Figure(NAME, f"p{round(fraction * 100)} added by HTTPS+authn+RBAC",
                   1000 * (percentile(secure.seconds, fraction) - percentile(plain.seconds, fraction)), "ms",
                   note=f"({secure.label}) minus ({plain.label})")
            for fraction in (0.5, 0.99)]


def leader_runtime(cluster: ReplicaSet, leader: int) -> str:
    process = cluster.replicas[leader].process
    return server_runtime(process.pid) if process is not None else "an unknown runtime (no process)"


def connect_clients(stack: ExitStack) -> tuple[list[Client], list[str]]:
    """Both clusters started and the three clients connected to their leaders, all closed by `stack`."""
    plain = stack.enter_context(replica_cluster())
    secure: SecureCluster = stack.enter_context(secure_replica_cluster())
    plain_leader = plain.leader_index()
    secure_leader = secure.replicas.leader_index()
    plain_endpoint = endpoint_of(plain.replicas[plain_leader])
    secure_endpoint = endpoint_of(secure.replicas.replicas[secure_leader])
    over_http = stack.enter_context(LeanConnection(plain_endpoint))
    as_editor = stack.enter_context(LeanConnection(secure_endpoint, tls=secure.editor))
    as_admin = stack.enter_context(LeanConnection(secure_endpoint, tls=secure.admin))
    clients = [
        Client("HTTP, AlwaysAllow", "anonymous; as create-latency", over_http, "latency"),
        # the HTTP client's very bodies (names included): each cluster has its own store
        Client("HTTPS + RBAC", f"client certificate of {EDITOR_USER}, RoleBinding to edit", as_editor, "latency"),
        Client("HTTPS, system:masters", "the admin's client certificate: no RBAC rule read", as_admin, "masters"),
    ]
    runtimes = {leader_runtime(plain, plain_leader), leader_runtime(secure.replicas, secure_leader)}
    remarks = [f"{NAME}: uvicorn in both leaders: {' / '.join(sorted(runtimes))}; HTTPS: {as_editor.negotiated()}; "
               "each client on one keep-alive connection to its leader",
               f"{NAME}: {len(clients)} clients in turns, {ROUNDS} rounds of {CREATES_PER_ROUND} ~1 KB ConfigMap "
               f"creates each, after {WARMUP_CREATES} unmeasured"]
    return clients, remarks


def bench_create_latency_tls() -> Outcome:
    """1,000 sequential creates per client: HTTP next to HTTPS + authn + RBAC (and the admin), in turns."""
    with ExitStack() as stack:
        clients, remarks = connect_clients(stack)
        take_turns(clients, rounds=ROUNDS, per_round=CREATES_PER_ROUND, warmup=WARMUP_CREATES)
    plain, editor = clients[0], clients[1]
    figures = comparison_figures(clients, targeted=editor.label) + added_cost_figures(plain, editor)
    return Outcome(tuple(figures), tuple(remarks))
