"""Pod turns Ready → its endpoint receives Service traffic (issue 5's figure), on real Docker and iptables.

What a user waits on after a rollout step: the agent's Ready status write, the Endpoints controller
adding the pod's address, the proxy's partial sync into iptables. One run brings a cluster up with the
real CLI, creates a ClusterIP Service whose selector matches nothing yet, then, one pod at a time,
creates a web pod and keeps calling the ClusterIP from this host (a REJECT answers at once while the
service has no ready endpoint) until that pod answers. Two watches stamp when the pod was seen Ready and
when the Endpoints object listed it, so the figure splits into the controller's and the proxy's share.
Deleting the pod is timed the same way, until the ClusterIP refuses again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import orjson

from bench.api_store import BenchmarkError
from bench.figures import Figure, Outcome, median, percentile
from bench.pod_start import NODE_NAMES, DockerCluster, docker_cluster, running_and_ready

log = logging.getLogger(__name__)

ROUNDS = 20
LABELS = {"app": "readytraffic"}
SERVICE = "readytraffic"
NAMESPACE_PATH = "/api/v1/namespaces/default"
WEB_SERVER = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"
PROBE_INTERVAL_SECONDS = 0.002  # a refused connect costs ~0.1 ms: this bounds the caller's CPU
DEADLINE_SECONDS = 30.0


def web_pod(name: str, *, node: str) -> dict[str, Any]:
    container = {"name": "web", "image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent",
                 "command": ["sh", "-c", WEB_SERVER], "ports": [{"containerPort": 8080}],
                 "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": LABELS},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [container]}}


def call_service(address: str, port: int) -> str | None:
    """The body the Service answers with, or None when it refuses (no ready endpoint) or fails."""
    try:
        with socket.create_connection((address, port), timeout=1.0) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            connection.settimeout(1.0)
            chunks = []
            while chunk := connection.recv(4096):
                chunks.append(chunk)
    except OSError:
        return None
    return b"".join(chunks).decode(errors="replace")


class Stamps:
    """First arrival (perf_counter) of each (what, pod) fact, fed by watch threads."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def mark(self, what: str, pod: str) -> None:
        with self._lock:
            self._seen.setdefault((what, pod), time.perf_counter())

    def get(self, what: str, pod: str) -> float | None:
        with self._lock:
            return self._seen.get((what, pod))


def follow(cluster: DockerCluster, path: str, params: Mapping[str, str],
           on_object: Callable[[dict[str, Any]], None], stop: threading.Event) -> None:
    """Watch `path` until `stop` (or the cluster goes away); hand every event's object to on_object."""
    with httpx.Client(base_url=cluster.api_url, timeout=httpx.Timeout(10, read=None), verify=cluster.tls) as client:
        listed = client.get(path, params=dict(params)).json()
        query = {**params, "watch": "true", "resourceVersion": listed["metadata"]["resourceVersion"]}
        try:
            with client.stream("GET", path, params=query) as response:
                for line in response.iter_lines():
                    if stop.is_set():
                        return
                    if line.strip():
                        on_object(orjson.loads(line).get("object") or {})
        except httpx.HTTPError as error:
            if not stop.is_set():
                log.warning("the watch of %s ended: %s", path, error)


@contextlib.contextmanager
def watching(cluster: DockerCluster, stamps: Stamps) -> Iterator[None]:
    """Stamp 'ready' when a pod is seen Running+Ready, 'endpoint' when the Service's Endpoints list it."""
    stop = threading.Event()

    def on_pod(pod: dict[str, Any]) -> None:
        if running_and_ready(pod):
            stamps.mark("ready", pod["metadata"]["name"])

    def on_endpoints(endpoints: dict[str, Any]) -> None:
        for subset in endpoints.get("subsets") or []:
            for address in subset.get("addresses") or []:
                stamps.mark("endpoint", (address.get("targetRef") or {}).get("name", ""))

    threads = [threading.Thread(target=follow, daemon=True, args=(
                   cluster, f"{NAMESPACE_PATH}/pods", {"labelSelector": "app=readytraffic"}, on_pod, stop)),
               threading.Thread(target=follow, daemon=True, args=(
                   cluster, f"{NAMESPACE_PATH}/endpoints", {"fieldSelector": f"metadata.name={SERVICE}"},
                   on_endpoints, stop))]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()  # the threads end at their next event, or with the process (daemon threads)


def call_until(address: str, port: int, answered: Callable[[str | None], bool], what: str) -> float:
    """Call the Service until `answered(reply)`; the perf_counter() instant it first was."""
    deadline = time.perf_counter() + DEADLINE_SECONDS
    while time.perf_counter() < deadline:
        if answered(call_service(address, port)):
            return time.perf_counter()
        time.sleep(PROBE_INTERVAL_SECONDS)
    raise BenchmarkError(f"timed out after {DEADLINE_SECONDS:.0f} s waiting for {what}")


def run_round(api: httpx.Client, stamps: Stamps, address: str, *, index: int) -> tuple[float, float, float, float]:
    """One pod: (Ready→traffic, Ready→endpoint listed, endpoint listed→traffic, delete→refused) seconds."""
    name = f"readytraffic-{index}"
    created = api.post(f"{NAMESPACE_PATH}/pods", json=web_pod(name, node=NODE_NAMES[index % len(NODE_NAMES)]))
    if created.status_code != 201:
        raise BenchmarkError(f"creating {name} answered {created.status_code}: {created.text[:200]}")
    answered = call_until(address, 80, lambda reply: reply is not None and name in reply, f"{name} to answer")
    ready, listed = stamps.get("ready", name), stamps.get("endpoint", name)
    if ready is None or listed is None:
        raise BenchmarkError(f"{name} answered before its Ready/Endpoints events arrived here")
    api.delete(f"{NAMESPACE_PATH}/pods/{name}", params={"gracePeriodSeconds": "0"})
    deleted = time.perf_counter()
    refused = call_until(address, 80, lambda reply: reply is None, f"the Service to refuse after deleting {name}")
    return answered - ready, listed - ready, answered - listed, refused - deleted


def bench_ready_traffic() -> Outcome:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE},
               "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]}}
    with docker_cluster(replicas=3) as cluster, httpx.Client(base_url=cluster.api_url, timeout=10, verify=cluster.tls) as api:
        address = api.post(f"{NAMESPACE_PATH}/services", json=service).json()["spec"]["clusterIP"]
        stamps = Stamps()
        with watching(cluster, stamps):
            call_until(address, 80, lambda reply: reply is None, "the new Service to refuse")
            rounds = [run_round(api, stamps, address, index=index) for index in range(ROUNDS)]
    total, controller, proxy, removal = ([seconds * 1000 for seconds in column] for column in zip(*rounds, strict=True))
    note = f"{ROUNDS} pods one at a time, host → ClusterIP, 3 apiserver replicas"
    return Outcome(figures=(
        Figure("ready-traffic", "Ready seen → traffic reaches it p50", median(total), "ms", note=note),
        Figure("ready-traffic", "Ready seen → traffic reaches it p99", percentile(total, 0.99), "ms"),
        Figure("ready-traffic", "  Ready → Endpoints lists it p50", median(controller), "ms",
               note="endpoints controller"),
        Figure("ready-traffic", "  Endpoints → traffic p50", median(proxy), "ms", note="proxy partial sync"),
        Figure("ready-traffic", "delete → Service refuses p50", median(removal), "ms",
               note="grace 0: endpoint removed, REJECT again"),
    ))
