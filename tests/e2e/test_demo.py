"""`make demo`'s scenario, then `minik8s down` leaves the host as it found it.

The demo (deploy/demo.sh) is where a new user meets minik8s, so its whole run is a test: the full
default cluster (3 replicas, 2 Docker nodes, proxy, DNS), the example app applied with the real
kubectl, traffic through the NodePort answered by different pods, and a rollout of v2 under traffic
with no failed request. Then `minik8s down --purge` must leave no MINIK8S rule, service route,
network or pod container behind.

This module brings up a cluster of its own, so it must never run beside the session cluster (both
would own the host's MINIK8S chains, the proxy lock and the names node-1…): conftest.py runs it
before every other e2e test, and the test refuses to start while another proxy holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.support.requirements import require_docker

pytestmark = pytest.mark.docker

PROXY_LOCK = Path("/run/minik8s-proxy.lock")
DEMO_TIMEOUT_SECONDS = 420


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


def answers(output: str, version: str) -> list[str]:
    """The pod names that answered the demo's calls with `version` (lines "v1 web-…")."""
    return re.findall(rf"^{version} (web-[a-z0-9-]+)$", output, flags=re.MULTILINE)


def test_demo_scenario_then_down_leaves_nothing_behind(tmp_path: Path) -> None:
    require_docker()
    assert_no_other_proxy()
    home = tmp_path / "demo"
    environment = {**os.environ, "MINIK8S_HOME": str(home), "PATH": f"{Path(sys.executable).parent}:"
                   f"{os.environ['PATH']}"}
    try:
        demo = subprocess.run(["bash", "deploy/demo.sh"], capture_output=True, text=True, cwd=ROOT, env=environment,
                              timeout=DEMO_TIMEOUT_SECONDS)
        output = demo.stdout
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert output.count('deployment "web" successfully rolled out') == 2, output
        wide = output[output.index("==> Where the pods run"):output.index("==> Calling the Service")]
        assert "node-1" in wide and "node-2" in wide, wide  # the 3 replicas are spread over both nodes
        assert "FAILED" not in output
        assert len(set(answers(output, "v1"))) >= 2, output  # different pods answer through the Service
        assert re.search(r"requests during the rollout: \d+, failed: 0$", output, flags=re.MULTILINE), output
        assert len(answers(output, "v2")) == 6, output  # after the rollout every answer is from v2
        during = host_state()
        assert during["routes"] and during["networks"] == ["minik8s-node-1", "minik8s-node-2"]
        assert during["containers"]
    finally:
        down = minik8s("down", "--purge", "--home", str(home))
    assert down.returncode == 0, down.stderr
    assert host_state() == {"rules": [], "routes": [], "networks": [], "containers": []}, down.stderr
    assert not home.exists()
