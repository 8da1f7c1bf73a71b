"""RBAC through the apiserver: 403s in Kubernetes' words, the bootstrap policy, escalation, access reviews."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user
from tests.support.waiting import eventually

RBAC = "/apis/rbac.authorization.k8s.io/v1"
REVIEWS = "/apis/authorization.k8s.io/v1"
ALICE = as_user("alice", "dev")


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """An RBAC apiserver; the client is the admin (system:masters) unless a request says otherwise."""
    async with apiserver_serving(history=200, authorization_mode="RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=5, headers={TEST_USER_HEADER: ADMIN}) as client:
        assert (await client.post("/api/v1/namespaces", json={"metadata": {"name": "prod"}})).status_code == 201
        yield client


def role_binding(name: str, role_kind: str, role: str, user: str = "alice") -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                                    "name": role},
            "subjects": [{"kind": "User", "name": user}]}


async def bind(api: httpx.AsyncClient, role_kind: str, role: str, namespace: str = "prod") -> None:
    response = await api.post(f"{RBAC}/namespaces/{namespace}/rolebindings",
                              json=role_binding(f"alice-{role}", role_kind, role))
    assert response.status_code == 201, response.text


async def test_refusals_are_kubernetes_403s(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/namespaces/prod/pods", headers=ALICE)
    assert response.status_code == 403
    assert response.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "prod"',
        "details": {"kind": "pods"}}
    named = await api.get("/apis/apps/v1/namespaces/prod/deployments/web", headers=ALICE)
    assert named.json()["message"] == ('deployments.apps "web" is forbidden: User "alice" cannot get resource '
                                       '"deployments" in API group "apps" in the namespace "prod"')
    assert named.json()["details"] == {"kind": "deployments", "name": "web", "group": "apps"}
    nodes = await api.get("/api/v1/nodes?watch=true", headers=ALICE)
    assert nodes.json()["message"] == ('nodes is forbidden: User "alice" cannot watch resource "nodes" in API group '
                                       '"" at the cluster scope')


async def test_anonymous_sees_health_and_version_only(api: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=5) as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
        assert (await anonymous.get("/version")).status_code == 200
        refused = await anonymous.get("/api")
        assert refused.status_code == 403
        assert refused.json()["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
        assert (await anonymous.get("/metrics")).status_code == 403
    assert (await api.get("/metrics", headers=as_user("prometheus", "system:monitoring"))).status_code == 200
    assert (await api.get("/api", headers=ALICE)).status_code == 200  # system:discovery for the authenticated


async def test_bootstrap_policy_is_present(api: httpx.AsyncClient) -> None:
    roles = {item["metadata"]["name"]: item for item in (await api.get(f"{RBAC}/clusterroles")).json()["items"]}
    for name in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                 "system:public-info-viewer", "system:kube-scheduler", "system:kube-controller-manager",
                 "system:node-proxier", "system:minik8s-dns"):
        assert name in roles
    view_resources = {r for rule in roles["view"]["rules"] for r in rule.get("resources", [])}
    assert "pods" in view_resources and "secrets" not in view_resources
    assert {"secrets", "pods/exec"} <= {r for rule in roles["edit"]["rules"] for r in rule.get("resources", [])}
    bindings = (await api.get(f"{RBAC}/clusterrolebindings")).json()["items"]
    admin = next(b for b in bindings if b["metadata"]["name"] == "cluster-admin")
    assert admin["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]

    async def dns_role_exists() -> bool:
        return (await api.get(f"{RBAC}/namespaces/kube-system/roles/system:minik8s-dns")).status_code == 200
    await eventually("the DNS Role in kube-system", dns_role_exists)


async def test_a_view_binding_reads_but_does_not_write_or_exec(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "view")
    assert (await api.get("/api/v1/namespaces/prod/pods", headers=ALICE)).status_code == 200
    assert (await api.get("/api/v1/namespaces/default/pods", headers=ALICE)).status_code == 403
    created = await api.post("/api/v1/namespaces/prod/configmaps", json={"metadata": {"name": "c"}}, headers=ALICE)
    assert created.json()["message"] == ('configmaps is forbidden: User "alice" cannot create resource "configmaps" in '
                                         'API group "" in the namespace "prod"')
    secret = await api.get("/api/v1/namespaces/prod/secrets/s", headers=ALICE)
    assert secret.status_code == 403
    executed = await api.post("/api/v1/namespaces/prod/pods/p/exec?command=ls", headers=ALICE)
    assert executed.json()["message"] == ('pods "p" is forbidden: User "alice" cannot create resource "pods/exec" in '
                                          'API group "" in the namespace "prod"')


async def can_i(api: httpx.AsyncClient, headers: dict[str, str], **attributes: str) -> bool:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": attributes}}
    response = await api.post(f"{REVIEWS}/selfsubjectaccessreviews", json=review, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "SelfSubjectAccessReview"
    return bool(response.json()["status"]["allowed"])


async def test_self_subject_access_and_rules_reviews(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "edit")
    assert await can_i(api, ALICE, verb="create", resource="deployments", group="apps", namespace="prod")
    assert not await can_i(api, ALICE, verb="create", resource="deployments", group="apps", namespace="default")
    assert not await can_i(api, ALICE, verb="create", resource="rolebindings", group="rbac.authorization.k8s.io",
                           namespace="prod")
    assert await can_i(api, as_user("bob"), verb="delete", resource="nodes") is False
    rules_review = {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                    "spec": {"namespace": "prod"}}
    answer = (await api.post(f"{REVIEWS}/selfsubjectrulesreviews", json=rules_review, headers=ALICE)).json()
    assert answer["status"]["incomplete"] is False
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in answer["status"]["resourceRules"]
    assert any("/healthz" in rule["nonResourceURLs"] for rule in answer["status"]["nonResourceRules"])


async def test_subject_access_review_needs_permission_and_answers_for_the_subject(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "view")
    review = {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"user": "alice", "resourceAttributes": {"verb": "list", "resource": "pods",
                                                               "namespace": "prod"}}}
    answered = await api.post(f"{REVIEWS}/subjectaccessreviews", json=review)
    assert answered.status_code == 201 and answered.json()["status"]["allowed"] is True
    refused = await api.post(f"{REVIEWS}/subjectaccessreviews", json=review, headers=ALICE)
    assert refused.status_code == 403
    invalid = await api.post(f"{REVIEWS}/subjectaccessreviews", json={"spec": {"user": "alice"}})
    assert invalid.status_code == 422


async def test_escalation_is_refused_without_escalate_or_bind(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "admin")
    role = {"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                                       "verbs": ["get"]}]}
    assert (await api.post(f"{RBAC}/namespaces/prod/roles", json=role, headers=ALICE)).status_code == 201
    greedy = {"metadata": {"name": "greedy"}, "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}
    refused = await api.post(f"{RBAC}/namespaces/prod/roles", json=greedy, headers=ALICE)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'roles.rbac.authorization.k8s.io "greedy" is forbidden: user "alice" (groups=["dev" "system:authenticated"]) '
        'is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], '
        'Verbs:["get"]}')
    to_admin = role_binding("steal", "ClusterRole", "cluster-admin", user="mallory")
    assert (await api.post(f"{RBAC}/namespaces/prod/rolebindings", json=to_admin, headers=ALICE)).status_code == 403
    to_view = role_binding("share", "ClusterRole", "view", user="bob")
    assert (await api.post(f"{RBAC}/namespaces/prod/rolebindings", json=to_view, headers=ALICE)).status_code == 201
    grant = {"metadata": {"name": "binder"}, "rules": [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"],
         "resourceNames": ["cluster-admin"]}]}
    assert (await api.post(f"{RBAC}/clusterroles", json=grant)).status_code == 201
    assert (await api.post(f"{RBAC}/namespaces/prod/rolebindings", json=role_binding("b", "ClusterRole", "binder"),
                           )).status_code == 201
    assert (await api.post(f"{RBAC}/namespaces/prod/rolebindings", json=to_admin, headers=ALICE)).status_code == 201


async def test_rbac_validation(api: httpx.AsyncClient) -> None:
    no_verbs = {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]}
    invalid = await api.post(f"{RBAC}/namespaces/prod/roles", json=no_verbs)
    assert invalid.status_code == 422
    assert invalid.json()["details"]["causes"][0]["field"] == "rules[0].verbs"
    urls_in_role = {"metadata": {"name": "r"}, "rules": [{"nonResourceURLs": ["/x"], "verbs": ["get"]}]}
    assert (await api.post(f"{RBAC}/namespaces/prod/roles", json=urls_in_role)).status_code == 422
    sa_without_namespace = {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view",
                                                                   "apiGroup": "rbac.authorization.k8s.io"},
                            "subjects": [{"kind": "ServiceAccount", "name": "default"}]}
    assert (await api.post(f"{RBAC}/clusterrolebindings", json=sa_without_namespace)).status_code == 422
    await bind(api, "ClusterRole", "view")
    path = f"{RBAC}/namespaces/prod/rolebindings/alice-view"
    changed = (await api.get(path)).json()
    changed["roleRef"]["name"] = "edit"
    refused = await api.put(path, json=changed)
    assert refused.status_code == 422 and "cannot change roleRef" in refused.json()["message"]


async def test_tables_and_discovery(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "view")
    table = (await api.get(f"{RBAC}/namespaces/prod/rolebindings",
                           headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Role", "Age", "Users", "Groups",
                                                               "ServiceAccounts"]
    assert table["rows"][0]["cells"][:2] == ["alice-view", "ClusterRole/view"]
    groups = {g["name"] for g in (await api.get("/apis")).json()["groups"]}
    assert {"rbac.authorization.k8s.io", "authorization.k8s.io"} <= groups
    reviews = {r["name"]: r["verbs"] for r in (await api.get(REVIEWS)).json()["resources"]}
    assert reviews["selfsubjectaccessreviews"] == ["create"]


async def test_always_allow_answers_allowed() -> None:
    async with apiserver_serving(history=50) as url, httpx.AsyncClient(base_url=url, timeout=5) as anonymous:
        assert await can_i(anonymous, {}, verb="delete", resource="nodes")
        assert (await anonymous.get("/api/v1/namespaces/default/secrets")).status_code == 200


async def test_exec_websocket_upgrade_is_refused_with_the_status(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "view")
    url = str(api.base_url).replace("http://", "ws://") + "/api/v1/namespaces/prod/pods/p/exec?command=sh&stdout=true"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, additional_headers=ALICE, subprotocols=[Subprotocol("v5.channel.k8s.io")], proxy=None)
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"{}")["message"] == (
        'pods "p" is forbidden: User "alice" cannot get resource "pods/exec" in API group "" in the namespace "prod"')


async def test_local_subject_access_review_is_namespaced(api: httpx.AsyncClient) -> None:
    await bind(api, "ClusterRole", "view")
    review = {"kind": "LocalSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
              "spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "prod"}}}
    answered = await api.post(f"{REVIEWS}/namespaces/prod/localsubjectaccessreviews", json=review)
    assert answered.status_code == 201 and answered.json()["status"]["allowed"] is True
    elsewhere = await api.post(f"{REVIEWS}/namespaces/default/localsubjectaccessreviews", json=review)
    assert elsewhere.status_code == 400
    assert elsewhere.json()["message"] == "spec.resourceAttributes.namespace must match namespace: default"


@pytest.mark.parametrize(("plural", "spec", "field"), [
    ("subjectaccessreviews", {"user": "alice", "extra": [1], "resourceAttributes": {}}, "spec.extra"),
    ("subjectaccessreviews", {"user": "alice", "extra": {"scopes": "x"}, "resourceAttributes": {}},
     "spec.extra[scopes]"),
    ("subjectaccessreviews", {"user": "alice", "groups": 5, "resourceAttributes": {}}, "spec.groups"),
    ("subjectaccessreviews", {"user": "alice", "nonResourceAttributes": "x"}, "spec.nonResourceAttributes"),
    ("subjectaccessreviews", {"user": "alice", "resourceAttributes": {"verb": 1}}, "spec.resourceAttributes.verb"),
    ("namespaces/prod/localsubjectaccessreviews", {"user": "alice", "resourceAttributes": "x"},
     "spec.resourceAttributes"),
    ("selfsubjectaccessreviews", {"resourceAttributes": []}, "spec.resourceAttributes"),
])
async def test_a_review_with_a_mistyped_spec_field_is_invalid_not_a_crash(api: httpx.AsyncClient, plural: str,
                                                                            spec: dict[str, Any], field: str) -> None:
    """Found by the schemathesis fuzzer (tests/fuzz): each of these was a 500."""
    response = await api.post(f"{REVIEWS}/{plural}", json={"spec": spec})
    status = response.json()
    assert response.status_code == 422 and status["reason"] == "Invalid", response.text
    assert [cause["field"] for cause in status["details"]["causes"]] == [field]
