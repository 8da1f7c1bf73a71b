"""A StatefulSet of 3 on two Docker nodes: pod 1 deleted comes back with its name, its DNS name and its data.

What a user of a StatefulSet relies on, through the real kubectl: web-0, web-1, web-2 come up in order
behind the headless Service `web`; `kubectl rollout status` says the rollout is complete; from another pod
`web-1.web.<ns>.svc.cluster.local` resolves to web-1's address and reaches it; after `kubectl delete pod
web-1` a new web-1 (another uid, maybe another address) answers under the same name. Each pod has a
volumeClaimTemplate `www` (a PVC `www-web-<ordinal>` from the default StorageClass): web-1 writes a file
into it before it is deleted, and its replacement reads the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import WEB_SERVER, Cluster, busybox_pod, is_live, is_ready
from tests.support import builders
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

NAMESPACE = "e2e-sts"
DATA_FILE = "/data/proof"


def stateful_set() -> dict[str, Any]:
    """busybox httpd on :8080 answering with its hostname (web-N); Ready once it serves."""
    container = builders.container("web", imagePullPolicy="IfNotPresent", command=["sh", "-c", WEB_SERVER],
                                   ports=[{"name": "http", "containerPort": 8080}],
                                   readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1})
    spec: dict[str, Any] = {"replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}}
    container["volumeMounts"] = [{"name": "www", "mountPath": "/data"}]
    spec["volumeClaimTemplates"] = [{"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": spec}


def headless_service() -> dict[str, Any]:
    return builders.service("web", namespace=None, cluster_ip="None", selector={"app": "web"},
                            ports=[{"name": "http", "port": 8080, "targetPort": 8080}])


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    with cluster.namespace(NAMESPACE) as created:
        yield created
    # claims outlive their pods (the Retain policy): the namespace's deletion removes them with it


def ready_pods(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    return {pod["metadata"]["name"]: pod for pod in cluster.pods(namespace, "app=web") if is_live(pod) and is_ready(pod)}


def in_client(cluster: Cluster, namespace: str, script: str) -> str:
    result = cluster.kubectl("exec", "-n", namespace, "client", "--", "sh", "-c", script, check=False)
    assert result.returncode == 0, (script, result.stdout, result.stderr)
    return result.stdout.strip()


def resolved(cluster: Cluster, namespace: str, name: str) -> list[str]:
    answer = cluster.kubectl("exec", "-n", namespace, "client", "--", "nslookup", name, check=False)
    return re.findall(r"^Address: (\S+)$", answer.stdout, flags=re.MULTILINE)


def test_pod_1_deleted_comes_back_with_the_same_name_dns_name_and_data(cluster: Cluster, namespace: str) -> None:
    cluster.apply(namespace, headless_service(), stateful_set(),
                  busybox_pod("client", "exec sleep 3600", node="node-2", grace=0))
    pods = wait_for("web-0, web-1, web-2 Running and Ready", lambda: (
        found if sorted(found := ready_pods(cluster, namespace)) == ["web-0", "web-1", "web-2"] else None), timeout=180)
    started = [pods[name]["status"]["startTime"] for name in ("web-0", "web-1", "web-2")]
    assert started == sorted(started), started  # OrderedReady: each started once the one before was Ready
    rollout = cluster.kubectl("rollout", "status", "statefulset/web", "-n", namespace, "--timeout=60s")
    assert "partitioned roll out complete: 3 new pods have been updated..." in rollout.stdout, rollout.stdout
    listed = cluster.kubectl("get", "statefulset", "web", "-n", namespace).stdout.splitlines()
    assert listed[0].split() == ["NAME", "READY", "AGE"] and listed[1].split()[:2] == ["web", "3/3"]

    wait_for("the client pod to be Ready", lambda: (pod := cluster.pod("client", namespace)) and is_ready(pod))
    fqdn = f"web-1.web.{namespace}.svc.cluster.local"
    wait_for(f"{fqdn} to resolve to web-1", lambda: resolved(cluster, namespace, fqdn) ==
             [pods["web-1"]["status"]["podIP"]], timeout=30)
    assert in_client(cluster, namespace, f"wget -qO- http://{fqdn}:8080/") == "web-1"
    cluster.kubectl("exec", "-n", namespace, "web-1", "--", "sh", "-c", f"echo kept-by-web-1 > {DATA_FILE}")

    old_uid = pods["web-1"]["metadata"]["uid"]
    cluster.kubectl("delete", "pod", "web-1", "-n", namespace)

    def replacement() -> dict[str, Any] | None:
        pod = ready_pods(cluster, namespace).get("web-1")
        return pod if pod is not None and pod["metadata"]["uid"] != old_uid else None

    web_1 = wait_for("a new web-1 to be Ready", replacement, timeout=120)
    assert web_1["spec"]["hostname"] == "web-1" and web_1["spec"]["subdomain"] == "web"
    wait_for(f"{fqdn} to resolve to the new web-1", lambda: resolved(cluster, namespace, fqdn) ==
             [web_1["status"]["podIP"]], timeout=30)
    assert in_client(cluster, namespace, f"wget -qO- http://{fqdn}:8080/") == "web-1"
    kept = cluster.kubectl("exec", "-n", namespace, "web-1", "--", "cat", DATA_FILE)
    assert kept.stdout.strip() == "kept-by-web-1"
    claims = cluster.kubectl("get", "pvc", "-n", namespace, "-o", "name").stdout.split()
    assert sorted(claims) == [f"persistentvolumeclaim/www-web-{n}" for n in range(3)]
