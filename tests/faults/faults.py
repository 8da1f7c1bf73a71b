"""The store-level faults and the scenarios that combine them.

A fault is a name and an `inject` step that does it to a running cluster and returns the step that
undoes it (`Heal`). The runner (runner.py) knows nothing else about faults, so faults of the Kubernetes
level (a node agent killed, the Docker engine restarted, ...) plug in the same way with a cluster of
their own. A scenario names the faults it injects, one per cycle in turn, and how its cluster starts
(an environment, a tmpfs data directory).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tests.faults import disk
from tests.faults.cluster import HOSTS, FaultCluster

ClusterT = TypeVar("ClusterT")
Heal = Callable[[], None]
SLOW_DISK_FAILPOINT = "journal-sync-delay"
SLOW_DISK_ENV = {"MINIK8S_FAILPOINTS": f"{SLOW_DISK_FAILPOINT}=0.2"}


@dataclass(frozen=True)
class Fault(Generic[ClusterT]):
    name: str
    inject: Callable[[ClusterT], Heal]


def kill_leader(cluster: FaultCluster) -> Heal:
    index = cluster.leader()
    cluster.kill(index)
    return lambda: cluster.restart(index)


def kill_follower(cluster: FaultCluster) -> Heal:
    index = cluster.follower()
    cluster.kill(index)
    return lambda: cluster.restart(index)


def pause_leader(cluster: FaultCluster) -> Heal:
    index = cluster.leader()
    cluster.pause(index)
    return lambda: cluster.resume(index)


def partition_follower(cluster: FaultCluster) -> Heal:
    cluster.isolate(cluster.follower())
    return cluster.heal_network


def partition_leader(cluster: FaultCluster) -> Heal:
    cluster.isolate(cluster.leader())
    return cluster.heal_network


def kill_all(cluster: FaultCluster) -> Heal:
    for index in range(len(HOSTS)):
        cluster.kill(index)

    def heal() -> None:
        cluster.restart_dead()
    return heal


def fill_disk(cluster: FaultCluster, index: int) -> Heal:
    """Fill a replica's disk (its tmpfs); when space returns, a replica that died of it is started again."""
    assert cluster.tmpfs
    folder = cluster.data_dir(index)
    disk.fill(folder)

    def heal() -> None:
        disk.free(folder)
        cluster.restart_dead()
    return heal


def combined(first: Fault[FaultCluster], second: Fault[FaultCluster]) -> Fault[FaultCluster]:
    """Both faults at once (the second injected while the first holds), undone in reverse order."""
    def inject(cluster: FaultCluster) -> Heal:
        heals = [first.inject(cluster), second.inject(cluster)]

        def heal() -> None:
            for step in reversed(heals):
                step()
        return heal
    return Fault(f"{first.name} + {second.name}", inject)


KILL_LEADER = Fault("SIGKILL leader", kill_leader)
KILL_FOLLOWER = Fault("SIGKILL follower", kill_follower)
PAUSE_LEADER = Fault("SIGSTOP leader", pause_leader)
PARTITION_FOLLOWER = Fault("partition follower", partition_follower)
PARTITION_LEADER = Fault("partition leader", partition_leader)
KILL_ALL = Fault("SIGKILL all", kill_all)
FILL_LEADER_DISK: Fault[FaultCluster] = Fault("leader's disk full", lambda cluster: fill_disk(cluster, cluster.leader()))
FILL_FOLLOWER_DISK: Fault[FaultCluster] = Fault("follower's disk full", lambda cluster: fill_disk(cluster, cluster.follower()))
SINGLE = (KILL_LEADER, KILL_FOLLOWER, PAUSE_LEADER, PARTITION_FOLLOWER, PARTITION_LEADER)


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[Fault[FaultCluster], ...]
    env: dict[str, str] = field(default_factory=dict)
    tmpfs: bool = False
    needs: tuple[str, ...] = ()  # iptables | tmpfs | failpoint:<name>

    def fault_for(self, cycle: int) -> Fault[FaultCluster]:
        return self.faults[cycle % len(self.faults)]


def combinations(seed: int) -> tuple[Fault[FaultCluster], ...]:
    """Pairs of single faults, in a seeded random order: each pair leaves at most one replica working."""
    pairs = [combined(first, second) for first in SINGLE for second in SINGLE
             if first is not second and not (first.name.endswith("leader") and second.name.endswith("leader"))]
    random.Random(seed).shuffle(pairs)
    return tuple(pairs)


SCENARIOS = (
    Scenario("kill-leader", (KILL_LEADER,)),
    Scenario("kill-follower", (KILL_FOLLOWER,)),
    Scenario("pause-leader", (PAUSE_LEADER,)),
    Scenario("partition-follower", (PARTITION_FOLLOWER,), needs=("iptables",)),
    Scenario("partition-leader", (PARTITION_LEADER,), needs=("iptables",)),
    Scenario("kill-all", (KILL_ALL,)),
    Scenario("disk-full", (FILL_LEADER_DISK, FILL_FOLLOWER_DISK), tmpfs=True, needs=("tmpfs",)),
    Scenario("slow-disk", (KILL_LEADER, KILL_FOLLOWER), env=SLOW_DISK_ENV),
    Scenario("combined", combinations(14), needs=("iptables",)),
)
