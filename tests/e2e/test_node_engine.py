"""The node and its Docker engine: an engine that does not answer, and one that restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Cluster, busybox_pod, container_status, is_ready
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def engineless_agent(cluster: Cluster, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A ninth node whose Docker engine address leads nowhere (with a node identity of its own)."""
    environment = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    kubeconfig = tmp_path / "node-9.conf"
    cluster.cli("kubeconfig", "--user", "system:node:node-9", "--group", "system:nodes", "--output", str(kubeconfig))
    argv = [sys.executable, "-m", "minik8s.node.main", "--node-name", "node-9", "--kubeconfig", str(kubeconfig),
            "--pod-cidr", "10.244.9.0/24", "--port", "10250", "--data-dir", str(tmp_path / "node-9"),
            "--node-status-update-frequency", "1"]
    with (tmp_path / "node-9.log").open("wb") as log:
        agent = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                 start_new_session=True)
    try:
        yield agent
    finally:
        os.killpg(agent.pid, signal.SIGKILL)
        agent.wait(10)
        cluster.api.delete("/api/v1/nodes/node-9")


def test_an_unreachable_engine_makes_the_node_not_ready_with_a_reason(
        cluster: Cluster, engineless_agent: subprocess.Popen[bytes]) -> None:
    def ready_condition() -> dict[str, str] | None:
        response = cluster.api.get("/api/v1/nodes/node-9")
        if response.status_code != 200:
            return None
        conditions = (response.json().get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), None)

    condition = wait_for("node-9 to report its Ready condition", ready_condition, timeout=20)
    assert condition["status"] == "False" and "container runtime is down" in condition["message"]
    assert engineless_agent.poll() is None  # the agent keeps retrying, it does not exit


def test_pods_come_back_after_the_engine_restarts(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("survivor")
    cluster.create_pod(busybox_pod("survivor", "exec sleep 3600"))
    before = cluster.wait_pod("survivor", is_ready, what="Ready")
    try:
        restart = subprocess.run(["bash", "-c", "kill $(cat /var/run/docker.pid) && "
                                  "while [ -e /var/run/docker.pid ]; do sleep 0.1; done && "
                                  "bash deploy/setup/docker.sh"], cwd=ROOT, capture_output=True, text=True,
                                 timeout=120)
        assert restart.returncode == 0, restart.stderr
        after = cluster.wait_pod(
            "survivor", lambda p: is_ready(p) and container_status(p, "main").get("containerID")
            != container_status(before, "main")["containerID"], what="Ready again in a new container", timeout=60)
        assert container_status(after, "main")["restartCount"] >= 1
    finally:
        cluster.wait_nodes_healthy()  # both nodes went NotReady with the engine, and were tainted
