"""Validation of the RBAC kinds: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

Kubernetes' pkg/apis/rbac/validation: a rule needs verbs and either apiGroups+resources or
nonResourceURLs (never both, and nonResourceURLs only in a ClusterRole); an aggregated
ClusterRole needs at least one selector; a binding's roleRef names a Role or ClusterRole (a
ClusterRoleBinding only a ClusterRole) and never changes; subjects are User, Group or
ServiceAccount, and a ServiceAccount in a ClusterRoleBinding must say its namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_dns1123_subdomain, check_path_segment_name
from minik8s.api.meta_validation import (
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.registry import RBAC_GROUP

SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _validate_rule(reader: FieldReader, rule: Mapping[str, Any], path: str, *, namespaced: bool) -> None:
    verbs = reader.strings(rule, "verbs", path)
    groups = reader.strings(rule, "apiGroups", path)
    resources = reader.strings(rule, "resources", path)
    names = reader.strings(rule, "resourceNames", path)
    urls = [url for _, url in reader.strings(rule, "nonResourceURLs", path)]
    if not verbs:
        reader.add(FieldError.required(join_path(path, "verbs"), "verbs must contain at least one value"))
    if urls:
        if namespaced:
            reader.add(FieldError.invalid(join_path(path, "nonResourceURLs"), urls,
                                          "namespaced rules cannot apply to non-resource URLs"))
        if groups or resources or names:
            reader.add(FieldError.invalid(join_path(path, "nonResourceURLs"), urls,
                                          "rules cannot apply to both regular resources and non-resource URLs"))
        return
    if not groups:
        reader.add(FieldError.required(join_path(path, "apiGroups"),
                                       "resource rules must supply at least one api group"))
    if not resources:
        reader.add(FieldError.required(join_path(path, "resources"),
                                       "resource rules must supply at least one resource"))


def _validate_rules(reader: FieldReader, role: Mapping[str, Any], *, namespaced: bool) -> None:
    for path, rule in reader.objects(role, "rules", ""):
        _validate_rule(reader, rule, path, namespaced=namespaced)


def validate_role(reader: FieldReader, role: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, role, "Role")
    _validate_rules(reader, role, namespaced=True)
    if old is not None:
        validate_object_meta_update(reader, role, old)


def validate_cluster_role(reader: FieldReader, role: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, role, "ClusterRole")
    _validate_rules(reader, role, namespaced=False)
    aggregation = reader.optional_mapping(role, "aggregationRule", "")
    if aggregation is not None:
        selectors = reader.objects(aggregation, "clusterRoleSelectors", "aggregationRule")
        if not selectors:
            reader.add(FieldError.required("aggregationRule.clusterRoleSelectors",
                                           "at least one clusterRoleSelector required if aggregationRule is non-nil"))
        for position, _ in enumerate(selectors):
            validate_label_selector(reader, {"s": aggregation["clusterRoleSelectors"][position]}, "s",
                                    f"aggregationRule.clusterRoleSelectors[{position}]")
    if old is not None:
        validate_object_meta_update(reader, role, old)


def _validate_subject(reader: FieldReader, subject: Mapping[str, Any], path: str, *, namespaced: bool) -> None:
    name = reader.string(subject, "name", path)
    kind = reader.string(subject, "kind", path)
    api_group = reader.string(subject, "apiGroup", path)
    if not name:
        reader.add(FieldError.required(join_path(path, "name")))
    if kind == "ServiceAccount":
        if name:
            reader.extend(FieldError.invalid(join_path(path, "name"), name, problem)
                          for problem in check_dns1123_subdomain(name))
        if api_group:
            reader.add(FieldError.not_supported(join_path(path, "apiGroup"), api_group, [""]))
        if not namespaced and not reader.string(subject, "namespace", path):
            reader.add(FieldError.required(join_path(path, "namespace")))
    elif kind in ("User", "Group"):
        if api_group != RBAC_GROUP:
            reader.add(FieldError.not_supported(join_path(path, "apiGroup"), api_group, [RBAC_GROUP]))
    else:
        reader.add(FieldError.not_supported(join_path(path, "kind"), kind, SUBJECT_KINDS))


def _validate_binding(reader: FieldReader, binding: Mapping[str, Any], old: Mapping[str, Any] | None, *,
                      kind: str, role_kinds: tuple[str, ...]) -> None:
    validate_object_meta(reader, binding, kind)
    ref = reader.mapping(binding, "roleRef", "")
    api_group, ref_kind, ref_name = (reader.string(ref, field, "roleRef") for field in ("apiGroup", "kind", "name"))
    if api_group != RBAC_GROUP:
        reader.add(FieldError.not_supported("roleRef.apiGroup", api_group, [RBAC_GROUP]))
    if ref_kind not in role_kinds:
        reader.add(FieldError.not_supported("roleRef.kind", ref_kind, role_kinds))
    if not ref_name:
        reader.add(FieldError.required("roleRef.name"))
    else:
        reader.extend(FieldError.invalid("roleRef.name", ref_name, problem)
                      for problem in check_path_segment_name(ref_name))
    for path, subject in reader.objects(binding, "subjects", ""):
        _validate_subject(reader, subject, path, namespaced=kind == "RoleBinding")
    if old is not None:
        validate_object_meta_update(reader, binding, old)
        old_ref = old.get("roleRef")
        if old_ref != binding.get("roleRef"):
            reader.add(FieldError.invalid("roleRef", binding.get("roleRef"), "cannot change roleRef"))


def validate_role_binding(reader: FieldReader, binding: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    _validate_binding(reader, binding, old, kind="RoleBinding", role_kinds=("Role", "ClusterRole"))


def validate_cluster_role_binding(reader: FieldReader, binding: Mapping[str, Any],
                                  old: Mapping[str, Any] | None) -> None:
    _validate_binding(reader, binding, old, kind="ClusterRoleBinding", role_kinds=("ClusterRole",))
