"""`minik8s down` cleans the host through the daemons' own `--cleanup`: how it reads their answers.

The cleanups themselves touch Docker and iptables; here each is a stand-in process that prints
what a node's cleanup prints (how many containers went) or fails the way a daemon does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minik8s.cli import host_cleanup


def stand_in(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_node_cleanups_run_for_every_node_and_their_counts_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, ...]] = []
    counts = {"node-1": 2, "node-2": 3}

    def start(module: str, *flags: str) -> subprocess.Popen[str]:
        started.append((module, *flags))
        return stand_in(f"print({counts[flags[1]]})")

    monkeypatch.setattr(host_cleanup, "_start_cleanup", start)
    warnings: list[str] = []
    nodes = {"node-1": Path("/home/data/node-1"), "node-2": Path("/home/data/node-2")}
    assert host_cleanup.remove_node_resources(nodes, report=warnings.append) == 5
    assert started == [("minik8s.node.main", "--node-name", "node-1", "--data-dir", "/home/data/node-1"),
                       ("minik8s.node.main", "--node-name", "node-2", "--data-dir", "/home/data/node-2")]
    assert warnings == []


def test_a_failed_cleanup_is_one_warning_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = "import sys; print('node node-1: docker is down', file=sys.stderr); sys.exit(1)"
    monkeypatch.setattr(host_cleanup, "_start_cleanup", lambda module, *flags: stand_in(failing))
    warnings: list[str] = []
    assert host_cleanup.remove_node_resources({"node-1": Path("/d")}, report=warnings.append) == 0
    assert warnings == ["could not remove the containers and network of node-1: node node-1: docker is down"]
    assert host_cleanup.remove_proxy_rules(report=warnings.append) is False
    assert warnings[-1] == "could not remove the proxy's rules: node node-1: docker is down"


def test_a_cleanup_that_hangs_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_cleanup, "CLEANUP_TIMEOUT", 0.2)
    monkeypatch.setattr(host_cleanup, "_start_cleanup", lambda module, *flags: stand_in("import time; time.sleep(30)"))
    warnings: list[str] = []
    assert host_cleanup.remove_proxy_rules(report=warnings.append) is False
    assert warnings == ["could not remove the proxy's rules: no answer within 0 s"]
