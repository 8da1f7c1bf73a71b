"""The RBAC authorizer rebuilds its policy only after an RBAC object changed, and then sees the change."""

from __future__ import annotations

from minik8s.api.kinds import CONFIG_MAPS, NAMESPACES, ROLE_BINDINGS, ROLES
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import authenticated
from minik8s.apiserver.authorization import RBACAuthorizer
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.request_options import DeleteOptions
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import LocalStore

LIST_PODS = RequestAttributes(authenticated("alice"), "list", "prod", "", "v1", "pods")


async def test_the_policy_follows_rbac_writes_only() -> None:
    store = LocalStore(history=100)
    ops = Operations(ObjectStore(store))
    await ops.create(NAMESPACES, None, {"metadata": {"name": "prod"}})
    authorizer = RBACAuthorizer(store)
    assert not authorizer.authorize(LIST_PODS).allowed
    assert authorizer.cache.rebuilds == 1
    await ops.create(CONFIG_MAPS, "prod", {"metadata": {"name": "c"}})
    assert not authorizer.authorize(LIST_PODS).allowed
    assert authorizer.cache.rebuilds == 1  # not an RBAC key: the policy stands
    await ops.create(ROLES, "prod", {"metadata": {"name": "r"},
                                     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]})
    await ops.create(ROLE_BINDINGS, "prod", {
        "metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]})
    assert authorizer.authorize(LIST_PODS).allowed
    assert authorizer.cache.rebuilds == 2
    await ops.delete(ROLE_BINDINGS, "prod", "b", DeleteOptions.parse({}, None))
    assert not authorizer.authorize(LIST_PODS).allowed
    authorizer.close()

