"""A web page cannot drive the apiserver: bodies a browser sends without a preflight, and DNS rebinding.

A page on any site can POST to `http://127.0.0.1:6443` with no Content-Type (a Blob body in no-cors
mode) or a CORS-safelisted one (text/plain, a form); every route that takes a body answers 415 in
Kubernetes' words. A rebound name reaches the apiserver with the attacker's name in `Host`: 403.
Clients that are not browsers keep working: kubectl sends Content-Type, and the official Python
client sends none, which means JSON as in Kubernetes.
"""

from __future__ import annotations

import json

import httpx
import pytest

from minik8s.apiserver.app import create_app
from minik8s.daemon.request_guard import host_policy
from minik8s.store.base import LocalStore
from tests.support import builders
from tests.support.raw_upgrade import raw_upgrade
from tests.support.serving import serving

NS = "/api/v1/namespaces/default"
CM = f"{NS}/configmaps"
ACCEPTED = ("the body of the request was in an unknown format - accepted media types include: "
            "application/json, application/yaml, application/vnd.kubernetes.protobuf")
PATCH_ACCEPTED = ("the body of the request was in an unknown format - accepted media types include: "
                  "application/json-patch+json, application/merge-patch+json, "
                  "application/strategic-merge-patch+json, application/apply-patch+yaml")
BODY_ROUTES = [  # every route that takes a body
    ("POST", CM), ("POST", "/api/v1/namespaces"), ("PUT", f"{CM}/settings"), ("PUT", f"{NS}/pods/web/status"),
    ("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale"), ("POST", f"{NS}/pods/web/binding"),
    ("POST", f"{NS}/pods/web/eviction"), ("DELETE", f"{CM}/settings"), ("DELETE", CM),
    ("POST", "/apis/apps/v1/namespaces/default/deployments"),
]
# The Content-Types a page may send cross-site without a CORS preflight (the Fetch standard's safelist).
SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x"]
BROWSER = {"Origin": "http://evil.example", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"}


def configmap_body() -> bytes:
    return json.dumps(builders.config_map("settings", k="v")).encode()


def assert_unsupported(response: httpx.Response, message: str = ACCEPTED) -> None:
    assert response.status_code == 415, response.text
    assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": message, "reason": "UnsupportedMediaType", "code": 415}


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_every_body_route_refuses_what_a_page_sends_without_preflight(api: httpx.AsyncClient, method: str,
                                                                           path: str) -> None:
    for content_type in SIMPLE_TYPES:
        response = await api.request(method, path, content=configmap_body(), headers={"Content-Type": content_type})
        assert_unsupported(response)
    assert_unsupported(await api.request(method, path, content=configmap_body(), headers=BROWSER))


@pytest.mark.parametrize("content_type", [*SIMPLE_TYPES, None])
async def test_patch_needs_a_patch_content_type(api: httpx.AsyncClient, content_type: str | None) -> None:
    await api.post(CM, json=builders.config_map("settings", k="v"))
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.patch(f"{CM}/settings", content=b'{"data": {"k": "w"}}', headers=headers)
    assert_unsupported(response, PATCH_ACCEPTED)
    assert (await api.get(f"{CM}/settings")).json()["data"] == {"k": "v"}


async def test_attack_a_page_posting_a_blob_creates_nothing(api: httpx.AsyncClient) -> None:
    """The issue's attack: a cross-site POST without Content-Type was accepted (201)."""
    assert_unsupported(await api.post(CM, content=configmap_body(), headers={"Origin": "http://evil.example"}))
    assert_unsupported(await api.post(CM, content=configmap_body(), headers={"Sec-Fetch-Site": "cross-site"}))
    assert (await api.get(f"{CM}/settings")).status_code == 404


async def test_attack_a_text_plain_delete_body_is_refused(api: httpx.AsyncClient) -> None:
    """DELETE bodies are negotiated as Kubernetes negotiates them (a text/plain body was read as JSON)."""
    await api.post(CM, json=builders.config_map("settings", k="v"))
    options = b'{"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}'
    assert_unsupported(await api.request("DELETE", f"{CM}/settings", content=options,
                                         headers={"Content-Type": "text/plain"}))
    assert (await api.get(f"{CM}/settings")).status_code == 200


@pytest.mark.parametrize("content_type", [None, "application/json", "application/json; charset=utf-8",
                                          "application/yaml"])
async def test_clients_that_are_not_browsers_keep_working(api: httpx.AsyncClient, content_type: str | None) -> None:
    """No Content-Type is JSON, as in Kubernetes: the official Python client sends none on create and delete."""
    headers = {"Content-Type": content_type} if content_type else {}
    created = await api.post(CM, content=configmap_body(), headers=headers)
    assert created.status_code == 201, created.text
    deleted = await api.request("DELETE", f"{CM}/settings", content=b'{"gracePeriodSeconds": 0}', headers=headers)
    assert deleted.status_code == 200, deleted.text


async def test_a_same_site_browser_write_with_json_is_served(api: httpx.AsyncClient) -> None:
    """application/json from a page needs a CORS preflight, which the apiserver never grants cross-site."""
    created = await api.post(CM, content=configmap_body(), headers={**BROWSER, "Content-Type": "application/json"})
    assert created.status_code == 201


@pytest.mark.parametrize("host", ["evil.example", "evil.example:6443", "127.0.0.1.nip.io",
                                  "kubernetes.default.svc.evil.example"])
async def test_attack_dns_rebinding_is_refused(api: httpx.AsyncClient, host: str) -> None:
    """The issue's attack: a rebound name reached the API (200); now 403 before any handler runs."""
    for method, path in (("GET", f"{NS}/secrets"), ("POST", CM)):
        response = await api.request(method, path, content=configmap_body() if method == "POST" else None,
                                     headers={"Host": host, "Content-Type": "application/json"})
        assert response.status_code == 403, response.text
        status = response.json()
        assert (status["kind"], status["reason"], status["code"]) == ("Status", "Forbidden", 403)
        assert f'the Host "{host}" is not a name of this server' in status["message"]
    assert (await api.get(f"{CM}/settings")).status_code == 404


async def test_attack_a_rebound_exec_upgrade_is_refused(api: httpx.AsyncClient) -> None:
    address = str(api.base_url).removeprefix("http://").rstrip("/")
    status, body = await raw_upgrade(address, f"{NS}/pods/web/exec?command=sh&stdout=true",
                                     {"Host": "evil.example:6443", "Origin": "http://evil.example:6443"})
    assert status == 403 and body is not None and body["reason"] == "Forbidden"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]:6443", "localhost:6443", "kubernetes", "kubernetes.default",
                                  "kubernetes.default.svc", "kubernetes.default.svc.cluster.local:443"])
async def test_addresses_and_the_clusters_names_are_served(api: httpx.AsyncClient, host: str) -> None:
    assert (await api.get("/version", headers={"Host": host})).status_code == 200


async def test_configured_names_are_served() -> None:
    app = create_app(LocalStore(history=10), hosts=host_policy(["api.example.com"]))
    async with serving(app, lifespan="off") as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        assert (await api.get("/version", headers={"Host": "api.example.com:6443"})).status_code == 200
        assert (await api.get("/version", headers={"Host": "evil.example"})).status_code == 403
    anything = create_app(LocalStore(history=10), hosts=host_policy(["*"]))
    async with serving(anything, lifespan="off") as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
        assert (await api.get("/version", headers={"Host": "evil.example"})).status_code == 200
