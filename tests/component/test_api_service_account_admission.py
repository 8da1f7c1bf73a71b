"""The ServiceAccount admission plugin and a node's TokenRequests, through the apiserver.

With `--enable-admission-plugins=ServiceAccount` a pod must name an existing ServiceAccount and gets
the token volume Kubernetes gives it; under Node,RBAC a node asks for tokens only bound to its own pods.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from minik8s.api.service_account_admission import TOKEN_MOUNT_PATH, token_volume
from minik8s.api.user import SYSTEM_NODES
from minik8s.apiserver.admission import DEFAULT_PLUGINS, SERVICE_ACCOUNT
from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user

PODS = "/api/v1/namespaces/default/pods"
ACCOUNTS = "/api/v1/namespaces/default/serviceaccounts"
N1 = as_user("system:node:n1", SYSTEM_NODES)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec}}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """An apiserver running the ServiceAccount plugin, with the `default` account in `default`."""
    async with apiserver_serving(history=200, admission_plugins=DEFAULT_PLUGINS | {SERVICE_ACCOUNT}) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as client:
        assert (await client.post(ACCOUNTS, json={"metadata": {"name": "default"}})).status_code == 201
        yield client


async def test_a_pod_gets_the_token_volume_in_every_container(api: httpx.AsyncClient) -> None:
    created = await api.post(PODS, json=pod("web", initContainers=[{"name": "init", "image": "busybox"}]))
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    [volume] = spec["volumes"]
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", volume["name"])
    assert volume == token_volume(volume["name"])
    mount = {"name": volume["name"], "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
    assert spec["containers"][0]["volumeMounts"] == spec["initContainers"][0]["volumeMounts"] == [mount]
    assert (await api.get(f"{PODS}/web")).json()["spec"] == spec


async def test_a_pod_naming_a_missing_account_is_forbidden(api: httpx.AsyncClient) -> None:
    refused = await api.post(PODS, json=pod("web", serviceAccountName="robot"))
    assert refused.status_code == 403
    assert refused.json() | {"metadata": {}} == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods "web" is forbidden: error looking up service account default/robot: '
                   'serviceaccount "robot" not found',
        "details": {"name": "web", "kind": "pods"}}
    by_prefix = await api.post(PODS, json={**pod(""), "metadata": {"generateName": "web-"},
                                           "spec": {**pod("")["spec"], "serviceAccountName": "robot"}})
    assert by_prefix.json()["message"].startswith('pods "web-" is forbidden: error looking up service account')


async def test_a_namespace_still_without_its_default_account_refuses_pods(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "fresh"}})).status_code == 201
    refused = await api.post("/api/v1/namespaces/fresh/pods", json=pod("web"))
    assert refused.status_code == 403
    assert refused.json()["message"].endswith('error looking up service account fresh/default: '
                                              'serviceaccount "default" not found')


async def test_automount_off_on_the_account_or_the_pod_means_no_volume(api: httpx.AsyncClient) -> None:
    account = {"metadata": {"name": "quiet"}, "automountServiceAccountToken": False}
    assert (await api.post(ACCOUNTS, json=account)).status_code == 201
    quiet = (await api.post(PODS, json=pod("quiet", serviceAccountName="quiet"))).json()["spec"]
    assert "volumes" not in quiet and "volumeMounts" not in quiet["containers"][0]
    chatty = (await api.post(PODS, json=pod("chatty", serviceAccountName="quiet",
                                            automountServiceAccountToken=True))).json()["spec"]
    assert chatty["volumes"][0]["name"].startswith("kube-api-access-")
    off = (await api.post(PODS, json=pod("off", automountServiceAccountToken=False))).json()["spec"]
    assert "volumes" not in off


@pytest.fixture
async def nodes() -> AsyncIterator[httpx.AsyncClient]:
    """Node,RBAC with a signing key: pods web on n1 and db on n2, both as the `default` account."""
    async with apiserver_serving(history=200, authorization_mode="Node,RBAC", signing_key=ec.generate_private_key(
            ec.SECP256R1()), admission_plugins=DEFAULT_PLUGINS | {SERVICE_ACCOUNT}) as url, \
            httpx.AsyncClient(base_url=url, timeout=10, headers={TEST_USER_HEADER: ADMIN}) as client:
        assert (await client.post(ACCOUNTS, json={"metadata": {"name": "default"}})).status_code == 201
        for name, node in (("web", "n1"), ("db", "n2")):
            assert (await client.post(PODS, json=pod(name, nodeName=node))).status_code == 201
        yield client


async def _token_request(api: httpx.AsyncClient, bound: dict[str, Any] | None) -> httpx.Response:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3607, "boundObjectRef": bound}}
    return await api.post(f"{ACCOUNTS}/default/token", json=body, headers=N1)


async def _bound_to(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    uid = (await api.get(f"{PODS}/{name}")).json()["metadata"]["uid"]
    return {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid}


async def test_a_node_gets_tokens_bound_to_its_own_pods_only(nodes: httpx.AsyncClient) -> None:
    issued = await _token_request(nodes, await _bound_to(nodes, "web"))
    assert issued.status_code == 201, issued.text
    assert issued.json()["spec"]["boundObjectRef"]["name"] == "web"
    refusals = {
        "unbound": await _token_request(nodes, None),
        "without uid": await _token_request(nodes, {**await _bound_to(nodes, "web"), "uid": ""}),
        "elsewhere": await _token_request(nodes, await _bound_to(nodes, "db")),
    }
    assert {why: (r.status_code, r.json()["message"]) for why, r in refusals.items()} == {
        "unbound": (403, 'serviceaccounts "default" is forbidden: node requested token not bound to a pod'),
        "without uid": (403, 'serviceaccounts "default" is forbidden: '
                             "node requested token with a pod binding without a uid"),
        "elsewhere": (403, 'serviceaccounts "default" is forbidden: '
                           "node requested token bound to a pod scheduled on a different node"),
    }
    root_ca = "/api/v1/namespaces/default/configmaps/kube-root-ca.crt"
    assert (await nodes.get(root_ca, headers=N1)).status_code == 404  # its pods reference it; nobody published it
    assert (await nodes.get("/api/v1/namespaces/default/configmaps/other", headers=N1)).status_code == 403
