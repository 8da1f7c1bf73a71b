"""Every daemon stops the same way: SIGTERM or SIGINT is a graceful stop with exit code 0, a port
already in use is exit code 1 with one line saying why, and `--log-format json` covers every line.

Real processes on loopback: one apiserver replica, a scheduler and a controller-manager.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemons import SimulatedCluster, simulated_cluster
from tests.support.ports import free_ports

pytestmark = pytest.mark.timeout(120)

STOP_SECONDS = 15


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    with simulated_cluster(tmp_path) as running:
        yield running


def json_lines(text: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("module", "signum"), [
    ("minik8s.scheduler.main", signal.SIGTERM),
    ("minik8s.controllers.main", signal.SIGINT),
])
def test_a_stop_signal_stops_a_daemon_with_exit_code_0(cluster: SimulatedCluster, module: str,
                                                        signum: signal.Signals) -> None:
    daemon = cluster.daemons.start("daemon", module, ["--server", cluster.servers[0], "--leader-elect", "false",
                                                      "--log-format", "json"])
    assert daemon.process is not None
    with pytest.raises(subprocess.TimeoutExpired):
        daemon.process.wait(2)  # it serves
    daemon.process.send_signal(signum)
    assert daemon.process.wait(STOP_SECONDS) == 0, daemon.log_text()
    lines = json_lines(daemon.log_text())
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    assert any(f"{signum.name} received, stopping" in line["message"] for line in lines)


def test_an_apiserver_stops_on_sigterm_and_a_taken_port_is_exit_code_1(cluster: SimulatedCluster,
                                                                     tmp_path: Path) -> None:
    replica = cluster.apiservers.replicas[0]
    second = subprocess.run(
        [sys.executable, "-m", "minik8s.apiserver.main", "--name", "apiserver-2", "--listen",
         f"127.0.0.1:{replica.http_port}", "--raft-address", f"127.0.0.1:{free_ports(1)[0]}", "--data-dir", str(tmp_path / "second"),
         "--secret-file", str(tmp_path / "secret"), "--log-format", "json"], capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 1, second.stderr
    errors = [line for line in json_lines(second.stderr) if line["level"] == "ERROR"]
    assert errors[-1]["message"] == f"apiserver-2: could not listen on 127.0.0.1:{replica.http_port}"
    assert not any("exception" in line for line in errors)

    assert replica.process is not None
    replica.process.send_signal(signal.SIGTERM)
    assert replica.process.wait(STOP_SECONDS) == 0, replica.log_path.read_text()[-2000:]
