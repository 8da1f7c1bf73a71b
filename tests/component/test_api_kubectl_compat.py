"""What the real kubectl asks for beyond plain CRUD, answered the way it needs (no kubectl here).

Each case is a request kubectl 1.32 was seen to send (see tests/e2e/test_kubectl_*.py for the real
thing): the OpenAPI v2 document it validates a `kind: List` against, the EndpointSlices `describe
service` reads, `port-forward` (not served: a clean Status, at once), and the strict-decoding error
of an unknown field.
"""

from __future__ import annotations

import httpx
import pytest

from minik8s.apiserver.discovery import OPENAPI_V2_PROTOBUF, openapi_v2_protobuf
from minik8s.apiserver.endpoint_slices import slices_of

ENDPOINTS = {"metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7"},
             "subsets": [{"addresses": [{"ip": "10.244.1.2", "nodeName": "node-1"}],
                          "notReadyAddresses": [{"ip": "10.244.2.3"}],
                          "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}


def test_the_openapi_v2_protobuf_is_a_gnostic_document_with_swagger_and_info() -> None:
    encoded = openapi_v2_protobuf()
    info = b"\x0a\x07minik8s\x12\x0fv1.32.0-minik8s"
    assert encoded == b"\x0a\x032.0" + b"\x12" + bytes([len(info)]) + info


def test_an_endpoints_subset_becomes_one_slice_with_ready_conditions() -> None:
    [endpoint_slice] = slices_of(ENDPOINTS)
    assert endpoint_slice["metadata"]["name"] == "web-0"
    assert endpoint_slice["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert endpoint_slice["addressType"] == "IPv4"
    assert [(e["addresses"], e["conditions"]["ready"]) for e in endpoint_slice["endpoints"]] == [
        (["10.244.1.2"], True), (["10.244.2.3"], False)]
    assert endpoint_slice["endpoints"][0]["nodeName"] == "node-1"
    assert endpoint_slice["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert slices_of({"metadata": {"name": "empty"}}) == []
    unnamed = {"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.244.1.2"}], "ports": [{"port": 80}]}]}
    assert slices_of(unnamed)[0]["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]  # kubectl dereferences all


async def test_openapi_v2_is_served_as_protobuf_or_json(api: httpx.AsyncClient) -> None:
    asked = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # what kubectl sends
    response = await api.get("/openapi/v2", headers={"accept": asked})
    assert response.status_code == 200 and response.headers["content-type"] == OPENAPI_V2_PROTOBUF
    assert response.content == openapi_v2_protobuf()
    # The protobuf kubectl validates a `kind: List` against names no schema, so it leaves that check to the
    # server; the JSON (for tools that read one document) is the whole API.
    document = (await api.get("/openapi/v2", headers={"accept": "application/json"})).json()
    assert document["swagger"] == "2.0" and "io.k8s.api.core.v1.Pod" in document["definitions"]
    assert {p["name"] for p in document["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["parameters"]} == {
        "name", "namespace", "pretty"}


async def test_endpoint_slices_list_mirrors_endpoints_by_service_name(api: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "web"}, "subsets": ENDPOINTS["subsets"]}
    assert (await api.post("/api/v1/namespaces/default/endpoints", json=body)).status_code == 201
    url = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    listed = (await api.get(url, params={"labelSelector": "kubernetes.io/service-name=web"})).json()
    assert listed["kind"] == "EndpointSliceList" and [s["metadata"]["name"] for s in listed["items"]] == ["web-0"]
    assert listed["items"][0]["metadata"]["namespace"] == "default"
    others = (await api.get(url, params={"labelSelector": "kubernetes.io/service-name=other"})).json()
    assert others["items"] == []
    elsewhere = {"metadata": {"name": "dns"}, "subsets": ENDPOINTS["subsets"]}
    assert (await api.post("/api/v1/namespaces/kube-system/endpoints", json=elsewhere)).status_code == 201
    everything = (await api.get("/apis/discovery.k8s.io/v1/endpointslices")).json()
    assert {s["metadata"]["name"] for s in everything["items"]} >= {"web-0", "dns-0"}
    refused = await api.post(url, json={"metadata": {"name": "x"}})
    assert refused.status_code == 405 and refused.json()["reason"] == "MethodNotAllowed"
    assert (await api.get(f"{url}/web-0")).status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_port_forward_is_refused_with_a_status_naming_the_alternatives(api: httpx.AsyncClient,
                                                                             method: str) -> None:
    response = await api.request(method, "/api/v1/namespaces/default/pods/web/portforward",
                                 headers={"X-Stream-Protocol-Version": "portforward.k8s.io"})
    status = response.json()
    assert response.status_code == 405 and status["kind"] == "Status" and status["reason"] == "MethodNotAllowed"
    assert status["message"].startswith("port-forward is not supported by minik8s")


async def test_an_unknown_field_under_strict_validation_is_worded_as_kubernetes_does(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/namespaces/default/configmaps", params={"fieldValidation": "Strict"},
                              json={"metadata": {"name": "c"}, "bogus": 1})
    assert response.status_code == 400
    assert response.json()["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: '
                                          'strict decoding error: unknown field "bogus"')
