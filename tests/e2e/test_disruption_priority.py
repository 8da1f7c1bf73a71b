"""PodDisruptionBudgets and pod priority on two Docker nodes, driven by the real kubectl.

A budget of `minAvailable: 1` over two web replicas makes `kubectl drain` wait: the second eviction is refused
(429, which kubectl retries every 5 seconds) until the first pod's replacement serves on the other node. A
pod of a high PriorityClass lands on a node its lower-priority neighbours fill: the scheduler evicts one of
them (DisruptionTarget/PreemptionByScheduler, a Preempted event) and binds the pod there. Each test works in a
namespace of its own and leaves both nodes schedulable.
"""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.quantity import cpu_millis
from tests.e2e.conftest import Cluster, is_live, is_ready, web_deployment
from tests.e2e.kubectl_output import parse_table
from tests.support import builders
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

PDBS = "/apis/policy/v1/namespaces"
CLASSES = "/apis/scheduling.k8s.io/v1/priorityclasses"
REPLACEMENT_WAITS = ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector. "
                     "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
                     "1 Preemption is not helpful for scheduling..")  # kube-scheduler's double period


def ready_web(cluster: Cluster, namespace: str, count: int) -> list[dict[str, Any]] | None:
    pods = [pod for pod in cluster.pods(namespace, "app=web") if is_live(pod)]
    return pods if len(pods) == count and all(is_ready(pod) for pod in pods) else None


def test_a_budget_makes_drain_wait_until_the_replacement_is_ready(cluster: Cluster) -> None:
    with cluster.namespace("pdb-drain") as namespace:
        try:
            drain_with_budget(cluster, namespace)
        finally:
            cluster.kubectl("uncordon", "node-1", check=False)
            cluster.kubectl("uncordon", "node-2", check=False)


def drain_with_budget(cluster: Cluster, namespace: str) -> None:
    web = web_deployment("web", replicas=2)
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["initialDelaySeconds"] = 3
    cluster.kubectl("cordon", "node-1")
    cluster.apply(namespace, web)
    pods = wait_for("two Ready web pods on node-2", lambda: ready_web(cluster, namespace, 2), timeout=90)
    assert {pod["spec"]["nodeName"] for pod in pods} == {"node-2"}
    cluster.kubectl("uncordon", "node-1")
    created = cluster.kubectl("create", "pdb", "web", "-n", namespace, "--selector=app=web", "--min-available=1")
    assert created.stdout.strip() == "poddisruptionbudget.policy/web created"
    wait_for("the budget to allow one disruption", lambda: parse_table(
        cluster.kubectl("get", "pdb", "-n", namespace).stdout)[0]["ALLOWED DISRUPTIONS"] == "1", timeout=30)

    drained = cluster.kubectl("drain", "node-2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=100s")
    printed = drained.stdout.splitlines()
    assert printed[0] == "node/node-2 cordoned" and printed[-1] == "node/node-2 drained"
    assert ("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget."
            in drained.stderr), drained.stderr
    after = wait_for("two Ready web pods on node-1", lambda: ready_web(cluster, namespace, 2), timeout=60)
    assert {pod["spec"]["nodeName"] for pod in after} == {"node-1"}
    status = cluster.api.get(f"{PDBS}/{namespace}/poddisruptionbudgets/web").json()["status"]
    assert (status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 1, 1)


def free_millis(cluster: Cluster, node: str) -> int:
    """What is left of the node's allocatable CPU after the requests of the pods on it."""
    allocatable = cpu_millis(cluster.api.get(f"/api/v1/nodes/{node}").json()["status"]["allocatable"]["cpu"])
    pods = cluster.api.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"}).json()["items"]
    requested = sum(cpu_millis(c.get("resources", {}).get("requests", {}).get("cpu", "0"))
                    for pod in pods if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                    for c in pod["spec"]["containers"])
    return int(allocatable - requested)


def cpu_pod_spec(millis: int, **spec: Any) -> dict[str, Any]:
    container = builders.container("main", imagePullPolicy="IfNotPresent", command=["sleep", "3600"],
                                   resources={"requests": {"cpu": f"{millis}m"}})
    return {"containers": [container], "terminationGracePeriodSeconds": 1,
            "nodeSelector": {"kubernetes.io/hostname": "node-1"}, **spec}


def test_a_high_priority_pod_preempts_on_a_full_node(cluster: Cluster) -> None:
    with cluster.namespace("preempt") as namespace:
        try:
            preempt_on_node_1(cluster, namespace)
        finally:
            cluster.api.delete(f"{CLASSES}/e2e-high")


def preempt_on_node_1(cluster: Cluster, namespace: str) -> None:
    half = free_millis(cluster, "node-1") // 2
    assert half >= 100, "node-1 has room for two fillers"
    filler = builders.deployment("filler", replicas=2, pod_spec=cpu_pod_spec(half))
    cluster.apply(namespace, filler)
    wait_for("both fillers running on node-1", lambda: len([
        p for p in cluster.pods(namespace, "app=filler")
        if is_live(p) and (p.get("status") or {}).get("phase") == "Running"]) == 2, timeout=90)
    created = cluster.kubectl("create", "priorityclass", "e2e-high", "--value=1000")
    assert created.stdout.strip() == "priorityclass.scheduling.k8s.io/e2e-high created"
    cluster.apply(namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "urgent"},
                              "spec": cpu_pod_spec(half, priorityClassName="e2e-high")})

    running = cluster.wait_pod("urgent", lambda p: (p.get("status") or {}).get("phase") == "Running",
                               what="running after preempting", timeout=90, namespace=namespace)
    assert running["spec"]["nodeName"] == "node-1" and running["spec"]["priority"] == 1000
    events = cluster.api.get(f"/api/v1/namespaces/{namespace}/events").json()["items"]
    preempted = [e for e in events if e.get("reason") == "Preempted"]
    assert len(preempted) == 1, events
    assert preempted[0]["message"] == f"Preempted by pod {running['metadata']['uid']} on node node-1"
    # the victim's replacement waits, told why: it may not preempt a pod of equal or higher priority
    wait_for("the victim's replacement to say why it waits", lambda: REPLACEMENT_WAITS in [
        c.get("message") for p in cluster.pods(namespace, "app=filler") if not p["spec"].get("nodeName")
        for c in (p.get("status") or {}).get("conditions") or [] if c["type"] == "PodScheduled"], timeout=30)
