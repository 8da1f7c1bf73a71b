"""The real kubectl (v1.32) `create` generators, which send protobuf bodies, against an in-process apiserver."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.support.kubectl import Kubectl
from tests.support.serving import ThreadedApiserver


def read(apiserver: ThreadedApiserver, path: str) -> dict[str, Any]:
    response = httpx.get(apiserver.url + path, timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_deployment(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    created = kubectl("create", "deployment", "web", "--image=minik8s/busybox:latest", "--replicas=0", "--port=8080")
    assert created.stdout.strip() == "deployment.apps/web created"
    deployment = read(apiserver, "/apis/apps/v1/namespaces/default/deployments/web")
    assert deployment["spec"]["replicas"] == 0  # a pointer present as zero is not lost
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert deployment["metadata"]["labels"] == {"app": "web"}
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("busybox", "minik8s/busybox:latest")
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"  # server defaults still apply


def test_create_namespace_and_objects_in_it(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    assert kubectl("create", "namespace", "team").stdout.strip() == "namespace/team created"
    assert read(apiserver, "/api/v1/namespaces/team")["status"]["phase"] == "Active"
    created = kubectl("-n", "team", "create", "configmap", "settings", "--from-literal=mode=fast",
                      "--from-literal=level=3")
    assert created.stdout.strip() == "configmap/settings created"
    assert read(apiserver, "/api/v1/namespaces/team/configmaps/settings")["data"] == {"mode": "fast", "level": "3"}


def test_create_secret_generic(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    created = kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cr3t")
    assert created.stdout.strip() == "secret/creds created"
    secret = read(apiserver, "/api/v1/namespaces/default/secrets/creds")
    assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t"
    assert secret["type"] == "Opaque"


@pytest.mark.parametrize(("kind", "extra", "expected_type", "node_port"), [
    ("clusterip", [], "ClusterIP", None),
    ("nodeport", ["--node-port=30081"], "NodePort", 30081),
])
def test_create_service(kubectl: Kubectl, apiserver: ThreadedApiserver, kind: str, extra: list[str],
                        expected_type: str, node_port: int | None) -> None:
    name = f"svc-{kind}"
    created = kubectl("create", "service", kind, name, "--tcp=80:8080", *extra)
    assert created.stdout.strip() == f"service/{name} created"
    service = read(apiserver, f"/api/v1/namespaces/default/services/{name}")
    assert service["spec"]["type"] == expected_type
    assert service["spec"]["selector"] == {"app": name}
    [port] = service["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")
    assert port.get("nodePort") == node_port


def test_run_a_pod(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    created = kubectl("run", "runner", "--image=minik8s/busybox:latest", "--labels=tier=batch", "--restart=Never",
                      "--", "sleep", "60")
    assert created.stdout.strip() == "pod/runner created"
    pod = read(apiserver, "/api/v1/namespaces/default/pods/runner")
    assert pod["metadata"]["labels"] == {"tier": "batch"}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["args"] == ["sleep", "60"]


def test_a_duplicate_create_prints_already_exists(kubectl: Kubectl) -> None:
    kubectl("create", "configmap", "twice", "--from-literal=a=b")
    again = kubectl("create", "configmap", "twice", "--from-literal=a=b", check=False)
    assert again.returncode != 0
    assert again.stderr.strip() == 'error: failed to create configmap: configmaps "twice" already exists'


def test_a_malformed_protobuf_body_is_a_bad_request(apiserver: ThreadedApiserver) -> None:
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    response = httpx.post(f"{apiserver.url}/api/v1/namespaces/default/configmaps", content=b"k8s\x00\x0a\xff",
                          headers=headers, timeout=5)
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"


def test_create_quota_and_read_it_back_as_kubectl_prints_it(kubectl: Kubectl, apiserver: ThreadedApiserver) -> None:
    kubectl("create", "namespace", "quotas")
    created = kubectl("-n", "quotas", "create", "quota", "q", "--hard=pods=2,requests.cpu=1,limits.memory=2048Mi")
    assert created.stdout.strip() == "resourcequota/q created"
    quota = read(apiserver, "/api/v1/namespaces/quotas/resourcequotas/q")
    assert quota["spec"]["hard"] == {"pods": "2", "requests.cpu": "1", "limits.memory": "2Gi"}
    scoped = kubectl("-n", "quotas", "create", "quota", "idle", "--hard=pods=5", "--scopes=BestEffort,NotTerminating")
    assert scoped.stdout.strip() == "resourcequota/idle created"
    assert read(apiserver, "/api/v1/namespaces/quotas/resourcequotas/idle")["spec"]["scopes"] == [
        "BestEffort", "NotTerminating"]
    status = {"hard": quota["spec"]["hard"], "used": {"pods": "1", "requests.cpu": "500m", "limits.memory": "0"}}
    written = httpx.put(f"{apiserver.url}/api/v1/namespaces/quotas/resourcequotas/q/status", timeout=5,
                        json={**quota, "status": status})
    assert written.status_code == 200, written.text
    [header, row] = kubectl("-n", "quotas", "get", "quota", "q").stdout.splitlines()
    assert header.split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert row.split(None, 2)[0] == "q"
    assert row.endswith("pods: 1/2, requests.cpu: 500m/1   limits.memory: 0/2Gi")
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "quotas"},
              "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "defaultRequest": {"cpu": "250m"}}]}}
    assert httpx.post(f"{apiserver.url}/api/v1/namespaces/quotas/limitranges", json=limits, timeout=5).status_code == 201
    assert kubectl("-n", "quotas", "get", "limits").stdout.splitlines()[0].split() == ["NAME", "CREATED", "AT"]
    described = kubectl("describe", "namespace", "quotas").stdout  # kubectl's own describer reads both kinds
    assert "Resource Quotas\n  Name:    idle\n  Scopes:  BestEffort, NotTerminating\n" in described
    assert "  Name:          q\n  Resource       Used  Hard\n" in described
    assert "  requests.cpu   500m  1\n" in described
    assert " Container  cpu       -    2    250m             2              -\n" in described
