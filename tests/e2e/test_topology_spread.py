"""Pod topology spread on two Docker nodes: a Deployment kept 1 apart per node, and a pod refused by it.

What a user of `topologySpreadConstraints` relies on, with real containers: maxSkew 1 with
DoNotSchedule keeps a Deployment's Ready pods even over the two nodes although every pod prefers
node-1, also after a scale-up and a rolling update (`matchLabelKeys: [pod-template-hash]` spreads
each revision on its own); a pod that no node can take without breaking its constraint stays
Pending and `kubectl describe` says why. Each test works in a namespace of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Cluster, is_live, is_ready, web_deployment
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

HOSTNAME = "kubernetes.io/hostname"
SPREAD_MESSAGE = ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                  "1 node(s) didn't match pod topology spread constraints.")


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "spread-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    with cluster.namespace(name) as created:
        yield created


def spread_web(name: str, replicas: int, *, node_affinity: dict[str, Any], **constraint: Any) -> dict[str, Any]:
    """The e2e web Deployment, its pods at most 1 apart per node (DoNotSchedule), with `node_affinity`."""
    body = web_deployment(name, replicas=replicas)
    body["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": node_affinity}
    body["spec"]["template"]["spec"]["topologySpreadConstraints"] = [{
        "maxSkew": 1, "topologyKey": HOSTNAME, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": name}}, "matchLabelKeys": ["pod-template-hash"], **constraint}]
    return body


def to_node_1(kind: str) -> dict[str, Any]:
    term = {"matchExpressions": [{"key": HOSTNAME, "operator": "In", "values": ["node-1"]}]}
    if kind == "preferred":
        return {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "preference": term}]}
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}


def ready_per_node(cluster: Cluster, namespace: str, selector: str, count: int) -> Counter[str] | None:
    pods = [pod for pod in cluster.pods(namespace, selector) if is_live(pod)]
    if len(pods) != count or not all(is_ready(pod) for pod in pods):
        return None
    return Counter(pod["spec"]["nodeName"] for pod in pods)


def test_max_skew_1_keeps_a_deployment_even_over_two_nodes(cluster: Cluster, namespace: str) -> None:
    cluster.apply(namespace, spread_web("even", 4, node_affinity=to_node_1("preferred")))
    placed = wait_for("4 Ready pods", lambda: ready_per_node(cluster, namespace, "app=even", 4), timeout=90)
    assert placed == {"node-1": 2, "node-2": 2}

    cluster.kubectl("scale", "-n", namespace, "deployment/even", "--replicas=5")
    placed = wait_for("5 Ready pods", lambda: ready_per_node(cluster, namespace, "app=even", 5), timeout=90)
    assert placed == {"node-1": 3, "node-2": 2}  # the fifth goes where it is preferred: skew 1 is allowed

    cluster.kubectl("set", "env", "-n", namespace, "deployment/even", "REVISION=2")
    cluster.kubectl("rollout", "status", "-n", namespace, "deployment/even", "--timeout=120s")

    def new_revision_placed() -> Counter[str] | None:
        pods = [pod for pod in cluster.pods(namespace, "app=even") if is_live(pod)]
        hashes = {pod["metadata"]["labels"]["pod-template-hash"] for pod in pods}
        return ready_per_node(cluster, namespace, "app=even", 5) if len(hashes) == 1 else None

    placed = wait_for("only the new revision's 5 Ready pods", new_revision_placed, timeout=90)
    assert max(placed.values()) - min(placed.values()) <= 1 and set(placed) == {"node-1", "node-2"}


def test_a_pod_that_would_break_its_spread_stays_pending_and_describe_says_why(
        cluster: Cluster, namespace: str) -> None:
    # Required onto node-1 while node-2 still counts as a domain (nodeAffinityPolicy: Ignore): the second
    # pod would put node-1 two ahead of node-2's none.
    cluster.apply(namespace, spread_web("pinned", 2, node_affinity=to_node_1("required"),
                                        nodeAffinityPolicy="Ignore"))

    def one_pending() -> dict[str, Any] | None:
        pods = [pod for pod in cluster.pods(namespace, "app=pinned") if is_live(pod)]
        pending = [pod for pod in pods if not pod["spec"].get("nodeName")]
        running = [pod for pod in pods if pod["spec"].get("nodeName") == "node-1" and is_ready(pod)]
        if len(pods) != 2 or len(pending) != 1 or len(running) != 1:
            return None
        conditions = pending[0]["status"].get("conditions") or []
        scheduled: dict[str, Any] = next((c for c in conditions if c["type"] == "PodScheduled"), {})
        return pending[0] if str(scheduled.get("message", "")).startswith(SPREAD_MESSAGE) else None

    pending = wait_for("one pod Ready on node-1 and one refused by its spread", one_pending, timeout=90)
    name = pending["metadata"]["name"]

    def described() -> str | None:
        text = cluster.kubectl("describe", "pod", "-n", namespace, name).stdout
        return text if "FailedScheduling" in text else None

    text = wait_for("a FailedScheduling event in describe", described, timeout=30)
    assert "didn't match pod topology spread constraints" in text
    assert "Topology Spread Constraints:" in text and "kubernetes.io/hostname:DoNotSchedule when max skew 1" in text
