"""The workload the Kubernetes-level faults hit, and what it must keep true through them.

A Deployment of web pods behind a ClusterIP Service on a real `minik8s up` cluster. `PodObserver` lists
the Deployment's pods every half second for the whole run (a list, not a watch: it must not depend on
the apiservers it sees die) and records two anomalies a user would call a bug: a pod bound to a second
node (a double bind: a pod's node never changes once set), and more live pods than the Deployment may
have at once (replicas + maxSurge: a controller that created a pod twice). `Workload` answers the
questions a fault's recovery is measured by: are all replicas Ready, does the Service answer, which
containers are running (to prove a fault left them alone).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.conftest import Cluster, is_live, is_ready
from tests.faults.linearizability import Anomaly

APP = "web"
SELECTOR = f"app={APP}"
POLL_SECONDS = 0.5


def service_answers(cluster_ip: str, *, port: int = 80, timeout: float = 2.0) -> bool:
    """One HTTP GET through the ClusterIP (the proxy's rules on this host) answered 200."""
    try:
        with socket.create_connection((cluster_ip, port), timeout=timeout) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
            head = connection.recv(64)
    except OSError:
        return False
    return b" 200 " in head.split(b"\r\n")[0]


@dataclass
class Workload:
    cluster: Cluster
    namespace: str
    cluster_ip: str
    replicas: int
    ceiling: int = 0  # the most replicas wanted since the workload was last whole (a scale-down takes a while)

    def pods(self) -> list[dict[str, Any]]:
        return self.cluster.pods(self.namespace, SELECTOR)

    def ready_pods(self) -> list[dict[str, Any]]:
        return [pod for pod in self.pods() if is_live(pod) and is_ready(pod)]

    def whole(self) -> bool:
        """Every replica Ready and no extra live pod, and the Service answers through its ClusterIP."""
        try:
            live = [pod for pod in self.pods() if is_live(pod)]
        except (httpx.HTTPError, AssertionError):
            return False
        whole = len(live) == self.replicas and all(is_ready(pod) for pod in live) and service_answers(self.cluster_ip)
        if whole:
            self.ceiling = self.replicas
        return whole

    def containers(self) -> dict[str, tuple[str, int]]:
        """Pod name → (its container's ID, its restart count): equal before and after means left alone."""
        found = {}
        for pod in self.ready_pods():
            [status] = pod["status"]["containerStatuses"]
            found[pod["metadata"]["name"]] = (status["containerID"], status["restartCount"])
        return found

    def scale(self, replicas: int) -> None:
        response = self.cluster.api.patch(
            f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{APP}/scale", json={"spec": {"replicas": replicas}},
            headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200, response.text
        self.replicas, self.ceiling = replicas, max(self.ceiling, replicas)


@dataclass
class PodObserver:
    """Lists the workload's pods in the background and records double binds and too many live pods."""

    workload: Workload
    max_surge: int
    anomalies: list[Anomaly] = field(default_factory=list)
    _nodes: dict[str, str] = field(default_factory=dict)  # pod uid → the node it was first seen bound to
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pod-observer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                pods = self.workload.pods()
            except (httpx.HTTPError, AssertionError):
                continue  # the apiservers may be down: that is the fault, not an anomaly
            self.observe(pods)

    def observe(self, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            uid, node = pod["metadata"]["uid"], pod["spec"].get("nodeName")
            if node and self._nodes.setdefault(uid, node) != node:
                self._report("double bind", pod["metadata"]["name"], f"bound to {self._nodes[uid]}, then {node}")
                self._nodes[uid] = node
        live = [pod["metadata"]["name"] for pod in pods if is_live(pod)]
        allowed = max(self.workload.replicas, self.workload.ceiling) + self.max_surge
        if len(live) > allowed:
            self._report("too many pods", APP, f"{len(live)} live pods, at most {allowed} allowed: {sorted(live)}")

    def _report(self, kind: str, key: str, detail: str) -> None:
        if not any(anomaly.detail == detail for anomaly in self.anomalies):
            self.anomalies.append(Anomaly(kind, key, detail))


def sample_for(check: Callable[[], bool], seconds: float, *, interval: float = POLL_SECONDS) -> list[bool]:
    """`check()` every `interval` for `seconds`: the outcomes, in order."""
    outcomes, deadline, pause = [], time.monotonic() + seconds, threading.Event()
    while time.monotonic() < deadline:
        outcomes.append(check())
        pause.wait(interval)
    return outcomes
