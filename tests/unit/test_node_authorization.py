"""The Node authorizer and NodeRestriction as pure decisions (Kubernetes' node_authorizer.go, noderestriction)."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.node_authorization import NodeGraph, PodReferences, authorize_node
from minik8s.api.node_restriction import (
    CREATE,
    DELETE,
    UPDATE,
    Write,
    refusal,
    token_binding_refusal,
    token_pod_refusal,
)
from minik8s.api.rbac import RequestAttributes
from minik8s.api.service_account_admission import token_volume
from minik8s.api.user import SYSTEM_NODES, authenticated

N1 = authenticated("system:node:n1", (SYSTEM_NODES,))


def pod(name: str, node: str, namespace: str = "default", **spec: Any) -> tuple[str, dict[str, Any]]:
    body = {"metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], **spec}}
    return f"/registry/pods/{namespace}/{name}", body


GRAPH = NodeGraph([
    pod("web", "n1", volumes=[{"name": "v", "secret": {"secretName": "tls"}},
                              {"name": "c", "configMap": {"name": "conf"}},
                              {"name": "p", "projected": {"sources": [{"secret": {"name": "proj"}}]}},
                              {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        containers=[{"name": "c", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}}],
                     "envFrom": [{"configMapRef": {"name": "env-cm"}}]}],
        serviceAccountName="web-sa", imagePullSecrets=[{"name": "pull"}]),
    pod("db", "n2", volumes=[{"name": "v", "secret": {"secretName": "db-pass"}}]),
    pod("pending", "", volumes=[{"name": "v", "secret": {"secretName": "later"}}]),
])


def attrs(verb: str, resource: str, name: str = "", namespace: str = "default", group: str = "",
          subresource: str = "", user: Any = N1) -> RequestAttributes:
    return RequestAttributes(user, verb, namespace, group, "v1", resource, subresource, name)


@pytest.mark.parametrize(("attributes", "allowed", "reason"), [
    (attrs("get", "secrets", "tls"), True, ""),
    (attrs("watch", "secrets", "env-s"), True, ""),
    (attrs("get", "secrets", "pull"), True, ""),
    (attrs("get", "secrets", "proj"), True, ""),
    (attrs("list", "configmaps", "conf"), True, ""),
    (attrs("get", "configmaps", "env-cm"), True, ""),
    (attrs("get", "persistentvolumeclaims", "data"), True, ""),
    (attrs("create", "serviceaccounts", "web-sa", subresource="token"), True, ""),
    (attrs("get", "secrets", "db-pass"), False, "no relationship found between node 'n1' and this object"),
    (attrs("get", "secrets", "later"), False, "no relationship found between node 'n1' and this object"),
    (attrs("get", "secrets", "tls", namespace="other"), False,
     "no relationship found between node 'n1' and this object"),
    (attrs("list", "secrets"), False, "No Object name found"),
    (attrs("update", "secrets", "tls"), False, "can only read resources of this type"),
    (attrs("list", "persistentvolumeclaims", "data"), False, "can only get individual resources of this type"),
    (attrs("get", "serviceaccounts", "web-sa"), False, "can only create tokens for individual service accounts"),
    (attrs("update", "leases", "n1", "kube-node-lease", "coordination.k8s.io"), True, ""),
    (attrs("create", "leases", "", "kube-node-lease", "coordination.k8s.io"), True, ""),
    (attrs("update", "leases", "n2", "kube-node-lease", "coordination.k8s.io"), False,
     "can only access node lease with the same name as the requesting node"),
    (attrs("get", "leases", "n1", "default", "coordination.k8s.io"), False,
     'can only access leases in the "kube-node-lease" system namespace'),
    (attrs("list", "leases", "", "kube-node-lease", "coordination.k8s.io"), False,
     "can only get, create, update, patch, or delete a node lease"),
    (RequestAttributes(N1, "watch", "", "", "v1", "pods", field_selector="spec.nodeName=n1"), True, ""),
    (RequestAttributes(N1, "list", "", "", "v1", "pods", field_selector="status.phase=Running,spec.nodeName==n1"),
     True, ""),
    (RequestAttributes(N1, "list", "", "", "v1", "pods", field_selector="spec.nodeName=n2"), False,
     "can only list/watch pods with spec.nodeName field selector"),
    (RequestAttributes(N1, "list", "", "", "v1", "pods", field_selector="spec.nodeName!=n1"), False,
     "can only list/watch pods with spec.nodeName field selector"),
    (attrs("watch", "pods", namespace=""), False, "can only list/watch pods with spec.nodeName field selector"),
    (attrs("get", "pods", "web"), True, ""),
    (attrs("watch", "pods", "web"), True, ""),
    (attrs("get", "pods", "db"), False, "no relationship found between node 'n1' and this object"),
    (attrs("create", "pods"), True, ""),
    (attrs("delete", "pods", "db"), True, ""),
    (attrs("create", "pods", "db", subresource="eviction"), True, ""),
    (attrs("get", "nodes", "n1", namespace=""), True, ""),
    (attrs("list", "nodes", namespace=""), False, "node 'n1' cannot read all nodes, only its own Node object"),
    (attrs("get", "nodes", "n2", namespace=""), False, "node 'n1' cannot read 'n2', only its own Node object"),
    (attrs("update", "nodes", "n2", namespace=""), True, ""),
    (attrs("patch", "pods", "web", subresource="status"), True, ""),
    (attrs("update", "nodes", "n1", namespace="", subresource="status"), True, ""),
    (attrs("list", "services", namespace=""), True, ""),
    (attrs("create", "events"), True, ""),
    (attrs("update", "pods", "web"), False, ""),
    (attrs("delete", "nodes", "n1", namespace=""), False, ""),
    (attrs("create", "deployments", group="apps"), False, ""),
    (attrs("get", "secrets", "tls", user=authenticated("alice")), False, ""),
    (attrs("get", "secrets", "tls", user=authenticated("system:node:n1")), False, ""),
    (attrs("get", "secrets", "tls", user=authenticated("system:node:", (SYSTEM_NODES,))), False,
     'unknown node for user "system:node:"'),
])
def test_node_authorizer(attributes: RequestAttributes, allowed: bool, reason: str) -> None:
    decision = authorize_node(attributes, GRAPH)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_graph_follows_pods_moving_and_going() -> None:
    graph = NodeGraph([pod("web", "n1", volumes=[{"name": "v", "secret": {"secretName": "tls"}}])])
    assert graph.reaches("n1", "secrets", "default", "tls")
    key, moved = pod("web", "n2", volumes=[{"name": "v", "secret": {"secretName": "tls"}}])
    graph.put(key, moved)
    assert not graph.reaches("n1", "secrets", "default", "tls") and graph.reaches("n2", "secrets", "default", "tls")
    graph.remove(key)
    assert not graph.reaches("n2", "secrets", "default", "tls")


def test_a_pod_without_a_service_account_uses_default() -> None:
    assert ("serviceaccounts", "default") in PodReferences.of(pod("p", "n1")[1]).objects


MINE, THEIRS = pod("web", "n1")[1], pod("db", "n2")[1]
MIRROR = {"metadata": {"name": "static", "annotations": {"kubernetes.io/config.mirror": "x"}},
          "spec": {"nodeName": "n1"}}


@pytest.mark.parametrize(("write", "reason"), [
    (Write(UPDATE, "", "nodes", "status", "", "n1", {}, {}), None),
    (Write(UPDATE, "", "nodes", "status", "", "n2", {}, {}), 'node "n1" is not allowed to modify node "n2"'),
    (Write(CREATE, "", "nodes", "", "", "n2", {}), 'node "n1" is not allowed to modify node "n2"'),
    (Write(UPDATE, "", "nodes", "", "", "n1", {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}},
           {"spec": {}}), 'node "n1" is not allowed to modify taints'),
    (Write(UPDATE, "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), None),
    (Write(CREATE, "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"),
     "can only access node lease with the same name as the requesting node"),
    (Write(UPDATE, "", "pods", "status", "default", "web", MINE, MINE), None),
    (Write(UPDATE, "", "pods", "status", "default", "db", THEIRS, THEIRS),
     'node "n1" can only update pod status for pods with spec.nodeName set to itself'),
    (Write(UPDATE, "", "pods", "status", "default", "web", {**MINE, "metadata": {"labels": {"a": "b"}}}, MINE),
     'node "n1" cannot update labels through pod status'),
    (Write(CREATE, "", "pods", "", "default", "web", MINE),
     'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'),
    (Write(CREATE, "", "pods", "", "default", "static", MIRROR), None),
    (Write(DELETE, "", "pods", "", "default", "web", None, MINE), None),
    (Write(DELETE, "", "pods", "", "default", "db", None, THEIRS),
     'node "n1" can only delete pods with spec.nodeName set to itself'),
    (Write(UPDATE, "", "pods", "", "default", "web", MINE, MINE),
     'unexpected operation "UPDATE", node "n1" can only create and delete mirror pods'),
    (Write(CREATE, "", "pods", "eviction", "default", "db", {}, THEIRS),
     "node n1 can only evict pods with spec.nodeName set to itself"),
    (Write(CREATE, "", "events", "", "default", "e", {}), None),
])
def test_node_restriction(write: Write, reason: str | None) -> None:
    assert refusal("n1", write) == reason


def test_a_pods_token_volume_lets_its_node_read_the_root_ca_and_ask_for_its_accounts_tokens() -> None:
    key, body = pod("api", "n1", serviceAccountName="robot", volumes=[token_volume("kube-api-access-x2z9q")])
    graph = NodeGraph([(key, body)])
    for verb in ("get", "list", "watch"):
        assert authorize_node(attrs(verb, "configmaps", "kube-root-ca.crt"), graph).allowed
    assert authorize_node(attrs("create", "serviceaccounts", "robot", subresource="token"), graph).allowed
    assert not authorize_node(attrs("create", "serviceaccounts", "default", subresource="token"), graph).allowed
    assert not authorize_node(attrs("get", "configmaps", "kube-root-ca.crt", namespace="other"), graph).allowed


BOUND_MINE = {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "uid-web"}
STORED_MINE = {"metadata": {"name": "web", "uid": "uid-web"}, "spec": {"nodeName": "n1"}}


@pytest.mark.parametrize(("bound", "reason"), [
    (None, "node requested token not bound to a pod"),
    ({**BOUND_MINE, "kind": "Secret"}, "node requested token not bound to a pod"),
    ({**BOUND_MINE, "apiVersion": ""}, "node requested token not bound to a pod"),
    ({**BOUND_MINE, "name": ""}, "node requested token not bound to a pod"),
    ({**BOUND_MINE, "uid": ""}, "node requested token with a pod binding without a uid"),
    (BOUND_MINE, None),
])
def test_a_node_asks_for_tokens_bound_to_a_pod_by_name_and_uid(bound: Any, reason: str | None) -> None:
    assert token_binding_refusal(bound) == reason


def test_a_nodes_token_must_be_bound_to_the_stored_pod_on_that_node() -> None:
    assert token_pod_refusal("n1", BOUND_MINE, STORED_MINE) is None
    assert token_pod_refusal("n2", BOUND_MINE, STORED_MINE) == (
        "node requested token bound to a pod scheduled on a different node")
    assert token_pod_refusal("n1", {**BOUND_MINE, "uid": "old"}, STORED_MINE) == (
        "the UID in the bound object reference (old) does not match the UID in record. "
        "The object might have been deleted and then recreated")
