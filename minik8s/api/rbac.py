"""RBAC's decision, as a pure function of the request and the Roles and bindings in the cluster.

Kubernetes' plugin/pkg/auth/authorizer/rbac: a request is allowed when some rule of some role
bound to the user (a ClusterRoleBinding anywhere, a RoleBinding in the request's namespace)
matches it; there is no deny. A rule matches on verb, API group, `resource[/subresource]`
(`*`, and `*/scale` for a subresource of any resource; `pods/*` is only a literal, as in
Kubernetes), resourceNames (which never match a request without a name: list, watch, create),
or for non-resource paths on nonResourceURLs (exact, or a prefix ending in `*`). Members of
`system:masters` are allowed everything, as Kubernetes' privileged-group authorizer does.

`Policy` indexes bindings by subject so that a decision looks only at the user's own bindings.
Escalation checks and aggregation live in `rbac_coverage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.meta import mapping_at, name_of, namespace_of
from minik8s.api.user import SERVICE_ACCOUNT_PREFIX, SYSTEM_MASTERS, UserInfo

ALL = "*"


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class PolicyRule:
    """One rbac.authorization.k8s.io/v1 PolicyRule."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, rule: Mapping[str, Any]) -> PolicyRule:
        return cls(_strings(rule.get("verbs")), _strings(rule.get("apiGroups")), _strings(rule.get("resources")),
                   _strings(rule.get("resourceNames")), _strings(rule.get("nonResourceURLs")))

    def to_json(self) -> dict[str, Any]:
        """The JSON rule, empty lists left out as Kubernetes' omitempty does (verbs always present)."""
        body: dict[str, Any] = {"verbs": list(self.verbs)}
        for key, values in (("apiGroups", self.api_groups), ("resources", self.resources),
                            ("resourceNames", self.resource_names), ("nonResourceURLs", self.non_resource_urls)):
            if values:
                body[key] = list(values)
        return body


def rules_of(role: Mapping[str, Any]) -> tuple[PolicyRule, ...]:
    rules = role.get("rules")
    return tuple(PolicyRule.from_json(r) for r in rules if isinstance(r, Mapping)) if isinstance(rules, list) else ()


@dataclass(frozen=True)
class Subject:
    kind: str  # User, Group or ServiceAccount
    name: str
    namespace: str = ""


@dataclass(frozen=True)
class Binding:
    """A RoleBinding (namespace set) or ClusterRoleBinding (namespace "")."""

    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...] = ()

    @classmethod
    def from_json(cls, binding: Mapping[str, Any]) -> Binding:
        ref = mapping_at(binding, "roleRef")
        subjects = tuple(Subject(str(s.get("kind", "")), str(s.get("name", "")), str(s.get("namespace") or ""))
                         for s in binding.get("subjects") or [] if isinstance(s, Mapping))
        return cls(name_of(binding), namespace_of(binding), str(ref.get("kind", "")),
                   str(ref.get("name", "")), subjects)

    def subject_keys(self) -> list[tuple[tuple[str, str], Subject]]:
        """(("User"|"Group", name), subject) of each subject; a ServiceAccount is the user it authenticates as."""
        keys = []
        for subject in self.subjects:
            if subject.kind == "ServiceAccount":
                namespace = subject.namespace or self.namespace
                if namespace:
                    keys.append((("User", f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{subject.name}"), subject))
            elif subject.kind in ("User", "Group"):
                keys.append(((subject.kind, subject.name), subject))
        return keys

    def describe(self, subject: Subject) -> str:
        """How Kubernetes names a grant in its reasons: `RoleBinding "b/ns" of Role "r" to User "alice"`."""
        if subject.kind == "ServiceAccount":
            who = f'ServiceAccount "{subject.name}/{subject.namespace or self.namespace}"'
        else:
            who = f'{subject.kind} "{subject.name}"'
        if self.namespace:
            return f'RoleBinding "{self.name}/{self.namespace}" of {self.role_kind} "{self.role_name}" to {who}'
        return f'ClusterRoleBinding "{self.name}" of {self.role_kind} "{self.role_name}" to {who}'


Grant = tuple[Binding, Subject]
"""A binding and the subject of it through which it applies to a user."""


@dataclass(frozen=True)
class RequestAttributes:
    """What the authorizer decides on: Kubernetes' authorizer.Attributes."""

    user: UserInfo
    verb: str
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True
    field_selector: str = ""  # the list/watch request's, for the Node authorizer's selector checks
    label_selector: str = ""  # likewise: a node lists only the local-path volumes labelled with its name


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def resource_matches(rule: PolicyRule, combined: str, subresource: str) -> bool:
    for rule_resource in rule.resources:
        if rule_resource in (ALL, combined):
            return True
        if subresource and rule_resource == f"*/{subresource}":
            return True
    return False


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in (ALL, path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attributes: RequestAttributes, rule: PolicyRule) -> bool:
    """RuleAllows: does this one rule grant the request?"""
    if ALL not in rule.verbs and attributes.verb not in rule.verbs:
        return False
    if not attributes.resource_request:
        return non_resource_url_matches(rule, attributes.path)
    combined = f"{attributes.resource}/{attributes.subresource}" if attributes.subresource else attributes.resource
    return ((ALL in rule.api_groups or attributes.api_group in rule.api_groups)
            and resource_matches(rule, combined, attributes.subresource)
            and (not rule.resource_names or attributes.name in rule.resource_names))


@dataclass
class Policy:
    """Every Role, ClusterRole and binding of the cluster, indexed for decisions."""

    roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = field(default_factory=dict)
    cluster_roles: dict[str, tuple[PolicyRule, ...]] = field(default_factory=dict)
    cluster_bindings: dict[tuple[str, str], list[Grant]] = field(default_factory=dict)
    namespace_bindings: dict[tuple[str, str, str], list[Grant]] = field(default_factory=dict)

    @classmethod
    def from_objects(cls, roles: Iterable[Mapping[str, Any]], cluster_roles: Iterable[Mapping[str, Any]],
                     role_bindings: Iterable[Mapping[str, Any]],
                     cluster_role_bindings: Iterable[Mapping[str, Any]]) -> Policy:
        policy = cls()
        for role in roles:
            policy.roles[(namespace_of(role), name_of(role))] = rules_of(role)
        for cluster_role in cluster_roles:
            policy.cluster_roles[name_of(cluster_role)] = rules_of(cluster_role)
        for binding in map(Binding.from_json, cluster_role_bindings):
            for key, subject in binding.subject_keys():
                policy.cluster_bindings.setdefault(key, []).append((binding, subject))
        for binding in map(Binding.from_json, role_bindings):
            for (kind, name), subject in binding.subject_keys():
                policy.namespace_bindings.setdefault((binding.namespace, kind, name), []).append((binding, subject))
        return policy

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        """The rules a binding grants; None when its role does not exist."""
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name)
        if binding.role_kind == "Role" and binding.namespace:
            return self.roles.get((binding.namespace, binding.role_name))
        return None

    def bindings_for(self, user: UserInfo, namespace: str) -> list[Grant]:
        """The user's ClusterRoleBindings, then (with a namespace) their RoleBindings there; each once,
        with the subject through which it applies."""
        keys = [("User", user.name), *(("Group", group) for group in user.groups)]
        found: dict[int, Grant] = {}
        for key in keys:
            for grant in self.cluster_bindings.get(key, ()):
                found.setdefault(id(grant[0]), grant)
        if namespace:
            for kind, name in keys:
                for grant in self.namespace_bindings.get((namespace, kind, name), ()):
                    found.setdefault(id(grant[0]), grant)
        return list(found.values())

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        """Every rule the user holds in `namespace` ("" for cluster-wide only), and the missing roles."""
        rules: list[PolicyRule] = []
        missing: list[str] = []
        for binding, _ in self.bindings_for(user, namespace):
            granted = self.role_rules(binding)
            if granted is None:
                missing.append(missing_role_message(binding))
            else:
                rules.extend(granted)
        return rules, missing

    def authorize(self, attributes: RequestAttributes) -> Decision:
        if SYSTEM_MASTERS in attributes.user.groups:
            return Decision(True)
        missing: list[str] = []
        for binding, subject in self.bindings_for(attributes.user, attributes.namespace):
            granted = self.role_rules(binding)
            if granted is None:
                missing.append(missing_role_message(binding))
            elif any(rule_allows(attributes, rule) for rule in granted):
                return Decision(True, f"RBAC: allowed by {binding.describe(subject)}")
        return Decision(False, f"RBAC: [{', '.join(missing)}]" if len(missing) > 1 else
                        f"RBAC: {missing[0]}" if missing else "")


def missing_role_message(binding: Binding) -> str:
    return f'{binding.role_kind.lower()}.rbac.authorization.k8s.io "{binding.role_name}" not found'
