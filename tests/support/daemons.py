"""Real scheduler, controller-manager and simulated-node processes for integration tests and benchmarks.

The HA tests must kill a daemon with SIGKILL, as a crash would, and watch another process take
over, so each daemon runs as its own `python -m ...` process in its own session with its log in a
file the test can read afterwards. `DaemonGroup` owns the processes of one test and kills every
one of them on `stop_all`, whatever happened, and each dies with the test process if the run is
killed before that; `tests.support.replicas.ReplicaSet` does the same for apiserver replicas.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.replicas import ReplicaSet, die_with_parent, kill_group, reap

# Short Lease timings so a standby takes over within ~2.5 s of the leader's death.
SHORT_LEASE_FLAGS: tuple[str, ...] = ("--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline",
                                      "1.5s", "--leader-elect-retry-period", "0.5s")


@dataclass
class Daemon:
    """One daemon process: how it is started, where it logs, and the process while it runs."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class DaemonGroup:
    """The daemons of one test or benchmark, each logging to `<root>/<name>.log`."""

    root: Path
    daemons: dict[str, Daemon] = field(default_factory=dict)

    def start(self, name: str, module: str, arguments: Sequence[str]) -> Daemon:
        """Start `python -m module arguments...` as daemon `name` (a name is used once)."""
        if name in self.daemons:
            raise ValueError(f"daemon {name} was started already")
        daemon = Daemon(name, [sys.executable, "-m", module, *arguments], self.root / f"{name}.log")
        with daemon.log_path.open("ab") as log:
            daemon.process = subprocess.Popen(daemon.argv, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True, preexec_fn=die_with_parent)
        self.daemons[name] = daemon
        return daemon

    def kill(self, name: str) -> None:
        """SIGKILL the daemon's whole session, as a crash would, and reap it."""
        process = self.daemons[name].process
        kill_group(process)
        reap(process)

    def stop_all(self) -> None:
        """SIGKILL every daemon first, then reap them: one slow to die does not spare the others."""
        for daemon in self.daemons.values():
            kill_group(daemon.process)
        for daemon in self.daemons.values():
            reap(daemon.process)

    def describe(self, *, tail: int = 2000) -> str:
        """The end of every daemon's log, for an assertion message."""
        return "\n".join(f"--- {daemon.name} (alive: {daemon.alive}) ---\n{daemon.log_text()[-tail:]}"
                         for daemon in self.daemons.values())


def scheduler_arguments(servers: Sequence[str], *, identity: str = "", leader_elect: bool = True,
                        log_level: str = "info") -> list[str]:
    """Arguments of `python -m minik8s.scheduler.main`: short Lease timings when electing."""
    election = [*SHORT_LEASE_FLAGS, "--identity", identity] if leader_elect else ["--leader-elect", "false"]
    return ["--server", ",".join(servers), *election, "--log-level", log_level]


def controller_manager_arguments(servers: Sequence[str], *, identity: str = "", leader_elect: bool = True,
                                 log_level: str = "info") -> list[str]:
    """Arguments of `python -m minik8s.controllers.main`: short Lease timings when electing."""
    election = [*SHORT_LEASE_FLAGS, "--identity", identity] if leader_elect else ["--leader-elect", "false"]
    return ["--server", ",".join(servers), *election, "--log-level", log_level]


def simulated_nodes_arguments(servers: Sequence[str], *, nodes: int, prefix: str, data_dir: Path,
                              status_interval: float = 10.0, zones: Sequence[str] = ()) -> list[str]:
    """Arguments of `python -m minik8s.node.fake.simulated_nodes`: `nodes` agents over the fake runtime."""
    return ["--server", ",".join(servers), "--nodes", str(nodes), "--prefix", prefix,
            "--data-dir", str(data_dir), "--status-interval", str(status_interval), "--log-level", "warning",
            *(["--zones", ",".join(zones)] if zones else [])]


@dataclass
class SimulatedCluster:
    """Apiserver replicas plus daemons, all real processes, in one throw-away directory."""

    root: Path
    apiservers: ReplicaSet
    daemons: DaemonGroup

    @property
    def servers(self) -> list[str]:
        return [replica.url for replica in self.apiservers.replicas]

    def start_nodes(self, count: int, *, prefix: str = "sim-", zones: Sequence[str] = ()) -> Daemon:
        """`count` simulated nodes (real agents, fake runtime) in one process named `nodes`, in `zones` in turn."""
        return self.daemons.start("nodes", "minik8s.node.fake.simulated_nodes", simulated_nodes_arguments(
            self.servers, nodes=count, prefix=prefix, data_dir=self.root / "nodes", zones=zones))

    def start_scheduler(self, name: str, *, leader_elect: bool = True) -> Daemon:
        return self.daemons.start(name, "minik8s.scheduler.main",
                                  scheduler_arguments(self.servers, identity=name, leader_elect=leader_elect))

    def start_controller_manager(self, name: str, *, leader_elect: bool = True) -> Daemon:
        return self.daemons.start(name, "minik8s.controllers.main", controller_manager_arguments(
            self.servers, identity=name, leader_elect=leader_elect))


@contextmanager
def simulated_cluster(root: Path, *, apiservers: int = 1) -> Iterator[SimulatedCluster]:
    """Ready apiserver replicas in `root`; every process started through the cluster dies on exit."""
    cluster = SimulatedCluster(root, ReplicaSet(root, size=apiservers), DaemonGroup(root))
    try:
        cluster.apiservers.start_all()
        yield cluster
    finally:
        cluster.daemons.stop_all()
        cluster.apiservers.stop_all()
