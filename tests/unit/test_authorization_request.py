"""Requests become authorizer attributes as Kubernetes' RequestInfoFactory makes them, and 403s read as its own."""

from __future__ import annotations

import pytest

from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import authenticated
from minik8s.apiserver.authorization_request import forbidden, request_attributes

ALICE = authenticated("alice")


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/prod/pods", {}, ("list", "prod", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/prod/pods", {"watch": "true"}, ("watch", "prod", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/prod/pods", {"watch": "1"}, ("watch", "prod", "", "pods", "", "")),
    ("GET", "/api/v1/watch/namespaces/prod/pods", {}, ("watch", "prod", "", "pods", "", "")),
    ("GET", "/api/v1/pods", {"fieldSelector": "metadata.name=web"}, ("list", "", "", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/prod/pods/web", {}, ("get", "prod", "", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/prod/pods/web/log", {}, ("get", "prod", "", "pods", "log", "web")),
    ("POST", "/api/v1/namespaces/prod/pods/web/exec", {}, ("create", "prod", "", "pods", "exec", "web")),
    ("POST", "/api/v1/namespaces/prod/pods", {}, ("create", "prod", "", "pods", "", "")),
    ("PUT", "/apis/apps/v1/namespaces/prod/deployments/d/scale", {},
     ("update", "prod", "apps", "deployments", "scale", "d")),
    ("PATCH", "/apis/apps/v1/namespaces/prod/deployments/d", {}, ("patch", "prod", "apps", "deployments", "", "d")),
    ("DELETE", "/api/v1/namespaces/prod/configmaps/c", {}, ("delete", "prod", "", "configmaps", "", "c")),
    ("DELETE", "/api/v1/namespaces/prod/configmaps", {}, ("deletecollection", "prod", "", "configmaps", "", "")),
    ("GET", "/api/v1/namespaces/prod", {}, ("get", "prod", "", "namespaces", "", "prod")),
    ("PUT", "/api/v1/namespaces/prod/finalize", {}, ("update", "prod", "", "namespaces", "finalize", "prod")),
    ("GET", "/api/v1/nodes", {}, ("list", "", "", "nodes", "", "")),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {},
     ("create", "", "authorization.k8s.io", "selfsubjectaccessreviews", "", "")),
])
def test_resource_requests(method: str, path: str, query: dict[str, str],
                           expected: tuple[str, str, str, str, str, str]) -> None:
    attributes = request_attributes(ALICE, method, path, query)
    assert attributes.resource_request
    got = (attributes.verb, attributes.namespace, attributes.api_group, attributes.resource,
           attributes.subresource, attributes.name)
    assert got == expected


@pytest.mark.parametrize(("method", "path", "verb"), [
    ("GET", "/healthz", "get"), ("GET", "/version", "get"), ("GET", "/api", "get"), ("GET", "/api/v1", "get"),
    ("GET", "/apis", "get"), ("GET", "/apis/apps", "get"), ("GET", "/apis/apps/v1", "get"),
    ("POST", "/metrics", "post"), ("GET", "/openapi/v3", "get"),
])
def test_non_resource_requests(method: str, path: str, verb: str) -> None:
    attributes = request_attributes(ALICE, method, path, {})
    assert (attributes.resource_request, attributes.verb, attributes.path) == (False, verb, path)


def test_forbidden_messages_are_kubernetes_words() -> None:
    cluster = forbidden(RequestAttributes(ALICE, "list", "", "", "v1", "nodes"))
    assert cluster.message == ('nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the '
                               'cluster scope')
    with_reason = forbidden(RequestAttributes(ALICE, "get", "ns", "apps", "v1", "deployments", "scale", "d"), "why")
    assert with_reason.message == ('deployments.apps "d" is forbidden: User "alice" cannot get resource '
                                   '"deployments/scale" in API group "apps" in the namespace "ns": why')
    assert with_reason.details == {"kind": "deployments", "name": "d", "group": "apps"}
    path = forbidden(RequestAttributes(ALICE, "get", path="/metrics", resource_request=False))
    assert (path.code, path.reason, path.message) == (403, "Forbidden", 'forbidden: User "alice" cannot get path '
                                                                        '"/metrics"')
