"""Three real apiserver replicas the fault suite can kill, pause, cut off and starve of disk, and always restore.

Each replica has its own loopback address (127.0.0.11, .12, .13) for HTTP and Raft, so `network.py` can
partition it by address. The replicas may get a small tmpfs each as data directory (the full-disk fault).
A replica found dead when faults are healed (one that died of its fault) is started again, and that is
kept in `events` for the table.
`close` undoes everything whatever happened: processes killed (paused ones too), the suite's iptables
chain removed, the tmpfs unmounted. Faults are injected from the main thread (a replica restarted from a
worker thread would die with that thread: replicas.py's `die_with_parent`).
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

from tests.faults import disk
from tests.faults.network import Firewall
from tests.support.replicas import ReplicaSet

HOSTS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
WATCH_HISTORY = 1_000_000  # every event of a run stays resumable: a 410 then is a finding, not the history's size
READY_SECONDS = 60.0


class FaultCluster:
    def __init__(self, root: Path, *, env: dict[str, str] | None = None, tmpfs: bool = False,
                 tmpfs_bytes: int = 64 * 1024 * 1024) -> None:
        self.replicas = ReplicaSet(root, hosts=HOSTS, watch_history=WATCH_HISTORY, env=dict(env or {}))
        self.firewall = Firewall()
        self.tmpfs = tmpfs
        self.events: list[str] = []
        self.tmpfs_bytes = tmpfs_bytes
        self.generations = [0] * len(HOSTS)
        self.paused: set[int] = set()
        self.isolated: set[int] = set()
        self.rng = random.Random(14)

    @property
    def urls(self) -> list[str]:
        return [replica.url for replica in self.replicas.replicas]

    def name(self, index: int) -> str:
        return self.replicas.replicas[index].name

    def generation(self, index: int) -> int:
        return self.generations[index]

    def start(self) -> None:
        if self.tmpfs:
            for replica in self.replicas.replicas:
                disk.mount_tmpfs(replica.data_dir, self.tmpfs_bytes)
        for index in range(len(HOSTS)):
            self.generations[index] += 1
        self.replicas.start_all()

    def leader(self) -> int:
        return self.replicas.leader_index(timeout=READY_SECONDS)

    def follower(self) -> int:
        """A replica that follows and has no fault yet (one at random)."""
        leader = self.leader()
        healthy = [index for index, replica in enumerate(self.replicas.replicas) if index != leader
                   and replica.process is not None and index not in self.paused | self.isolated]
        return self.rng.choice(healthy)

    def kill(self, index: int) -> None:
        self.paused.discard(index)
        self.replicas.kill(index)

    def restart(self, index: int) -> None:
        if self.replicas.replicas[index].process is not None:
            return
        self.generations[index] += 1
        self.replicas.start(index)

    def restart_dead(self) -> list[str]:
        """Start every replica that is not running (killed, or died of a fault); their names."""
        dead = [index for index, replica in enumerate(self.replicas.replicas)
                if replica.process is None or replica.process.poll() is not None]
        for index in dead:
            process = self.replicas.replicas[index].process
            if process is not None:  # not killed by the suite: it died of its fault
                self.events.append(f"{self.name(index)} died ({exit_status(process.returncode)}); started again")
            self.replicas.replicas[index].process = None
            self.restart(index)
        return [self.name(index) for index in dead]

    def pause(self, index: int) -> None:
        self.paused.add(index)
        self.replicas.pause(index)

    def resume(self, index: int) -> None:
        self.paused.discard(index)
        self.replicas.resume(index)

    def isolate(self, index: int) -> None:
        others = [host for position, host in enumerate(HOSTS) if position != index]
        self.firewall.isolate(HOSTS[index], others)
        self.isolated.add(index)

    def heal_network(self) -> None:
        self.firewall.heal()
        self.isolated.clear()

    def data_dir(self, index: int) -> Path:
        return self.replicas.replicas[index].data_dir

    def wait_ready(self) -> None:
        self.replicas.wait_ready(timeout=READY_SECONDS)

    def close(self) -> None:
        """Kill every replica, remove the chain, unmount: each step runs even when one before failed."""
        try:
            self.replicas.stop_all()  # SIGKILL reaches paused processes too
            self.paused.clear()
        finally:
            try:
                self.firewall.remove()
            finally:
                if self.tmpfs:
                    for index in range(len(HOSTS)):
                        disk.free(self.data_dir(index))
                        disk.unmount(self.data_dir(index))


def exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
