"""Deployments, DaemonSets, the scheduler and node failure on two Docker nodes.

What a user of kube-scheduler and kube-controller-manager relies on, checked on real containers:
replicas spread and heal, scaling and rolling updates keep enough pods Ready, a rollback reuses
the old ReplicaSet, a dead node's pods come back elsewhere, drain empties a node, a pod that fits
nowhere says why, and deleting a Deployment or a namespace leaves nothing behind. Each test works
in a namespace of its own and leaves the cluster as it found it (nodes Ready and schedulable).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Cluster, busybox_pod, is_live, is_ready, web_deployment
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

APPS = "/apis/apps/v1/namespaces"
NODES = ("node-1", "node-2")
V2_IMAGE = "minik8s/busybox:v2"


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "wl-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    with cluster.namespace(name) as created:
        yield created


@pytest.fixture
def v2_image() -> Iterator[str]:
    """The busybox image under a second tag, so a Deployment can change its image."""
    subprocess.run(["docker", "tag", "minik8s/busybox:latest", V2_IMAGE], check=True, capture_output=True)
    yield V2_IMAGE
    subprocess.run(["docker", "rmi", V2_IMAGE], capture_output=True)


def deployment(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    response = cluster.api.get(f"{APPS}/{namespace}/deployments/{name}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def replica_sets(cluster: Cluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    response = cluster.api.get(f"{APPS}/{namespace}/replicasets", params={"labelSelector": selector})
    return response.json()["items"]  # type: ignore[no-any-return]


def ready_pods(cluster: Cluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    return [pod for pod in cluster.pods(namespace, selector) if is_live(pod) and is_ready(pod)]


def rolled_out(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    """The Deployment once `rollout status` would say so and no pod of an old revision is left."""
    found = deployment(cluster, namespace, name)
    spec, status = found["spec"], found.get("status") or {}
    wanted = spec["replicas"]
    done = (status.get("observedGeneration", 0) >= found["metadata"]["generation"]
            and status.get("updatedReplicas") == wanted and status.get("availableReplicas") == wanted
            and status.get("replicas") == wanted and len(cluster.pods(namespace, f"app={name}")) == wanted)
    return found if done else None


def wait_rolled_out(cluster: Cluster, namespace: str, name: str, *, timeout: float = 60) -> dict[str, Any]:
    return wait_for(f"deployment {name} to roll out", lambda: rolled_out(cluster, namespace, name),
                    timeout=timeout)


def start_web(cluster: Cluster, namespace: str, *, replicas: int = 3, max_unavailable: int = 1) -> dict[str, Any]:
    cluster.apply(namespace, web_deployment("web", replicas=replicas, max_unavailable=max_unavailable))
    return wait_rolled_out(cluster, namespace, "web")


def revision(obj: dict[str, Any]) -> str:
    return str(obj["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision"))


def node_condition(cluster: Cluster, node: str) -> str:
    conditions = cluster.api.get(f"/api/v1/nodes/{node}").json()["status"].get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "missing")


def node_healthy(cluster: Cluster, node: str) -> bool:
    """Ready, and without the taints of a failed node (new pods would be refused or evicted)."""
    found = cluster.api.get(f"/api/v1/nodes/{node}").json()
    taints = {t["key"] for t in found["spec"].get("taints") or []}
    return node_condition(cluster, node) == "True" and not taints & {
        "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}


class ReadySampler(threading.Thread):
    """Counts the live, Ready pods of a selector again and again until stopped, and notes whether
    it ever saw live pods of two templates at once (so it really watched the rollout happen)."""

    def __init__(self, cluster: Cluster, namespace: str, selector: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.tls = str(cluster.api.base_url), cluster.tls
        self.namespace, self.selector = namespace, selector
        self.samples: list[int] = []
        self.saw_both_templates = False
        self.finished = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10, verify=self.tls) as api:
            while not self.finished.wait(0.02):
                items = api.get(f"/api/v1/namespaces/{self.namespace}/pods",
                                params={"labelSelector": self.selector}).json()["items"]
                live = [pod for pod in items if is_live(pod)]
                self.samples.append(sum(1 for pod in live if is_ready(pod)))
                hashes = {pod["metadata"]["labels"].get("pod-template-hash") for pod in live}
                self.saw_both_templates = self.saw_both_templates or len(hashes) > 1


def test_a_deployment_spreads_its_pods_over_both_nodes(cluster: Cluster, namespace: str) -> None:
    start_web(cluster, namespace)
    pods = cluster.pods(namespace, "app=web")
    assert len(pods) == 3 and all(pod["status"]["phase"] == "Running" and is_ready(pod) for pod in pods)
    assert {pod["spec"]["nodeName"] for pod in pods} == set(NODES)
    hashes = {pod["metadata"]["labels"]["pod-template-hash"] for pod in pods}
    assert len(hashes) == 1 and all(pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for pod in pods)


def test_scale_subresource_grows_and_shrinks_the_deployment(cluster: Cluster, namespace: str) -> None:
    start_web(cluster, namespace)
    path = f"{APPS}/{namespace}/deployments/web/scale"
    scale = cluster.api.get(path).json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 3
    for replicas in (5, 2):
        body = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web", "namespace": namespace},
                "spec": {"replicas": replicas}}
        response = cluster.api.put(path, json=body)
        assert response.status_code == 200, response.text
        wait_rolled_out(cluster, namespace, "web")  # exactly `replicas` pods, every one available
        assert len(ready_pods(cluster, namespace, "app=web")) == replicas
        assert cluster.api.get(path).json()["status"]["replicas"] == replicas


def test_an_image_change_rolls_out_without_dropping_below_the_minimum(cluster: Cluster, namespace: str,
                                                                      v2_image: str) -> None:
    replicas, max_unavailable = 4, 1
    start_web(cluster, namespace, replicas=replicas, max_unavailable=max_unavailable)
    sampler = ReadySampler(cluster, namespace, "app=web")
    sampler.start()
    try:
        cluster.kubectl("set", "image", "-n", namespace, "deployment/web", f"web={v2_image}")
        done = wait_rolled_out(cluster, namespace, "web", timeout=90)
    finally:
        sampler.finished.set()
        sampler.join(10)
    assert revision(done) == "2"
    pods = cluster.pods(namespace, "app=web")
    assert {c["image"] for pod in pods for c in pod["status"]["containerStatuses"]} == {v2_image}
    old = [rs for rs in replica_sets(cluster, namespace, "app=web") if revision(rs) == "1"]
    assert len(old) == 1 and old[0]["spec"]["replicas"] == 0
    assert len(sampler.samples) >= 10 and sampler.saw_both_templates, "the sampler did not watch the rollout"
    assert min(sampler.samples) >= replicas - max_unavailable, f"too few pods Ready at times: {sampler.samples}"


def test_rollout_undo_reuses_the_previous_replicaset(cluster: Cluster, namespace: str, v2_image: str) -> None:
    start_web(cluster, namespace)
    (first,) = replica_sets(cluster, namespace, "app=web")
    cluster.kubectl("set", "image", "-n", namespace, "deployment/web", f"web={v2_image}")
    wait_rolled_out(cluster, namespace, "web")
    cluster.kubectl("rollout", "undo", "-n", namespace, "deployment/web")
    done = wait_for("the rollback", lambda: (lambda d: d if d and revision(d) == "3" else None)(
        rolled_out(cluster, namespace, "web")), timeout=60)
    assert done["spec"]["template"]["spec"]["containers"][0]["image"] == "minik8s/busybox:latest"
    by_name = {rs["metadata"]["name"]: rs for rs in replica_sets(cluster, namespace, "app=web")}
    assert len(by_name) == 2, f"a rollback must not make a third ReplicaSet: {sorted(by_name)}"
    reused = by_name[first["metadata"]["name"]]
    assert revision(reused) == "3" and reused["spec"]["replicas"] == 3
    template_hash = first["metadata"]["labels"]["pod-template-hash"]
    assert {pod["metadata"]["labels"]["pod-template-hash"] for pod in cluster.pods(namespace, "app=web")} == {
        template_hash}


def agent_pid(cluster: Cluster, node: str) -> int:
    components = json.loads(cluster.cli("status", "-o", "json").stdout)["components"]
    return int(next(c["pid"] for c in components if c.get("node") == node))


def test_pods_of_a_dead_node_are_recreated_on_the_other(cluster: Cluster, namespace: str) -> None:
    start_web(cluster, namespace, replicas=4)
    doomed = {pod["metadata"]["name"] for pod in cluster.pods(namespace, "app=web")
              if pod["spec"]["nodeName"] == "node-2"}
    assert doomed, "the scheduler put nothing on node-2"
    subprocess.run(["kill", "-9", str(agent_pid(cluster, "node-2"))], check=True)
    try:
        wait_for("node-2 to turn Unknown", lambda: node_condition(cluster, "node-2") == "Unknown", timeout=30)
        replaced = wait_for("4 Ready pods on node-1", lambda: (lambda pods: pods if len(pods) == 4 and all(
            pod["spec"]["nodeName"] == "node-1" for pod in pods) else None)(
            ready_pods(cluster, namespace, "app=web")), timeout=60)
        assert not doomed & {pod["metadata"]["name"] for pod in replaced}
        evicted = [pod for pod in cluster.pods(namespace, "app=web") if pod["metadata"]["name"] in doomed]
        assert all(not is_live(pod) for pod in evicted)  # marked for deletion; the dead agent cannot confirm it
        taints = {t["key"] for t in cluster.api.get("/api/v1/nodes/node-2").json()["spec"].get("taints") or []}
        assert "node.kubernetes.io/unreachable" in taints
    finally:
        cluster.cli("up")  # brings back only the killed agent
        wait_for("node-2 to be Ready again", lambda: node_healthy(cluster, "node-2"), timeout=60)
    wait_for("the evicted pods to be finalised by the returning agent", lambda: not doomed & {
        pod["metadata"]["name"] for pod in cluster.pods(namespace, "app=web")}, timeout=60)


def test_drain_moves_every_pod_off_a_node(cluster: Cluster, namespace: str) -> None:
    start_web(cluster, namespace, replicas=4)
    try:
        result = cluster.kubectl("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data",
                                 "--timeout=60s")
        assert "node/node-1 drained" in result.stdout
        assert "evicting pod" in result.stdout + result.stderr  # through the Eviction API, not plain deletes
        assert cluster.api.get("/api/v1/nodes/node-1").json()["spec"]["unschedulable"] is True
        wait_for("4 Ready pods, all on node-2", lambda: (lambda pods: len(pods) == 4 and all(
            pod["spec"]["nodeName"] == "node-2" for pod in pods))(ready_pods(cluster, namespace, "app=web")),
            timeout=60)
        wait_for("node-1 to hold no pod", lambda: not cluster.api.get(
            "/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-1"}).json()["items"], timeout=30)
    finally:
        cluster.kubectl("uncordon", "node-1")
    assert not cluster.api.get("/api/v1/nodes/node-1").json()["spec"].get("unschedulable")


def test_a_pod_that_fits_no_node_stays_pending_and_says_why(cluster: Cluster, namespace: str) -> None:
    pod = busybox_pod("hog", "exec sleep 3600", container={"resources": {"requests": {"cpu": "1000"}}})
    del pod["spec"]["nodeName"]
    cluster.create_pod(pod, namespace)

    def unschedulable() -> dict[str, Any] | None:
        found = cluster.pod("hog", namespace) or {}
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "PodScheduled" and c["status"] == "False"), None)

    condition = wait_for("PodScheduled False", unschedulable)
    assert condition["reason"] == "Unschedulable"
    assert condition["message"] == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                                    "2 No preemption victims found for incoming pod..")  # kube-scheduler's double period
    found = cluster.pod("hog", namespace) or {}
    assert found["status"]["phase"] == "Pending" and not found["spec"].get("nodeName")

    def failed_scheduling() -> list[dict[str, Any]]:
        events = cluster.api.get(f"/api/v1/namespaces/{namespace}/events",
                                 params={"fieldSelector": "involvedObject.name=hog"}).json()["items"]
        return [e for e in events if e["reason"] == "FailedScheduling"]

    event = wait_for("a FailedScheduling event", failed_scheduling)[0]
    assert event["type"] == "Warning" and event["message"] == condition["message"]


def test_a_daemonset_runs_one_pod_per_node(cluster: Cluster, namespace: str) -> None:
    template = busybox_pod("unused", "exec sleep 3600", grace=1)
    template["spec"].pop("nodeName")
    cluster.apply(namespace, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                                       "template": {"metadata": {"labels": {"app": "agent"}},
                                                    "spec": template["spec"]}}})

    def settled() -> dict[str, Any] | None:
        status = cluster.api.get(f"{APPS}/{namespace}/daemonsets/agent").json().get("status") or {}
        return status if status.get("desiredNumberScheduled") == 2 and status.get("numberReady") == 2 else None

    wait_for("the DaemonSet to have a Ready pod on each node", settled)
    pods = cluster.pods(namespace, "app=agent")
    assert sorted(pod["spec"]["nodeName"] for pod in pods) == sorted(NODES)
    assert all(pod["status"]["phase"] == "Running" for pod in pods)


def containers_of(namespace: str) -> list[str]:
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=minik8s.io/pod-namespace={namespace}"],
                            capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_deleting_a_deployment_removes_its_replicasets_and_pods(cluster: Cluster, namespace: str) -> None:
    start_web(cluster, namespace)
    cluster.kubectl("patch", "-n", namespace, "deployment/web", "-p",
                    '{"spec":{"template":{"metadata":{"annotations":{"rev":"2"}}}}}')
    wait_rolled_out(cluster, namespace, "web")
    assert len(replica_sets(cluster, namespace, "app=web")) == 2
    cluster.kubectl("delete", "-n", namespace, "deployment/web")
    wait_for("the ReplicaSets and pods to be gone", lambda: not replica_sets(cluster, namespace, "app=web")
             and not cluster.pods(namespace, "app=web"), timeout=60)
    wait_for("their containers to be removed", lambda: not containers_of(namespace), timeout=30)


def test_deleting_a_namespace_removes_its_contents_then_itself(cluster: Cluster) -> None:
    name = "wl-doomed"
    cluster.create("/api/v1/namespaces", {"metadata": {"name": name}})
    try:
        cluster.apply(name, web_deployment("web", replicas=2),
                      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}})
        wait_rolled_out(cluster, name, "web")
        response = cluster.api.delete(f"/api/v1/namespaces/{name}")
        assert response.status_code in (200, 202), response.text
        assert response.json()["status"]["phase"] == "Terminating"
        wait_for("the namespace to be gone", lambda: cluster.api.get(f"/api/v1/namespaces/{name}").status_code
                 == 404, timeout=60)
        for kind in ("pods", "services", "configmaps"):
            assert cluster.api.get(f"/api/v1/namespaces/{name}/{kind}").json()["items"] == [], kind
        for kind in ("deployments", "replicasets"):
            assert cluster.api.get(f"{APPS}/{name}/{kind}").json()["items"] == [], kind
        wait_for("their containers to be removed", lambda: not containers_of(name), timeout=30)
    finally:
        cluster.api.delete(f"/api/v1/namespaces/{name}")
        wait_for("the namespace to be gone", lambda: cluster.api.get(f"/api/v1/namespaces/{name}").status_code
                 == 404, timeout=60)
