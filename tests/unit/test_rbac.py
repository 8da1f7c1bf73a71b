"""The RBAC evaluator decides as Kubernetes' RBAC authorizer: rules against requests, bindings, subjects."""

from __future__ import annotations

import pytest

from minik8s.api.rbac import Binding, Policy, PolicyRule, RequestAttributes, rule_allows
from minik8s.api.user import ANONYMOUS, UserInfo, authenticated

ALICE = authenticated("alice", ("dev",))


def rule(verbs: str, groups: str = "", resources: str = "", names: str = "", urls: str = "") -> PolicyRule:
    def split(text: str) -> tuple[str, ...]:
        return tuple(text.split(",")) if text else ()
    return PolicyRule(split(verbs), ("",) if groups == "" and resources else split(groups.replace("core", "")),
                      split(resources), split(names), split(urls))


def request(verb: str, resource: str = "", *, group: str = "", sub: str = "", name: str = "", ns: str = "",
            path: str = "") -> RequestAttributes:
    return RequestAttributes(ALICE, verb, ns, group, "v1", resource, sub, name, path, resource_request=not path)


@pytest.mark.parametrize(("granted", "asked", "allowed"), [
    (rule("get", resources="pods"), request("get", "pods", name="a"), True),
    (rule("get", resources="pods"), request("list", "pods"), False),
    (rule("*", resources="pods"), request("deletecollection", "pods"), True),
    (rule("get", resources="*"), request("get", "secrets", name="s"), True),
    (rule("get", groups="apps", resources="deployments"), request("get", "deployments", name="d"), False),
    (rule("get", groups="apps", resources="deployments"), request("get", "deployments", group="apps", name="d"),
     True),
    (rule("get", groups="*", resources="deployments"), request("get", "deployments", group="apps", name="d"), True),
    # subresources: `pods` is not `pods/exec`; `*/scale` is any resource's scale; `pods/*` is only a literal
    (rule("create", resources="pods"), request("create", "pods", sub="exec", name="p"), False),
    (rule("create", resources="pods/exec"), request("create", "pods", sub="exec", name="p"), True),
    (rule("update", groups="apps", resources="*/scale"),
     request("update", "deployments", group="apps", sub="scale", name="d"), True),
    (rule("update", groups="apps", resources="*/scale"), request("update", "deployments", group="apps", name="d"),
     False),
    (rule("create", resources="pods/*"), request("create", "pods", sub="exec", name="p"), False),
    (rule("get", resources="*"), request("get", "pods", sub="log", name="p"), True),
    # resourceNames never match a request without a name
    (rule("get,list,watch,create", resources="configmaps", names="cfg"), request("get", "configmaps", name="cfg"),
     True),
    (rule("get,list,watch,create", resources="configmaps", names="cfg"), request("get", "configmaps", name="x"),
     False),
    (rule("get,list,watch,create", resources="configmaps", names="cfg"), request("list", "configmaps"), False),
    (rule("get,list,watch,create", resources="configmaps", names="cfg"), request("watch", "configmaps"), False),
    (rule("get,list,watch,create", resources="configmaps", names="cfg"), request("create", "configmaps"), False),
    # non-resource URLs
    (rule("get", urls="/healthz"), request("get", path="/healthz"), True),
    (rule("get", urls="/healthz"), request("get", path="/healthz/etcd"), False),
    (rule("get", urls="/healthz*"), request("get", path="/healthz/etcd"), True),
    (rule("get", urls="/apis/*"), request("get", path="/apis/apps"), True),
    (rule("get", urls="*"), request("get", path="/anything"), True),
    (rule("get", urls="/version"), request("post", path="/version"), False),
    (rule("get", resources="pods"), request("get", path="/pods"), False),
    (rule("get", urls="/api"), request("get", "api"), False),
])
def test_rule_allows(granted: PolicyRule, asked: RequestAttributes, allowed: bool) -> None:
    assert rule_allows(asked, granted) is allowed


def _role(kind: str, name: str, rules: list[PolicyRule], namespace: str = "") -> dict[str, object]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": metadata, "rules": [r.to_json() for r in rules]}


def _binding(name: str, role_kind: str, role: str, subjects: list[dict[str, str]], namespace: str = "") -> dict:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": metadata, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                              "name": role}, "subjects": subjects}


POLICY = Policy.from_objects(
    roles=[_role("Role", "pod-reader", [rule("get,list", resources="pods")], "prod")],
    cluster_roles=[_role("ClusterRole", "secret-reader", [rule("get", resources="secrets")]),
                   _role("ClusterRole", "node-reader", [rule("get,list", resources="nodes")])],
    role_bindings=[
        _binding("alice-pods", "Role", "pod-reader", [{"kind": "User", "name": "alice"}], "prod"),
        _binding("dev-secrets", "ClusterRole", "secret-reader", [{"kind": "Group", "name": "dev"}], "staging"),
        _binding("sa-pods", "Role", "pod-reader", [{"kind": "ServiceAccount", "name": "robot"}], "prod"),
        _binding("gone", "Role", "missing", [{"kind": "User", "name": "bob"}], "prod"),
    ],
    cluster_role_bindings=[
        _binding("nodes", "ClusterRole", "node-reader",
                 [{"kind": "ServiceAccount", "name": "watcher", "namespace": "ops"}]),
    ],
)
ROBOT = authenticated("system:serviceaccount:prod:robot", ("system:serviceaccounts",))
WATCHER = authenticated("system:serviceaccount:ops:watcher")


@pytest.mark.parametrize(("user", "verb", "resource", "namespace", "allowed"), [
    (ALICE, "list", "pods", "prod", True),
    (ALICE, "list", "pods", "staging", False),   # a RoleBinding applies in its namespace only
    (ALICE, "list", "pods", "", False),
    (ALICE, "get", "secrets", "staging", True),  # a RoleBinding may grant a ClusterRole's rules, in its namespace
    (ALICE, "get", "secrets", "prod", False),
    (ROBOT, "get", "pods", "prod", True),        # a ServiceAccount subject defaults to the binding's namespace
    (WATCHER, "list", "nodes", "", True),        # a ClusterRoleBinding applies everywhere
    (WATCHER, "list", "nodes", "kube-system", True),
    (ANONYMOUS, "list", "pods", "prod", False),
    (UserInfo("root", ("system:masters",)), "delete", "anything", "prod", True),
])
def test_policy_decides(user: UserInfo, verb: str, resource: str, namespace: str, allowed: bool) -> None:
    attributes = RequestAttributes(user, verb, namespace, "", "v1", resource, "", "x" if verb == "get" else "")
    assert POLICY.authorize(attributes).allowed is allowed


def test_a_missing_role_is_the_reason() -> None:
    decision = POLICY.authorize(RequestAttributes(authenticated("bob"), "list", "prod", "", "v1", "pods"))
    assert decision == type(decision)(False, 'RBAC: role.rbac.authorization.k8s.io "missing" not found')


def test_rules_for_lists_cluster_then_namespace_rules() -> None:
    rules, missing = POLICY.rules_for(ALICE, "prod")
    assert rules == [rule("get,list", resources="pods")] and missing == []
    assert POLICY.rules_for(WATCHER, "")[0] == [rule("get,list", resources="nodes")]


def test_an_allowed_decision_names_the_grant() -> None:
    decision = POLICY.authorize(RequestAttributes(ROBOT, "get", "prod", "", "v1", "pods", "", "p"))
    assert decision.reason == ('RBAC: allowed by RoleBinding "sa-pods/prod" of Role "pod-reader" to '
                               'ServiceAccount "robot/prod"')
    cluster = POLICY.authorize(RequestAttributes(WATCHER, "list", "", "", "v1", "nodes"))
    assert cluster.reason == ('RBAC: allowed by ClusterRoleBinding "nodes" of ClusterRole "node-reader" to '
                              'ServiceAccount "watcher/ops"')


def test_binding_subject_keys() -> None:
    binding = Binding.from_json(_binding("b", "Role", "r", [{"kind": "ServiceAccount", "name": "x"},
                                                              {"kind": "Group", "name": "g"}], "ns"))
    assert [key for key, _ in binding.subject_keys()] == [("User", "system:serviceaccount:ns:x"), ("Group", "g")]
    cluster = Binding.from_json(_binding("b", "ClusterRole", "r", [{"kind": "ServiceAccount", "name": "x"}]))
    assert cluster.subject_keys() == []  # a ServiceAccount without a namespace names no one
