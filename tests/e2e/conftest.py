"""A real cluster for end-to-end tests: `minik8s up` with Docker nodes, torn down afterwards.

With CI=true a missing Docker engine is a failure, never a skip: `make install` installs and
starts one on a fresh machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def docker_available() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_docker() -> None:
    if docker_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("no Docker engine answers; `make install` should have started one")
    pytest.skip("no Docker engine (run `make install` as root)")


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll until probe() returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.TransportError as error:
            last = error
        if last:
            return last  # type: ignore[no-any-return]
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class Cluster:
    home: Path
    api: httpx.Client

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args, "--home", str(self.home)],
                                capture_output=True, text=True, timeout=120, cwd=ROOT)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = ["kubectl", "--kubeconfig", str(self.home / "kubeconfig"), "--cache-dir",
                str(self.home / "kubectl-cache"), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, input=stdin)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        response = self.api.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        return response.json() if response.status_code == 200 else None

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def create_pod(self, body: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
        return self.create(f"/api/v1/namespaces/{namespace}/pods", body)

    def delete_pod(self, name: str, namespace: str = "default", grace: int | None = None) -> None:
        params = {} if grace is None else {"gracePeriodSeconds": str(grace)}
        self.api.delete(f"/api/v1/namespaces/{namespace}/pods/{name}", params=params)

    def wait_pod(self, name: str, condition: Callable[[dict[str, Any]], bool], *, what: str,
                 timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            pod = self.pod(name)
            return pod if pod is not None and condition(pod) else None

        return wait_for(f"pod {name} to be {what}", probe, timeout=timeout)

    def wait_gone(self, name: str, *, timeout: float = 30.0) -> None:
        wait_for(f"pod {name} to be deleted", lambda: self.pod(name) is None, timeout=timeout)

    def events_for(self, name: str) -> list[dict[str, Any]]:
        listed = self.api.get("/api/v1/namespaces/default/events",
                              params={"fieldSelector": f"involvedObject.name={name}"}).json()
        return listed["items"]  # type: ignore[no-any-return]


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status["name"] == name:
            return status  # type: ignore[no-any-return]
    return {}


def busybox_pod(name: str, command: str, *, node: str = "node-1", grace: int = 2, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent",
                 "command": ["sh", "-c", command]}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"test": "e2e"}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": grace, "containers": [container], **spec}}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_docker()
    home = tmp_path_factory.mktemp("e2e-cluster")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "minik8s.cli.main", "up", "--home", str(home), "--replicas", "1", "--nodes",
             "2", "--timeout", "60", "--daemon-arg", "node=--crashloop-backoff-base=1",
             "--daemon-arg", "node=--sync-frequency=2", "--daemon-arg", "node=--node-status-update-frequency=2"],
            capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert result.returncode == 0, result.stderr + result.stdout
        layout = json.loads((home / "cluster.json").read_text())
        with httpx.Client(base_url=f"http://127.0.0.1:{layout['apiservers'][0]['http_port']}", timeout=10) as api:
            yield Cluster(home, api)
    finally:
        subprocess.run([sys.executable, "-m", "minik8s.cli.main", "down", "--purge", "--home", str(home)],
                       capture_output=True, timeout=120, cwd=ROOT)


@pytest.fixture
def cleanup_pods(cluster: Cluster) -> Iterator[list[str]]:
    """Names of pods a test made; removed (at once) afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        cluster.delete_pod(name, grace=0)
    for name in names:
        wait_for(f"pod {name} to be cleaned up", lambda n=name: cluster.pod(n) is None, timeout=30)  # type: ignore[misc]
