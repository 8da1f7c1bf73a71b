"""A Deployment of 30 replicas on two Docker nodes: create → all available (issue 4's figure).

The whole path a user waits on: the Deployment and ReplicaSet controllers, the scheduler,
two node agents starting 30 sandboxes and containers, readiness, and the status
`kubectl rollout status` reads. Deleting it (cascading, graceful) is timed too.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.figures import Figure, Outcome
from bench.pod_start import docker_cluster
from tests.support import builders

REPLICAS = 30
DEADLINE_SECONDS = 180.0
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(replicas: int) -> dict[str, Any]:
    container = builders.container("main", imagePullPolicy="IfNotPresent",
                                   command=["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"])
    return builders.deployment("bench30", replicas=replicas,
                               pod_spec={"terminationGracePeriodSeconds": 2, "containers": [container]})


def wait_until(api: httpx.Client, what: str, done: Any) -> float:
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_SECONDS:
        if done(api):
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {DEADLINE_SECONDS:.0f} s")


def all_available(api: httpx.Client) -> bool:
    status = api.get(f"{DEPLOYMENTS}/bench30").json().get("status") or {}
    return status.get("availableReplicas") == REPLICAS and status.get("updatedReplicas") == REPLICAS


def no_pods_left(api: httpx.Client) -> bool:
    pods = api.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=bench30"}).json()
    return not pods["items"]


def bench_deployment_start() -> Outcome:
    with docker_cluster(replicas=3) as cluster, httpx.Client(base_url=cluster.api_url, timeout=10, verify=cluster.tls) as api:
        response = api.post(DEPLOYMENTS, json=deployment(REPLICAS))
        response.raise_for_status()
        available = wait_until(api, "all replicas available", all_available)
        nodes: dict[str, int] = {}
        for pod in api.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=bench30"}).json()["items"]:
            nodes[pod["spec"]["nodeName"]] = nodes.get(pod["spec"]["nodeName"], 0) + 1
        api.delete(f"{DEPLOYMENTS}/bench30")
        deleted = wait_until(api, "all pods gone", no_pods_left)
    spread = ", ".join(f"{node}: {count}" for node, count in sorted(nodes.items()))
    return Outcome(
        figures=(Figure("deployment-30", "create → 30/30 available", available, "s", note=f"pods per node: {spread}"),
                 Figure("deployment-30", "delete → all pods gone", deleted, "s", note="grace 2 s, cascading")),
        remarks=("3 apiserver replicas, scheduler, controller-manager, 2 Docker nodes (minik8s up)",),
    )
