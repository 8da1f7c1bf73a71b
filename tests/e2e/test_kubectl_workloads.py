"""The real kubectl (v1.32) driving running workloads on two Docker nodes.

watch, wait, logs and exec reach real containers through the apiserver; scale, set image and the
rollout verbs move a Deployment between ReplicaSets; cordon, drain and uncordon move pods off a
node. Each test works in a namespace of its own and leaves both nodes schedulable.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import TICKER, Cluster, ticker_deployment
from tests.e2e.kubectl_output import LineStream, column, header_of, parse_table
from tests.support import builders
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

V2_IMAGE = "minik8s/busybox:kubectl-v2"


def kubectl_argv(cluster: Cluster, *args: str) -> list[str]:
    return ["kubectl", "--kubeconfig", str(cluster.home / "kubeconfig"), "--cache-dir",
            str(cluster.home / "kubectl-cache"), *args]


def apply(cluster: Cluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))


def rollout_status(cluster: Cluster, namespace: str, name: str = "web") -> None:
    done = cluster.kubectl("rollout", "status", "-n", namespace, f"deployment/{name}", "--timeout=90s").stdout
    assert done.splitlines()[-1] == f'deployment "{name}" successfully rolled out'


def history(cluster: Cluster, namespace: str) -> list[str]:
    printed = cluster.kubectl("rollout", "history", "-n", namespace, "deployment/web").stdout
    lines = [line for line in printed.splitlines() if line.strip()]
    start = next(index for index, line in enumerate(lines) if line.startswith("REVISION"))
    return column(parse_table("\n".join(lines[start:])), "REVISION")


def image_of(cluster: Cluster, namespace: str) -> str:
    return cluster.kubectl("get", "-n", namespace, "deployment", "web", "-o",
                           "jsonpath={.spec.template.spec.containers[0].image}").stdout


@pytest.fixture
def v2_image() -> Iterator[str]:
    """The busybox image under a second tag, so `set image` has somewhere to go."""
    subprocess.run(["docker", "tag", "minik8s/busybox:latest", V2_IMAGE], check=True, capture_output=True)
    yield V2_IMAGE
    subprocess.run(["docker", "rmi", V2_IMAGE], capture_output=True)


def two_container_pod() -> dict[str, Any]:
    def container(name: str, command: str) -> dict[str, Any]:
        return {"name": name, "image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", command]}

    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo", "labels": {"app": "duo"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [container("main", TICKER), container("side", "echo side ready; exec sleep 3600")]}}


def test_watch_wait_logs_and_exec_on_a_running_pod(cluster: Cluster) -> None:
    with cluster.namespace("kc-pod") as namespace:
        with LineStream(kubectl_argv(cluster, "get", "pods", "-n", namespace, "-w")) as watch:
            apply(cluster, namespace, two_container_pod())
            watch.wait_for("a Running row", lambda line: line.split()[:3] == ["duo", "2/2", "Running"])
            assert watch.lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        met = cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/duo", "--timeout=30s")
        assert met.stdout.strip() == "pod/duo condition met"

        assert cluster.kubectl("logs", "-n", namespace, "duo", "-c", "side").stdout == "side ready\n"
        wait_for("three lines of log", lambda: cluster.kubectl("logs", "-n", namespace, "duo", "-c", "main")
                 .stdout.count("\n") >= 3)
        tail = cluster.kubectl("logs", "-n", namespace, "duo", "-c", "main", "--tail=2").stdout.splitlines()
        assert len(tail) == 2 and all(line.startswith("line ") for line in tail)
        with LineStream(kubectl_argv(cluster, "logs", "-f", "-n", namespace, "duo", "-c", "main",
                                     "--tail=1")) as follow:
            first = follow.wait_for("a line", lambda line: line.startswith("line "))
            later = follow.wait_for("a later line", lambda line: line.startswith("line ") and line != first)
            assert int(later.split()[1]) > int(first.split()[1])  # streamed live, not a snapshot

        said = cluster.kubectl("exec", "-n", namespace, "duo", "-c", "side", "--", "sh", "-c", "echo $HOSTNAME")
        assert said.stdout == "duo\n"
        echoed = cluster.kubectl("exec", "-i", "-n", namespace, "duo", "-c", "side", "--", "cat",
                                 stdin="through stdin\n")
        assert echoed.stdout == "through stdin\n"
        failed = cluster.kubectl("exec", "-n", namespace, "duo", "--", "sh", "-c", "exit 3", check=False)
        assert failed.returncode == 3 and failed.stderr.splitlines() == [
            'Defaulted container "main" out of: main, side', "command terminated with exit code 3"]

        started = time.monotonic()
        forward = cluster.kubectl("port-forward", "-n", namespace, "pod/duo", "18080:8080", check=False)
        assert forward.returncode == 1 and time.monotonic() - started < 10
        assert forward.stderr.startswith("error: error upgrading connection: port-forward is not supported by minik8s")

        described = cluster.kubectl("describe", "-n", namespace, "pod", "duo").stdout
        for section in ("Name:             duo", "Service Account:  default", "Node:             node-", "Containers:", "  main:", "  side:",
                        "Conditions:", "Events:", "Started container side"):
            assert section in described, section
        assert cluster.kubectl("delete", "-n", namespace, "pod", "duo").stdout.strip() == 'pod "duo" deleted'
        assert cluster.pod("duo", namespace) is None


def test_scale_set_image_rollout_history_undo_restart_label_and_annotate(cluster: Cluster, v2_image: str) -> None:
    with cluster.namespace("kc-rollout") as namespace:
        apply(cluster, namespace, ticker_deployment("web", replicas=2))
        rollout_status(cluster, namespace)
        scaled = cluster.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=3").stdout.strip()
        assert scaled == "deployment.apps/web scaled"
        rollout_status(cluster, namespace)
        assert parse_table(cluster.kubectl("get", "-n", namespace, "deployment", "web").stdout)[0]["READY"] == "3/3"

        updated = cluster.kubectl("set", "image", "-n", namespace, "deployment/web", f"main={v2_image}")
        assert updated.stdout.strip() == "deployment.apps/web image updated"
        rollout_status(cluster, namespace)
        assert history(cluster, namespace) == ["1", "2"]
        undone = cluster.kubectl("rollout", "undo", "-n", namespace, "deployment/web").stdout.strip()
        assert undone == "deployment.apps/web rolled back"
        rollout_status(cluster, namespace)
        assert image_of(cluster, namespace) == "minik8s/busybox:latest"
        assert history(cluster, namespace) == ["2", "3"]  # revision 1's ReplicaSet came back as revision 3
        restarted = cluster.kubectl("rollout", "restart", "-n", namespace, "deployment/web").stdout.strip()
        assert restarted == "deployment.apps/web restarted"
        rollout_status(cluster, namespace)
        assert history(cluster, namespace) == ["2", "3", "4"]
        replica_sets = parse_table(cluster.kubectl("get", "-n", namespace, "replicasets").stdout)
        assert sorted(row["DESIRED"] for row in replica_sets) == ["0", "0", "3"]

        logs = cluster.kubectl("logs", "-n", namespace, "deployment/web", "--tail=1")
        assert logs.stdout.startswith("line ")
        labelled = cluster.kubectl("label", "-n", namespace, "deployment", "web", "tier=front").stdout.strip()
        assert labelled == "deployment.apps/web labeled"
        assert parse_table(cluster.kubectl("get", "-n", namespace, "deployments", "-l", "tier=front").stdout)[0][
            "NAME"] == "web"
        noted = cluster.kubectl("annotate", "-n", namespace, "deployment", "web", "owner=team-a").stdout.strip()
        assert noted == "deployment.apps/web annotated"
        owner = cluster.kubectl("get", "-n", namespace, "deployment", "web", "-o",
                                "jsonpath={.metadata.annotations.owner}").stdout
        assert owner == "team-a"
        replica_set = cluster.kubectl("describe", "-n", namespace, "replicaset", "-l", "app=web").stdout
        assert "Controlled By:  Deployment/web" in replica_set and "Replicas:       3 current / 3 desired" in replica_set


def daemon_set() -> dict[str, Any]:
    container = builders.container("agent", imagePullPolicy="IfNotPresent", command=["sh", "-c", "exec sleep 3600"])
    return builders.daemon_set("agent", pod_spec={"terminationGracePeriodSeconds": 1, "containers": [container]})


def nodes_of(cluster: Cluster, namespace: str, selector: str) -> list[str]:
    return sorted(pod["spec"].get("nodeName", "") for pod in cluster.pods(namespace, selector)
                  if not pod["metadata"].get("deletionTimestamp"))


def test_cordon_drain_and_uncordon_a_node(cluster: Cluster) -> None:
    with cluster.namespace("kc-drain") as namespace:
        try:
            drain_node_2(cluster, namespace)
        finally:
            cluster.kubectl("uncordon", "node-2", check=False)


def drain_node_2(cluster: Cluster, namespace: str) -> None:
    apply(cluster, namespace, ticker_deployment("web", replicas=2), daemon_set())
    rollout_status(cluster, namespace)
    wait_for("a daemon pod on each node", lambda: nodes_of(cluster, namespace, "app=agent") == ["node-1", "node-2"])
    daemon_sets = cluster.kubectl("get", "-n", namespace, "daemonsets").stdout
    assert header_of(daemon_sets) == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                      "NODE SELECTOR", "AGE"]
    assert wait_for("the DaemonSet to count both pods ready", lambda: parse_table(
        cluster.kubectl("get", "-n", namespace, "daemonsets").stdout)[0]["READY"] == "2")

    assert cluster.kubectl("cordon", "node-2").stdout.strip() == "node/node-2 cordoned"
    nodes = {row["NAME"]: row["STATUS"] for row in parse_table(cluster.kubectl("get", "nodes").stdout)}
    assert nodes == {"node-1": "Ready", "node-2": "Ready,SchedulingDisabled"}
    assert "Unschedulable:      true" in cluster.kubectl("describe", "node", "node-2").stdout
    assert cluster.kubectl("uncordon", "node-2").stdout.strip() == "node/node-2 uncordoned"
    before = [pod["metadata"]["name"] for pod in cluster.pods(namespace, "app=web")
              if pod["spec"].get("nodeName") == "node-2"]
    assert before, "the scheduler spreads the two replicas over both nodes"

    drained = cluster.kubectl("drain", "node-2", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                              "--timeout=60s")
    printed = drained.stdout.splitlines()
    assert printed[0] == "node/node-2 cordoned" and printed[-1] == "node/node-2 drained"
    assert "Warning: ignoring DaemonSet-managed Pods: " in drained.stderr
    for name in before:
        assert f"evicting pod {namespace}/{name}" in printed and f"pod/{name} evicted" in printed
    on_node_2 = [pod["metadata"]["name"] for pod in cluster.pods(namespace, "app=web")
                 if pod["spec"].get("nodeName") == "node-2"]
    assert not on_node_2  # drain returns once the evicted pods are gone
    assert nodes_of(cluster, namespace, "app=agent") == ["node-1", "node-2"]  # DaemonSet pods stay
    rollout_status(cluster, namespace)
    assert nodes_of(cluster, namespace, "app=web") == ["node-1", "node-1"]
    assert cluster.kubectl("uncordon", "node-2").stdout.strip() == "node/node-2 uncordoned"
    nodes = {row["NAME"]: row["STATUS"] for row in parse_table(cluster.kubectl("get", "nodes").stdout)}
    assert nodes == {"node-1": "Ready", "node-2": "Ready"}
