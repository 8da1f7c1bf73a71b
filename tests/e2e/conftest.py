"""A real cluster for end-to-end tests: `minik8s up` with Docker nodes, torn down afterwards.

With CI=true a missing Docker engine is a failure, never a skip: `make install` installs and
starts one on a fresh machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from minik8s.client.kubeconfig import load_kubeconfig
from minik8s.client.tls import ssl_context_for
from tests.support import builders
from tests.support.requirements import require_docker
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
WEB_SERVER = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -vv -p 8080 -h /www"
TICKER = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"
T = TypeVar("T")
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
# Short intervals so node-failure tests finish in seconds: a node silent for 4 s is Unknown, its pods
# are evicted 2 s later; agents renew their Lease every second so a busy machine does not trip that;
# the proxy's full resync (which repairs chains flushed by hand) runs every 3 s.
FAST_FAILURE_FLAGS = ("--node-monitor-grace-period", "4s", "--default-not-ready-toleration-seconds", "2",
                      "--default-unreachable-toleration-seconds", "2", "--daemon-arg", "node=--lease-renew-interval=1",
                      "--daemon-arg", "proxy=--sync-period=3")
# A short watch window (the default keeps 10,000 events) so a test can push a resourceVersion out of
# it with ~1,000 writes; the daemons' informers re-list on 410 as they must anyway.
WATCH_HISTORY = 1000
# Modules with a cluster of their own, which must not run beside the session cluster (both would own
# the host's MINIK8S chains, the proxy lock and the node names): they run before any other e2e test.
OWN_CLUSTER_MODULES = ("test_demo.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the own-cluster modules in front of the first e2e test, so the session cluster is not up yet."""
    here = Path(__file__).parent
    first_e2e = next((index for index, item in enumerate(items) if here in item.path.parents), None)
    own = [item for item in items if item.path.parent == here and item.path.name in OWN_CLUSTER_MODULES]
    if first_e2e is None or not own:
        return
    rest = [item for item in items if item not in own]  # none of `own` precedes the first e2e test
    items[:] = rest[:first_e2e] + own + rest[first_e2e:]


@dataclass
class Cluster:
    """The running cluster: its home, and an HTTPS client of its first apiserver as the admin
    (`tls`: the admin kubeconfig's TLS settings, for other clients a test opens)."""

    home: Path
    api: httpx.Client
    tls: ssl.SSLContext

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`minik8s up|status|down …` on this cluster's home."""
        return self.verb(*args, "--home", str(self.home), check=check)

    def verb(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`minik8s` with these arguments; its kubectl-like verbs find the cluster through $KUBECONFIG."""
        result = subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args], capture_output=True, text=True,
                                timeout=120, cwd=ROOT, input=stdin,
                                env={**os.environ, "KUBECONFIG": str(self.home / "kubeconfig")})
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
                 timeout: float = 30.0, namespace: str = "default") -> dict[str, Any]:
        seen: list[Any] = [None]

        def probe() -> dict[str, Any] | None:
            pod = seen[0] = self.pod(name, namespace)
            return pod if pod is not None and condition(pod) else None

        try:
            return wait_for(f"pod {name} to be {what}", probe, timeout=timeout)
        except AssertionError as error:  # say where the pod got stuck, not only that it did
            status = (seen[0] or {}).get("status")
            events = [(e.get("reason"), e.get("message")) for e in self.events_for(name)]
            nodes = [(n["metadata"]["name"], n["spec"].get("taints"), n["spec"].get("unschedulable"))
                     for n in self.api.get("/api/v1/nodes").json()["items"]]
            raise AssertionError(f"{error}; its last status: {status!r}; events: {events}; nodes: {nodes}") from None

    def wait_gone(self, name: str, *, timeout: float = 30.0, namespace: str = "default") -> None:
        wait_for(f"pod {name} to be deleted", lambda: self.pod(name, namespace) is None, timeout=timeout)

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else {}
        response = self.api.get(f"/api/v1/namespaces/{namespace}/pods", params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    def apply(self, namespace: str, *objects: dict[str, Any]) -> None:
        """`kubectl apply` of these objects in the namespace (the real client, the real wire)."""
        self.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))

    @contextlib.contextmanager
    def namespace(self, name: str, *, privileged: bool = False) -> Iterator[str]:
        """A fresh namespace, deleted with all it holds afterwards (waits until its pods are gone).
        `privileged`: Pod Security lets its pods use the host (hostPath, privileged, host namespaces)."""
        labels = {PSA_ENFORCE: "privileged"} if privileged else {}
        self.create("/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})
        try:  # every pod names a ServiceAccount that must exist: `default`, made by the controller-manager
            wait_for(f"the default ServiceAccount of {name}", lambda: self.api.get(
                f"/api/v1/namespaces/{name}/serviceaccounts/default").status_code == 200, timeout=30)
            yield name
        finally:
            self.api.delete(f"/api/v1/namespaces/{name}")
            wait_for(f"namespace {name} and its pods to be gone", lambda: not self.pods(name) and
                     self.api.get(f"/api/v1/namespaces/{name}").status_code == 404, timeout=60)

    def wait_nodes_healthy(self, names: tuple[str, ...] = ("node-1", "node-2"), *, timeout: float = 60.0) -> None:
        """Until every node is Ready without taints: how a test that upset a node leaves the cluster
        (a NoExecute taint still there would evict the next test's pods)."""
        def healthy() -> bool:
            nodes = {node["metadata"]["name"]: node for node in self.api.get("/api/v1/nodes").json()["items"]}
            return all(name in nodes and not nodes[name]["spec"].get("taints") and any(
                c["type"] == "Ready" and c["status"] == "True" for c in nodes[name]["status"].get("conditions") or [])
                for name in names)

        wait_for(f"nodes {', '.join(names)} to be Ready without taints", healthy, timeout=timeout)

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


def is_live(pod: dict[str, Any]) -> bool:
    """Not on its way out: what controllers count (a terminating pod is neither available nor wanted)."""
    return not pod["metadata"].get("deletionTimestamp")


def web_deployment(name: str, *, replicas: int = 3, max_unavailable: int = 1, max_surge: int = 1) -> dict[str, Any]:
    """busybox httpd on :8080 answering with its pod's name, Ready once it serves."""
    container = builders.container("web", imagePullPolicy="IfNotPresent", command=["sh", "-c", WEB_SERVER],
                                   ports=[{"name": "http", "containerPort": 8080}],
                                   readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1})
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}
    return builders.deployment(name, replicas=replicas, strategy=strategy,
                               pod_spec={"terminationGracePeriodSeconds": 1, "containers": [container]})


def ticker_deployment(name: str, *, replicas: int) -> dict[str, Any]:
    """Pods that print a numbered line five times a second, for following logs."""
    container = builders.container("main", imagePullPolicy="IfNotPresent", command=["sh", "-c", TICKER],
                                   ports=[{"containerPort": 8080}])
    deployment = builders.deployment(name, replicas=replicas,
                                     pod_spec={"terminationGracePeriodSeconds": 1, "containers": [container]})
    deployment["metadata"]["labels"] = {"app": name}
    return deployment


def busybox_pod(name: str, command: str, *, node: str = "node-1", grace: int = 2, **spec: Any) -> dict[str, Any]:
    fields = {"imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", command], **spec.pop("container", {})}
    container = builders.container("main", **fields)
    return builders.pod(name, labels={"test": "e2e"}, node_name=node, grace=grace, containers=[container], **spec)


@contextlib.contextmanager
def running_cluster(home: Path, *up_flags: str, timeout: float = 120.0) -> Iterator[Cluster]:
    """`minik8s up --home HOME UP_FLAGS…` with Docker nodes, the admin's client of its first apiserver, and
    `minik8s down --purge` afterwards, whatever happened."""
    require_docker()
    command = [sys.executable, "-m", "minik8s.cli.main"]
    try:
        result = subprocess.run([*command, "up", "--home", str(home), *up_flags], capture_output=True, text=True,
                                timeout=timeout, cwd=ROOT)
        assert result.returncode == 0, result.stderr + result.stdout
        layout = json.loads((home / "cluster.json").read_text())
        tls = ssl_context_for(load_kubeconfig(home / "kubeconfig"))
        url = f"https://127.0.0.1:{layout['apiservers'][0]['http_port']}"
        with httpx.Client(base_url=url, timeout=10, verify=tls) as api:
            yield Cluster(home, api, tls)
    finally:
        subprocess.run([*command, "down", "--purge", "--home", str(home)], capture_output=True, timeout=timeout,
                       cwd=ROOT)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("e2e-cluster"), "--replicas", "1", "--nodes", "2", "--timeout", "60",
                         "--daemon-arg", "node=--crashloop-backoff-base=1",
                         "--daemon-arg", f"apiserver=--watch-history={WATCH_HISTORY}",
                         "--daemon-arg", "node=--sync-frequency=2",
                         "--daemon-arg", "node=--node-status-update-frequency=2",
                         "--daemon-arg", "controller-manager=--job-backoff-base=1s", *FAST_FAILURE_FLAGS) as running:
        yield running


@pytest.fixture
def cleanup_pods(cluster: Cluster) -> Iterator[list[str]]:
    """Names of pods a test made; removed (at once) afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        cluster.delete_pod(name, grace=0)
    for name in names:
        wait_for(f"pod {name} to be cleaned up", lambda n=name: cluster.pod(n) is None, timeout=30)  # type: ignore[misc]
