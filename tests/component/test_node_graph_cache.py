"""The Node authorizer follows pod writes one event at a time: it lists the pods once, not per decision."""

from __future__ import annotations

from minik8s.api.kinds import CONFIG_MAPS, NAMESPACES, PODS
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import SYSTEM_NODES, authenticated
from minik8s.apiserver.authorization import RBACAuthorizer
from minik8s.apiserver.authorization_node import NodeThenRBAC
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.request_options import DeleteOptions
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore

GET_SECRET = RequestAttributes(authenticated("system:node:n1", (SYSTEM_NODES,)), "get", "prod", "", "v1", "secrets",
                               name="tls")


def pod(node: str) -> dict[str, object]:
    return {"metadata": {"name": "web"}, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}],
                                                  "volumes": [{"name": "v", "secret": {"secretName": "tls"}}]}}


async def test_the_pod_graph_follows_pod_writes_without_relisting() -> None:
    store = LocalStore(history=100)
    ops = Operations(ObjectStore(store))
    await ops.create(NAMESPACES, None, {"metadata": {"name": "prod"}})
    authorizer = NodeThenRBAC(store, RBACAuthorizer(store))
    assert not authorizer.authorize(GET_SECRET).allowed
    await ops.create(PODS, "prod", pod("n1"))
    await ops.create(CONFIG_MAPS, "prod", {"metadata": {"name": "c"}})
    assert authorizer.authorize(GET_SECRET).allowed
    await ops.delete(PODS, "prod", "web", DeleteOptions.parse({"gracePeriodSeconds": "0"}, None))
    assert not authorizer.authorize(GET_SECRET).allowed
    assert authorizer.pods.rebuilds == 1
    alice = RequestAttributes(authenticated("alice"), "get", "prod", "", "v1", "secrets", name="tls")
    assert not authorizer.authorize(alice).allowed
    authorizer.close()
