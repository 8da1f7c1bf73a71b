"""Endpoints lead the proxy's traffic: the API refuses addresses that are this host or its node-local services.

An Endpoints at 127.0.0.1 or 169.254.169.254 would have the proxy DNAT a pod's Service traffic to the
node itself or to its cloud metadata server; Kubernetes answers 422 with ValidateNonSpecialIP's words,
on create and update alike, and so must minik8s. The apiserver's own `kubernetes` Endpoints follows the
same rule: an apiserver advertising loopback is not written into it.
"""

from __future__ import annotations

import httpx

from minik8s.api.kinds import ENDPOINTS, NAMESPACES
from minik8s.apiserver.bootstrap import bootstrap
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore
from tests.support import builders

ENDPOINTS_URL = "/api/v1/namespaces/default/endpoints"
LOOPBACK = "may not be in the loopback range (127.0.0.0/8, ::1/128)"


async def test_an_endpoint_at_loopback_is_refused_as_kubernetes_refuses_it(api: httpx.AsyncClient) -> None:
    response = await api.post(ENDPOINTS_URL, json=builders.endpoints("web", ["10.244.1.5", "127.0.0.1"]))
    assert response.status_code == 422, response.text
    status = response.json()
    assert (status["reason"], status["message"]) == (
        "Invalid", f'Endpoints "web" is invalid: subsets[0].addresses[1].ip: Invalid value: "127.0.0.1": {LOOPBACK}')
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "subsets[0].addresses[1].ip",
                                            "message": f'Invalid value: "127.0.0.1": {LOOPBACK}'}]


async def test_an_update_may_not_move_an_endpoint_to_the_metadata_server(api: httpx.AsyncClient) -> None:
    created = await api.post(ENDPOINTS_URL, json=builders.endpoints("web", ["10.244.1.5"]))
    assert created.status_code == 201, created.text
    moved = created.json()
    moved["subsets"][0]["addresses"] = [{"ip": "169.254.169.254"}]
    response = await api.put(f"{ENDPOINTS_URL}/web", json=moved)
    assert response.status_code == 422
    assert "may not be in the link-local range (169.254.0.0/16, fe80::/10)" in response.json()["message"]
    patched = await api.patch(f"{ENDPOINTS_URL}/web", json={"subsets": [{"notReadyAddresses": [{"ip": "0.0.0.0"}],
                                                                         "ports": [{"port": 80}]}]},
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.status_code == 422 and "may not be unspecified (0.0.0.0)" in patched.json()["message"]
    kept = await api.get(f"{ENDPOINTS_URL}/web")
    assert kept.json()["subsets"][0]["addresses"] == [{"ip": "10.244.1.5"}]


async def test_a_service_may_not_take_external_ips_on_the_node_itself(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/namespaces/default/services",
                              json=builders.service("web", externalIPs=["127.0.0.1"]))
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "spec.externalIPs[0]"


async def test_replicas_register_in_the_kubernetes_endpoints_and_clear_loopback_left_behind() -> None:
    ops = Operations(ObjectStore(LocalStore(history=100)))
    await ops.create(NAMESPACES, None, {"metadata": {"name": "default"}})
    legacy = {"metadata": {"name": "kubernetes"}, "subsets": [
        {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}
    await ops.objects.create(ENDPOINTS, ops.check_body(ENDPOINTS, "default", legacy, strict=False))  # as stored
    await bootstrap(ops, ("10.0.0.5", 6443))
    await bootstrap(ops, ("10.0.0.6", 6443))
    await bootstrap(ops, ("127.0.0.1", 6444))  # not written, and the others are kept
    endpoints = await ops.get(ENDPOINTS, "default", "kubernetes")
    assert endpoints["subsets"] == [{"addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}],
                                     "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
