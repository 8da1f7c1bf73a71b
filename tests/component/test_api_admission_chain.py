"""The admission chain through the apiserver: NamespaceLifecycle, DefaultTolerationSeconds and NodeRestriction as
plugins that the apiserver's flags turn on and off, with Kubernetes' answers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.api.user import SYSTEM_NODES
from minik8s.apiserver.admission import DEFAULT_PLUGINS, NODE_RESTRICTION
from minik8s.apiserver.admission_plugins import DEFAULT_TOLERATION_SECONDS, NAMESPACE_LIFECYCLE
from minik8s.apiserver.app import create_app
from minik8s.store.base import LocalStore
from tests.support.serving import START_SECONDS, apiserver_serving, serving, system_namespaces_exist
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user
from tests.support.waiting import eventually

NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "nginx"}], **spec}}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=500) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def test_nothing_is_created_in_a_missing_or_terminating_namespace(api: httpx.AsyncClient) -> None:
    missing = await api.post("/api/v1/namespaces/nope/configmaps", json={"metadata": {"name": "c"}})
    assert (missing.status_code, missing.json()["message"]) == (404, 'namespaces "nope" not found')
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "doomed"}})).status_code == 201
    assert (await api.delete("/api/v1/namespaces/doomed")).status_code == 200  # Terminating: nothing empties it here
    refused = await api.post("/api/v1/namespaces/doomed/configmaps", json={"metadata": {"generateName": "c-"}})
    assert refused.status_code == 403
    assert refused.json() | {"metadata": {}} == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'configmaps "c-" is forbidden: unable to create new content in namespace doomed because it is '
                   "being terminated",
        "details": {"name": "c-", "kind": "configmaps", "causes": [
            {"reason": "NamespaceTerminating", "field": "metadata.namespace",
             "message": "namespace doomed is being terminated"}]}}


@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-public"])
async def test_the_system_namespaces_may_not_be_deleted(api: httpx.AsyncClient, namespace: str) -> None:
    refused = await api.delete(f"/api/v1/namespaces/{namespace}")
    assert (refused.status_code, refused.json()["message"]) == (
        403, f'namespaces "{namespace}" is forbidden: this namespace may not be deleted')
    assert (await api.get(f"/api/v1/namespaces/{namespace}")).json()["status"]["phase"] == "Active"


@contextlib.asynccontextmanager
async def tolerating(seconds: dict[str, int], plugins: frozenset[str]) -> AsyncIterator[httpx.AsyncClient]:
    """An apiserver with `--default-*-toleration-seconds` set and `plugins` enabled."""
    app = create_app(LocalStore(history=100), toleration_seconds=seconds, admission_plugins=plugins)
    async with serving(app) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        await eventually("the system namespaces", lambda: system_namespaces_exist(client), timeout=START_SECONDS)
        yield client


async def test_pods_tolerate_unready_nodes_for_the_flags_seconds_unless_the_plugin_is_off() -> None:
    seconds = {NOT_READY: 30, UNREACHABLE: 45}
    async with tolerating(seconds, DEFAULT_PLUGINS) as api:
        created = (await api.post("/api/v1/namespaces/default/pods", json=pod("web"))).json()
        assert {t["key"]: t["tolerationSeconds"] for t in created["spec"]["tolerations"]} == seconds
        without = {**created, "spec": {key: value for key, value in created["spec"].items() if key != "tolerations"}}
        updated = await api.put("/api/v1/namespaces/default/pods/web", json=without)  # Create and Update, as upstream
        assert updated.status_code == 200, updated.text
        assert updated.json()["spec"]["tolerations"] == created["spec"]["tolerations"]
    async with tolerating(seconds, DEFAULT_PLUGINS - {DEFAULT_TOLERATION_SECONDS, NAMESPACE_LIFECYCLE}) as api:
        bare = (await api.post("/api/v1/namespaces/default/pods", json=pod("web"))).json()
        assert "tolerations" not in bare["spec"]
        anywhere = await api.post("/api/v1/namespaces/nope/configmaps", json={"metadata": {"name": "c"}})
        assert anywhere.status_code == 201  # without NamespaceLifecycle, as kube-apiserver


@pytest.mark.parametrize(("plugins", "code"), [(DEFAULT_PLUGINS, 403), (DEFAULT_PLUGINS - {NODE_RESTRICTION}, 201)])
async def test_node_restriction_is_a_plugin_on_by_default(plugins: frozenset[str], code: int) -> None:
    async with apiserver_serving(history=200, authorization_mode="Node,RBAC", admission_plugins=plugins) as url, \
            httpx.AsyncClient(base_url=url, timeout=10, headers={TEST_USER_HEADER: ADMIN}) as api:
        assert (await api.post("/api/v1/nodes", json={"metadata": {"name": "n1"}})).status_code == 201
        created = await api.post("/api/v1/namespaces/default/pods", json=pod("sneaky", nodeName="n1"),
                                 headers=as_user("system:node:n1", SYSTEM_NODES))
        assert created.status_code == code, created.text
