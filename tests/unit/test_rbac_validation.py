"""RBAC objects are validated as Kubernetes' pkg/apis/rbac/validation validates them."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.validation import validate

GROUP = "rbac.authorization.k8s.io"


def fields_of(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    apply_defaults(kind, obj)
    return [f"{e.field}: {e.message}" for e in validate(kind, obj, old=old)]


def role(rules: list[dict[str, Any]], name: str = "r") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "rules": rules}


@pytest.mark.parametrize(("kind", "rules", "expected"), [
    ("Role", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], []),
    ("Role", [{"apiGroups": [""], "resources": ["pods"]}],
     ["rules[0].verbs: Required value: verbs must contain at least one value"]),
    ("Role", [{"resources": ["pods"], "verbs": ["get"]}],
     ["rules[0].apiGroups: Required value: resource rules must supply at least one api group"]),
    ("Role", [{"apiGroups": [""], "verbs": ["get"]}],
     ["rules[0].resources: Required value: resource rules must supply at least one resource"]),
    ("Role", [{"nonResourceURLs": ["/x"], "verbs": ["get"]}],
     ['rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs']),
    ("ClusterRole", [{"nonResourceURLs": ["/x"], "verbs": ["get"]}], []),
    ("ClusterRole", [{"nonResourceURLs": ["/x"], "resources": ["pods"], "verbs": ["get"]}],
     ['rules[0].nonResourceURLs: Invalid value: ["/x"]: rules cannot apply to both regular resources and '
      'non-resource URLs']),
])
def test_rules(kind: str, rules: list[dict[str, Any]], expected: list[str]) -> None:
    obj = role(rules)
    if kind == "ClusterRole":
        del obj["metadata"]["namespace"]
    assert fields_of(kind, obj) == expected


def test_names_are_path_segments() -> None:
    assert fields_of("ClusterRole", {"metadata": {"name": "system:kube-scheduler"}}) == []
    assert fields_of("ClusterRole", {"metadata": {"name": "a/b"}}) == ["metadata.name: Invalid value: \"a/b\": "
                                                                       "may not contain '/'"]


def binding(subjects: list[dict[str, Any]], ref_kind: str = "ClusterRole") -> dict[str, Any]:
    return {"metadata": {"name": "b"}, "roleRef": {"kind": ref_kind, "name": "view"}, "subjects": subjects}


@pytest.mark.parametrize(("kind", "obj", "expected"), [
    ("RoleBinding", binding([{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa"}]), []),
    ("ClusterRoleBinding", binding([{"kind": "ServiceAccount", "name": "sa"}]),
     ["subjects[0].namespace: Required value"]),
    ("ClusterRoleBinding", binding([], ref_kind="Role"),
     ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"']),
    ("RoleBinding", binding([{"kind": "Robot", "name": "r"}]),
     ['subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']),
    ("RoleBinding", binding([{"kind": "User"}]), ["subjects[0].name: Required value"]),
])
def test_bindings(kind: str, obj: dict[str, Any], expected: list[str]) -> None:
    if kind == "RoleBinding":
        obj["metadata"]["namespace"] = "ns"
    assert fields_of(kind, obj) == expected


def test_role_ref_is_immutable_and_defaulted() -> None:
    old = binding([])
    apply_defaults("ClusterRoleBinding", old)
    assert old["roleRef"]["apiGroup"] == GROUP
    new = binding([])
    new["roleRef"]["name"] = "edit"
    assert any("cannot change roleRef" in problem for problem in fields_of("ClusterRoleBinding", new, old))
