"""The helpers that start real daemons for tests leave none behind, whatever happens to the test run.

Apiserver replicas and daemons run in sessions of their own, so only these helpers can stop them:
a replica set that does not come up must kill what it started, and a test run killed before its
fixtures' cleanup (a timeout, a second Ctrl-C) must take its daemons with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.replicas import ReplicaSet
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
# A test run in miniature: a daemon started through DaemonGroup, its pid printed, then waiting forever.
RUN_WITH_A_DAEMON = """
import sys, threading
from pathlib import Path
from tests.support.daemons import DaemonGroup
group = DaemonGroup(Path(sys.argv[1]))
print(group.start("web", "http.server", ["--bind", "127.0.0.1", "0"]).pid, flush=True)
threading.Event().wait()
"""


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has an empty command line)."""
    try:
        return bool((Path("/proc") / str(pid) / "cmdline").read_bytes())
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until_gone(pids: list[int], *, timeout: float = 10) -> None:
    wait_for(f"processes {pids} to exit", lambda: not any(is_running(pid) for pid in pids), timeout=timeout,
             interval=0.05, describe=lambda: f"still running: {[pid for pid in pids if is_running(pid)]}")


def test_a_replica_set_that_does_not_come_up_leaves_no_replica_running(tmp_path: Path) -> None:
    replicas = ReplicaSet(tmp_path, size=3)
    with socket.socket() as squatter:  # the third replica's HTTP port is taken: it exits at once
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", replicas.replicas[2].http_port))
        squatter.listen()
        started: list[int] = []
        original_start = replicas.start

        def start_and_record(index: int) -> None:
            original_start(index)
            process = replicas.replicas[index].process
            assert process is not None
            started.append(process.pid)

        replicas.start = start_and_record  # type: ignore[method-assign]
        with pytest.raises(AssertionError, match="apiserver-3 not ready"):
            replicas.start_all()
    assert len(started) == 3
    wait_until_gone(started)
    assert replicas.alive() == []


def test_daemons_die_with_a_test_run_that_is_killed(tmp_path: Path) -> None:
    run = subprocess.Popen([sys.executable, "-c", RUN_WITH_A_DAEMON, str(tmp_path)], stdout=subprocess.PIPE,
                           text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert run.stdout is not None
        daemon = int(run.stdout.readline())
        assert is_running(daemon)
    finally:
        run.send_signal(signal.SIGKILL)  # no cleanup of its own runs
        run.wait(10)
    wait_until_gone([daemon])
