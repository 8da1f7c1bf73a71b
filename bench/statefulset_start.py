"""A StatefulSet of 10 on two Docker nodes: create → all 10 Ready, OrderedReady and Parallel (issue 15's figure).

OrderedReady makes web-0, waits for it to be Running and Ready, then web-1, …: the figure is ten pod
starts in a row (scheduler, node agent, sandbox, container, readiness, status) plus the controller's
reaction to each. Parallel makes all ten at once, so it should cost about one pod start. Both sets
run the same busybox pod with a readiness probe, one after the other on the same cluster, and each
is deleted (cascading) before the next is made.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.figures import Figure, Outcome
from bench.pod_start import docker_cluster
from tests.support import builders

REPLICAS = 10
DEADLINE_SECONDS = 300.0
STATEFUL_SETS = "/apis/apps/v1/namespaces/default/statefulsets"
PODS = "/api/v1/namespaces/default/pods"


def stateful_set(name: str, policy: str) -> dict[str, Any]:
    container = builders.container("main", imagePullPolicy="IfNotPresent",
                                   command=["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 3600 & wait"],
                                   readinessProbe={"exec": {"command": ["test", "-f", "/tmp/ready"]},
                                                   "periodSeconds": 1})
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": REPLICAS, "serviceName": name, "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 2, "containers": [container]}}}}


def wait_until(what: str, done: Any) -> float:
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_SECONDS:
        if done():
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {DEADLINE_SECONDS:.0f} s")


def all_ready(api: httpx.Client, name: str) -> bool:
    status = api.get(f"{STATEFUL_SETS}/{name}").json().get("status") or {}
    return status.get("readyReplicas") == REPLICAS


def pods_of(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    return api.get(PODS, params={"labelSelector": f"app={name}"}).json()["items"]  # type: ignore[no-any-return]


def one_run(api: httpx.Client, name: str, policy: str) -> tuple[float, str]:
    """Seconds from create to 10/10 Ready, and how the pods spread over the nodes; the set is gone after."""
    api.post(STATEFUL_SETS, json=stateful_set(name, policy)).raise_for_status()
    seconds = wait_until(f"{name}: {REPLICAS}/{REPLICAS} Ready", lambda: all_ready(api, name))
    nodes: dict[str, int] = {}
    for pod in pods_of(api, name):
        nodes[pod["spec"]["nodeName"]] = nodes.get(pod["spec"]["nodeName"], 0) + 1
    api.delete(f"{STATEFUL_SETS}/{name}")
    wait_until(f"{name}: pods gone", lambda: not pods_of(api, name))
    return seconds, ", ".join(f"{node}: {count}" for node, count in sorted(nodes.items()))


def bench_statefulset_start() -> Outcome:
    with docker_cluster(replicas=1) as cluster, \
            httpx.Client(base_url=cluster.api_url, timeout=10, verify=cluster.tls) as api:
        ordered, ordered_spread = one_run(api, "ordered", "OrderedReady")
        parallel, parallel_spread = one_run(api, "parallel", "Parallel")
    return Outcome(
        figures=(Figure("statefulset-10", "OrderedReady: create → 10/10 Ready", ordered, "s",
                        note=f"one pod at a time; pods per node: {ordered_spread}"),
                 Figure("statefulset-10", "Parallel: create → 10/10 Ready", parallel, "s",
                        note=f"all at once; pods per node: {parallel_spread}")),
        remarks=("1 apiserver, scheduler, controller-manager, 2 Docker nodes (minik8s up); readiness probe period 1 s",),
    )
