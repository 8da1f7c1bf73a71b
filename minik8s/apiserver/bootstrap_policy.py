"""The bootstrap RBAC policy, created by every replica that starts with `--authorization-mode=RBAC`.

Create-if-absent, like the system namespaces: an object an administrator changed is left alone.
admin, edit and view are created with their aggregated rules already filled in (view first, as
edit aggregates it), so they grant what they should before the aggregation controller runs.
"""

from __future__ import annotations

from minik8s.api.kinds import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES
from minik8s.api.meta import JsonObject
from minik8s.api.rbac_coverage import aggregate
from minik8s.api.rbac_policy import cluster_role_bindings, cluster_roles, namespaced_roles, role_bindings
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors
from minik8s.apiserver.operations import Operations


def aggregated_cluster_roles() -> list[JsonObject]:
    """The bootstrap ClusterRoles, each aggregated one given the union of what it selects."""
    roles = cluster_roles()
    by_name = {role["metadata"]["name"]: role for role in roles}
    for name in ("view", "edit", "admin"):
        rules = aggregate(by_name[name], roles)
        by_name[name]["rules"] = [rule.to_json() for rule in rules or []]
    return roles


async def _create_if_missing(ops: Operations, resource: ResourceKind, obj: JsonObject) -> None:
    metadata = obj["metadata"]
    namespace = metadata.get("namespace")
    if ops.objects.get(resource, namespace, metadata["name"]) is not None:
        return
    try:
        await ops.create(resource, namespace, obj)
    except errors.StatusError as error:
        if error.reason != "AlreadyExists":
            raise


async def create_cluster_policy(ops: Operations) -> None:
    for role in aggregated_cluster_roles():
        await _create_if_missing(ops, CLUSTER_ROLES, role)
    for cluster_binding in cluster_role_bindings():
        await _create_if_missing(ops, CLUSTER_ROLE_BINDINGS, cluster_binding)


async def create_namespaced_policy(ops: Operations) -> None:
    """The Roles and RoleBindings in system namespaces: created once those namespaces exist."""
    for role in namespaced_roles():
        await _create_if_missing(ops, ROLES, role)
    for role_binding in role_bindings():
        await _create_if_missing(ops, ROLE_BINDINGS, role_binding)
