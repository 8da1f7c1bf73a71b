"""The Node authorizer and NodeRestriction on storage: a node reads the claims and volumes of its pods, lists
only its own local-path volumes, and deletes only those of them that are released under Delete."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.node_authorization import NodeGraph, authorize_node
from minik8s.api.node_restriction import DELETE, UPDATE, Write, refusal
from minik8s.api.persistent_volumes import ANN_PROVISIONED_BY, LOCAL_PATH_NODE_LABEL, LOCAL_PATH_PROVISIONER
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import SYSTEM_NODES, authenticated
from tests.support.storage_builders import claim_pod, pv, pvc

N1 = authenticated("system:node:n1", (SYSTEM_NODES,))
MINE = pv("mine", claim=pvc("data", uid="u1"))
GRAPH = NodeGraph([("/registry/pods/default/web", claim_pod("web", "data", namespace="default", node_name="n1")),
                   ("/registry/pods/default/db", claim_pod("db", "db-data", namespace="default", node_name="n2"))],
                  [MINE, pv("theirs", claim=pvc("db-data", uid="u2")), pv("free")])


def attrs(verb: str, name: str = "", **extra: Any) -> RequestAttributes:
    return RequestAttributes(N1, verb, "", "", "v1", "persistentvolumes", "", name, **extra)


@pytest.mark.parametrize(("attributes", "allowed", "reason"), [
    (attrs("get", "mine"), True, ""),
    (attrs("get", "theirs"), False, "no relationship found between node 'n1' and this object"),
    (attrs("get", "free"), False, "no relationship found between node 'n1' and this object"),
    (attrs("list"), False, "can only list/watch persistentvolumes with label selector minik8s.io/local-path-node=n1"),
    (attrs("watch", label_selector=f"{LOCAL_PATH_NODE_LABEL}=n1"), True, ""),
    (attrs("list", label_selector=f"{LOCAL_PATH_NODE_LABEL}=n2"), False,
     "can only list/watch persistentvolumes with label selector minik8s.io/local-path-node=n1"),
    (attrs("delete", "mine"), True, ""),  # NodeRestriction judges which
    (attrs("update", "mine"), False, "can only get, list/watch its local-path volumes, or delete persistentvolumes"),
])
def test_what_a_node_may_do_with_persistent_volumes(attributes: RequestAttributes, allowed: bool,
                                                    reason: str) -> None:
    decision = authorize_node(attributes, GRAPH)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_the_graph_follows_a_volumes_claim_ref() -> None:
    graph = NodeGraph([("/registry/pods/default/web", claim_pod("web", "data", namespace="default", node_name="n1"))])
    assert not authorize_node(attrs("get", "late"), graph).allowed
    graph.put_volume(pv("late", claim=pvc("data", uid="u1")))
    assert authorize_node(attrs("get", "late"), graph).allowed
    graph.remove_volume("late")
    assert not authorize_node(attrs("get", "late"), graph).allowed


def local_path(node: str = "n1", *, phase: str = "Released", policy: str = "Delete") -> dict[str, Any]:
    return pv("pvc-1", policy=policy, phase=phase, labels={LOCAL_PATH_NODE_LABEL: node},
              annotations={ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER})


@pytest.mark.parametrize(("operation", "stored", "expected"), [
    (DELETE, local_path(), None),
    (DELETE, local_path("n2"), 'node "n1" can only delete local-path persistentvolumes of its own'),
    (DELETE, pv("static", phase="Released", policy="Delete"),
     'node "n1" can only delete local-path persistentvolumes of its own'),
    (DELETE, local_path(phase="Bound"),
     'node "n1" can only delete released persistentvolumes whose reclaim policy is Delete'),
    (DELETE, local_path(policy="Retain"),
     'node "n1" can only delete released persistentvolumes whose reclaim policy is Delete'),
    (UPDATE, local_path(), 'node "n1" can only delete persistentvolumes'),
])
def test_node_restriction_on_persistent_volumes(operation: str, stored: dict[str, Any], expected: str | None) -> None:
    write = Write(operation, "", "persistentvolumes", "", "", "pvc-1", new=None, old=stored)
    assert refusal("n1", write) == expected
