"""Escalation prevention on RBAC writes: nobody grants through RBAC what they do not hold.

Kubernetes checks this in the storage of the RBAC kinds (pkg/registry/rbac/*/policybased): a
Role or ClusterRole is written only with rules the writer already holds in its namespace, or
with the `escalate` verb on it (setting an aggregationRule needs cluster-admin's `*` on `*`);
a binding is written only if the writer holds the rules of its role, or has the `bind` verb on
that role. `system:masters` may do all of it. A refusal is a 403 on the object being written.
"""

from __future__ import annotations

from minik8s.api.kinds import CLUSTER_ROLES, ROLES
from minik8s.api.meta import JsonObject
from minik8s.api.rbac import Binding, PolicyRule, RequestAttributes, rules_of
from minik8s.api.rbac_coverage import escalation_message, uncovered
from minik8s.api.registry import RBAC_GROUP, ResourceKind
from minik8s.api.user import SYSTEM_MASTERS, UserInfo
from minik8s.apiserver import errors
from minik8s.apiserver.authorization import Authorizer

_FULL_AUTHORITY = [PolicyRule(("*",), ("*",), ("*",)), PolicyRule(("*",), non_resource_urls=("*",))]
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")


def _allowed(authorizer: Authorizer, user: UserInfo, verb: str, role_kind: str, namespace: str, name: str) -> bool:
    plural = (ROLES if role_kind == "Role" else CLUSTER_ROLES).plural
    attributes = RequestAttributes(user, verb, namespace, RBAC_GROUP, "v1", plural, "", name)
    return authorizer.authorize(attributes).allowed


def _confirm_no_escalation(authorizer: Authorizer, user: UserInfo, namespace: str, wanted: list[PolicyRule],
                           resource: ResourceKind, name: str, *, message: str = "") -> None:
    held, resolution_errors = authorizer.rules_for(user, namespace)
    missing = uncovered(held, wanted)
    if missing:
        raise errors.forbidden(resource, name, message or escalation_message(user, missing, resolution_errors))


def check_rbac_write(authorizer: Authorizer, user: UserInfo, resource: ResourceKind, namespace: str | None,
                     obj: JsonObject) -> None:
    """Raise 403 Forbidden when writing `obj` (a Role, ClusterRole or binding) would escalate `user`."""
    if resource.group != RBAC_GROUP or SYSTEM_MASTERS in user.groups:
        return
    name = str(obj.get("metadata", {}).get("name", ""))
    scope = namespace or ""
    if resource.kind in ROLE_KINDS:
        if _allowed(authorizer, user, "escalate", resource.kind, scope, name):
            return
        _confirm_no_escalation(authorizer, user, scope, list(rules_of(obj)), resource, name)
        if resource.kind == "ClusterRole" and obj.get("aggregationRule") is not None:
            _confirm_no_escalation(authorizer, user, scope, _FULL_AUTHORITY, resource, name,
                                   message="must have cluster-admin privileges to use the aggregationRule")
    elif resource.kind in BINDING_KINDS:
        binding = Binding.from_json({**obj, "metadata": {**obj.get("metadata", {}), "namespace": scope}})
        if _allowed(authorizer, user, "bind", binding.role_kind, scope, binding.role_name):
            return
        _confirm_no_escalation(authorizer, user, scope, _role_rules(authorizer, binding, resource), resource, name)


def _role_rules(authorizer: Authorizer, binding: Binding, resource: ResourceKind) -> list[PolicyRule]:
    """The rules of the role a binding names (GetRoleReferenceRules); 403 when it does not exist."""
    rules = authorizer.role_rules(binding)
    if rules is None:
        kind = binding.role_kind.lower()
        raise errors.forbidden(resource, binding.name,
                               f'{kind}.rbac.authorization.k8s.io "{binding.role_name}" not found')
    return list(rules)
