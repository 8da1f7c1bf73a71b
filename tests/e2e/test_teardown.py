"""`minik8s down` leaves the host as it found it: no MINIK8S rule, route, network or pod container.

This module brings up a small cluster of its own, so it must never run beside the session cluster
(both would own the host's MINIK8S chains, the proxy lock and the names node-1…): conftest.py runs
it before every other e2e test, and the test refuses to start while another proxy holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, Cluster, busybox_pod, is_ready, require_docker, wait_for

pytestmark = pytest.mark.docker

PROXY_LOCK = Path("/run/minik8s-proxy.lock")


def minik8s(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def assert_no_other_proxy() -> None:
    if not PROXY_LOCK.exists():
        return
    with PROXY_LOCK.open("rb") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.fail("another minik8s proxy runs on this host; this test needs the host to itself")


def host_state() -> dict[str, list[str]]:
    """What of minik8s is on the host: iptables lines, the service route, networks, pod containers."""
    def lines(*argv: str) -> list[str]:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()

    return {"rules": [line for line in lines("iptables-save") if "MINIK8S" in line],
            "routes": [line for line in lines("ip", "route", "show", "table", "local") if "10.96.0.0/16" in line],
            "networks": [name for name in lines("docker", "network", "ls", "--format", "{{.Name}}")
                         if name.startswith("minik8s-")],
            "containers": lines("docker", "ps", "-aq", "--filter", "label=minik8s.io/managed=true")}


def test_down_removes_every_rule_route_network_and_container(tmp_path: Path) -> None:
    require_docker()
    assert_no_other_proxy()
    home = tmp_path / "small"
    result = minik8s("up", "--home", str(home), "--replicas", "1", "--nodes", "1", "--timeout", "60")
    try:
        assert result.returncode == 0, result.stderr + result.stdout
        layout = json.loads((home / "cluster.json").read_text())
        with httpx.Client(base_url=f"http://127.0.0.1:{layout['apiservers'][0]['http_port']}", timeout=10) as api:
            cluster = Cluster(home, api)
            pod = busybox_pod("web", "exec httpd -f -p 8080 -h /", node="node-1", grace=0)
            pod["metadata"]["labels"] = {"app": "web"}
            cluster.create_pod(pod)
            cluster.create("/api/v1/namespaces/default/services", {"metadata": {"name": "web"}, "spec": {
                "type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
            pod_ip = cluster.wait_pod("web", is_ready, what="Ready")["status"]["podIP"]
            wait_for("the proxy's rules for the service", lambda: any(
                f"--to-destination {pod_ip}:8080" in line for line in host_state()["rules"]), timeout=30)
        during = host_state()
        assert during["routes"] and during["networks"] == ["minik8s-node-1"] and during["containers"]
    finally:
        down = minik8s("down", "--purge", "--home", str(home))
    assert down.returncode == 0, down.stderr
    assert host_state() == {"rules": [], "routes": [], "networks": [], "containers": []}
    assert not home.exists()
