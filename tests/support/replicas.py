"""Real apiserver replica processes for integration tests: start, kill -9, restart, find the leader.

Each replica runs in a session of its own (so a kill -9 reaches it and nothing else), which also
means no signal of the test run's reaches it: a run killed by a timeout or a second Ctrl-C never
gets to its fixtures' cleanup. So every process started here also dies with the test process
(`die_with_parent`), and `start_all` kills what it started when the replicas do not come up.

Replicas serve plain HTTP with AlwaysAllow by default; a `ReplicaSecurity` starts them with more flags
(HTTPS, a client CA, an authorization mode) and says how the harness itself reaches them then. Every
replica shares one cluster secret (`<root>/secret`, made by the first to start): an apiserver refuses
to start without one. `flags` are passed to every replica as they are, `env` is added to their
environment. All replicas listen on 127.0.0.1 unless `hosts` gives each its own loopback address
(the fault suite does, so a firewall rule can cut one replica off by address).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_ports
from tests.support.waiting import wait_for

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True)  # resolved here: the child of a fork should not load anything
KILL_WAIT_SECONDS = 10.0


def die_with_parent() -> None:
    """`preexec_fn` of every test daemon: SIGKILL it when the process that started it dies.

    The kernel ties this to the starting *thread*: start daemons from the main thread (fixtures and
    tests do), not from a worker thread that ends before them.
    """
    parent = os.getppid()
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the process's session (it leads its own), unless it is gone already."""
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def reap(process: subprocess.Popen[bytes] | None) -> None:
    """Wait (bounded) for a killed process, so no zombie is left; a stuck one is reported, not awaited."""
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(KILL_WAIT_SECONDS)


@dataclass(frozen=True)
class ReplicaSecurity:
    """HTTPS replicas: their extra apiserver flags (TLS files, client CA, authorization mode), and the
    TLS context of an identity that may read what the harness polls (readiness, namespaces, Raft role)."""

    flags: tuple[str, ...]
    client: ssl.SSLContext


@dataclass
class Replica:
    name: str
    http_port: int
    raft_port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    scheme: str = "http"
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.http_port}"

    @property
    def raft_address(self) -> str:
        return f"{self.host}:{self.raft_port}"


@dataclass
class ReplicaSet:
    root: Path
    size: int = 3
    watch_history: int = 10_000
    security: ReplicaSecurity | None = None
    flags: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # one loopback address per replica; empty: all on 127.0.0.1
    env: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = free_ports(self.size * 2)
        scheme = "https" if self.security is not None else "http"
        hosts = self.hosts or ("127.0.0.1",) * self.size
        for index in range(self.size):
            name = f"apiserver-{index + 1}"
            self.replicas.append(Replica(name, ports[2 * index], ports[2 * index + 1], self.root / name,
                                         self.root / f"{name}.log", scheme=scheme, host=hosts[index]))

    def _get(self, url: str, *, timeout: float) -> httpx.Response:
        """A GET by the harness: over HTTPS as the security's identity, else plain."""
        verify: ssl.SSLContext | bool = self.security.client if self.security is not None else True
        return httpx.get(url, timeout=timeout, verify=verify)

    def start(self, index: int) -> None:
        replica = self.replicas[index]
        peers = ",".join(r.raft_address for r in self.replicas if r is not replica)
        argv = [sys.executable, "-m", "minik8s.apiserver.main", "--name", replica.name,
                "--listen", f"{replica.host}:{replica.http_port}", "--raft-address", replica.raft_address,
                "--peers", peers, "--data-dir", str(replica.data_dir), "--secret-file", str(self.root / "secret"),
                "--watch-history", str(self.watch_history), "--log-level", "warning",
                *(self.security.flags if self.security is not None else ()), *self.flags]
        with replica.log_path.open("ab") as log:
            replica.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                               preexec_fn=die_with_parent, env={**os.environ, **self.env})

    def start_all(self) -> None:
        """Start every replica and wait until all serve; on any failure none is left running."""
        try:
            for index in range(self.size):
                self.start(index)
            self.wait_ready()
        except BaseException:
            self.stop_all()
            raise

    def kill(self, index: int) -> None:
        process = self.replicas[index].process
        kill_group(process)
        reap(process)
        self.replicas[index].process = None

    def pause(self, index: int) -> None:
        """SIGSTOP the replica: it holds its sockets but answers nothing until `resume`."""
        process = self.replicas[index].process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGSTOP)

    def resume(self, index: int) -> None:
        process = self.replicas[index].process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)

    def stop_all(self) -> None:
        """SIGKILL every replica first, then reap them: one slow to die does not spare the others."""
        processes = [replica.process for replica in self.replicas]
        for process in processes:
            kill_group(process)
        for replica, process in zip(self.replicas, processes, strict=True):
            reap(process)
            replica.process = None

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.process is not None and r.process.poll() is None]

    def wait_ready(self, timeout: float = 30) -> None:
        """Every started replica serves; one that exited (e.g. its port was taken) is a failure."""
        deadline = time.monotonic() + timeout
        for replica in (r for r in self.replicas if r.process is not None):
            while True:
                try:
                    if self._get(f"{replica.url}/readyz", timeout=1).status_code == 200:
                        namespaces = self._get(f"{replica.url}/api/v1/namespaces/kube-node-lease", timeout=2)
                        if namespaces.status_code == 200:
                            break
                except httpx.TransportError:
                    pass
                exited = replica.process is not None and replica.process.poll() is not None
                if exited or time.monotonic() > deadline:
                    raise AssertionError(f"{replica.name} not ready:\n{replica.log_path.read_text()[-3000:]}")
                time.sleep(0.05)

    def leader_index(self, timeout: float = 10) -> int:
        def leader() -> int | None:
            for index, replica in enumerate(self.replicas):
                if replica not in self.alive():
                    continue
                try:
                    if self._get(f"{replica.url}/debug/raft", timeout=1).json()["role"] == "leader":
                        return index
                except (httpx.TransportError, ValueError):
                    continue
            return None
        found = wait_for("a Raft leader", lambda: (index,) if (index := leader()) is not None else None,
                         timeout=timeout, interval=0.05)
        return found[0]
