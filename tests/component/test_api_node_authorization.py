"""`--authorization-mode=Node,RBAC` through the apiserver: a node reads and writes only what its pods need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.api.user import SYSTEM_NODES
from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user

N1 = as_user("system:node:n1", SYSTEM_NODES)
PODS = "/api/v1/namespaces/default/pods"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def pod(name: str, node: str, secret: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}],
                     "volumes": [{"name": "s", "secret": {"secretName": secret}}]}}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """A Node,RBAC apiserver with nodes n1 and n2, each running a pod that mounts its own Secret."""
    async with apiserver_serving(history=500, authorization_mode="Node,RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=5, headers={TEST_USER_HEADER: ADMIN}) as client:
        for node in ("n1", "n2"):
            assert (await client.post("/api/v1/nodes", json={"metadata": {"name": node}})).status_code == 201
            secret = {"metadata": {"name": f"{node}-secret"}, "stringData": {"k": "v"}}
            assert (await client.post("/api/v1/namespaces/default/secrets", json=secret)).status_code == 201
            assert (await client.post(PODS, json=pod(f"{node}-pod", node, f"{node}-secret"))).status_code == 201
        yield client


async def test_a_node_reads_only_its_pods_secrets(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/namespaces/default/secrets/n1-secret", headers=N1)).status_code == 200
    refused = await api.get("/api/v1/namespaces/default/secrets/n2-secret", headers=N1)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'secrets "n2-secret" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" '
        "in the namespace \"default\": no relationship found between node 'n1' and this object")
    assert (await api.get("/api/v1/namespaces/default/secrets", headers=N1)).status_code == 403
    assert (await api.get("/api/v1/namespaces/default/secrets/n1-secret",
                          headers=as_user("mallory"))).status_code == 403


async def test_a_node_lists_its_own_pods_and_reads_its_own_node(api: httpx.AsyncClient) -> None:
    mine = await api.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=n1"}, headers=N1)
    assert mine.status_code == 200 and [p["metadata"]["name"] for p in mine.json()["items"]] == ["n1-pod"]
    everyone = await api.get("/api/v1/pods", headers=N1)
    assert everyone.status_code == 403
    assert everyone.json()["message"].endswith(": can only list/watch pods with spec.nodeName field selector")
    assert (await api.get(f"{PODS}/n1-pod", headers=N1)).status_code == 200
    assert (await api.get(f"{PODS}/n2-pod", headers=N1)).status_code == 403
    assert (await api.get("/api/v1/nodes/n1", headers=N1)).status_code == 200
    assert (await api.get("/api/v1/nodes/n2", headers=N1)).status_code == 403
    assert (await api.get("/api/v1/namespaces/default/services", headers=N1)).status_code == 200


async def test_the_graph_follows_pods_created_later(api: httpx.AsyncClient) -> None:
    url = "/api/v1/namespaces/default/secrets/n2-secret"
    assert (await api.get(url, headers=N1)).status_code == 403
    assert (await api.post(PODS, json=pod("borrower", "n1", "n2-secret"))).status_code == 201
    assert (await api.get(url, headers=N1)).status_code == 200
    assert (await api.delete(f"{PODS}/borrower?gracePeriodSeconds=0")).status_code == 200
    assert (await api.get(url, headers=N1)).status_code == 403


async def test_a_node_updates_only_its_own_node(api: httpx.AsyncClient) -> None:
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    merge = {"content-type": "application/merge-patch+json", **N1}
    assert (await api.patch("/api/v1/nodes/n1/status", json=patch, headers=merge)).status_code == 200
    refused = await api.patch("/api/v1/nodes/n2/status", json=patch, headers=merge)
    assert refused.status_code == 403
    assert refused.json()["message"] == 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'
    node = (await api.get("/api/v1/nodes/n1", headers=N1)).json()
    node.setdefault("spec", {})["taints"] = [{"key": "k", "effect": "NoSchedule"}]
    tainted = await api.put("/api/v1/nodes/n1", json=node, headers=N1)
    assert tainted.status_code == 403 and "not allowed to modify taints" in tainted.json()["message"]
    patched = await api.patch("/api/v1/nodes/n1", json={"spec": {"taints": []}, "metadata": {"labels": {"a": "b"}}},
                              headers=merge)
    assert patched.status_code == 200  # no taint changed
    taint = {"spec": {"taints": [{"key": "k", "effect": "NoExecute"}]}}
    assert (await api.patch("/api/v1/nodes/n1", json=taint, headers=merge)).status_code == 403


async def test_a_node_renews_only_its_own_lease(api: httpx.AsyncClient) -> None:
    for name in ("n1", "n2"):
        lease = {"metadata": {"name": name}, "spec": {"holderIdentity": name, "leaseDurationSeconds": 40}}
        assert (await api.post(LEASES, json=lease)).status_code == 201
    own = (await api.get(f"{LEASES}/n1", headers=N1)).json()
    own["spec"]["renewTime"] = "2026-01-01T00:00:00.000000Z"
    assert (await api.put(f"{LEASES}/n1", json=own, headers=N1)).status_code == 200
    assert (await api.get(f"{LEASES}/n2", headers=N1)).status_code == 403
    stolen = await api.post(LEASES, json={"metadata": {"name": "n3"}, "spec": {}}, headers=N1)
    assert stolen.status_code == 403
    assert stolen.json()["message"] == ('leases.coordination.k8s.io "n3" is forbidden: can only access node lease '
                                        "with the same name as the requesting node")


async def test_a_node_writes_status_of_its_own_pods_only(api: httpx.AsyncClient) -> None:
    merge = {"content-type": "application/merge-patch+json", **N1}
    status = {"status": {"phase": "Running"}}
    assert (await api.patch(f"{PODS}/n1-pod/status", json=status, headers=merge)).status_code == 200
    refused = await api.patch(f"{PODS}/n2-pod/status", json=status, headers=merge)
    assert refused.status_code == 403
    assert refused.json()["message"] == ('pods "n2-pod" is forbidden: node "n1" can only update pod status for pods '
                                         "with spec.nodeName set to itself")
    relabel = await api.patch(f"{PODS}/n1-pod/status", json={"metadata": {"labels": {"steal": "me"}}}, headers=merge)
    assert "steal" not in (relabel.json()["metadata"].get("labels") or {})  # a status write keeps the labels
    assert (await api.delete(f"{PODS}/n2-pod", headers=N1)).status_code == 403
    assert (await api.delete(f"{PODS}/n1-pod", headers=N1)).status_code == 200


async def test_a_node_creates_no_pods(api: httpx.AsyncClient) -> None:
    refused = await api.post(PODS, json=pod("sneaky", "n1", "n2-secret"), headers=N1)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, '
        'node "n1" can only create mirror pods')


async def test_other_users_stay_with_rbac(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/nodes", headers=as_user("alice"))).status_code == 403
    assert (await api.get("/api/v1/nodes")).status_code == 200  # system:masters
