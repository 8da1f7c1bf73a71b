"""Validation of Pods and pod specs, and of what a Pod update may change.

The pod spec rules serve bare Pods and the pod templates of Deployments, ReplicaSets
and DaemonSets alike (the caller passes the path: `spec` or `spec.template.spec`). A
Pod is mostly immutable once created: only images, activeDeadlineSeconds, added
tolerations and terminationGracePeriodSeconds may change, and `spec.nodeName` is set
only through the binding subresource (which must not go through the update check).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from minik8s.api.container_validation import validate_container, validate_container_name
from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader, drop_nulls
from minik8s.api.formats import (
    check_dns1123_label,
    check_dns1123_subdomain,
    check_label_value,
    check_qualified_name,
    describe_inclusive_range,
)
from minik8s.api.meta_validation import (
    validate_enum,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.priority_class import validate_preemption_policy
from minik8s.api.spread_validation import validate_topology_spread_constraints

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_MAX_INT32 = 2**31 - 1
POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)
_VOLUME_REQUIRED_FIELDS = {
    "hostPath": "path",
    "configMap": "name",
    "secret": "secretName",
    "persistentVolumeClaim": "claimName",
}
_DNS_NAMED_FIELDS = (
    ("hostname", check_dns1123_label),
    ("subdomain", check_dns1123_label),
    ("nodeName", check_dns1123_subdomain),
    ("serviceAccountName", check_dns1123_subdomain),
    ("schedulerName", check_dns1123_subdomain),
    ("priorityClassName", check_dns1123_subdomain),
)


def validate_pod(reader: FieldReader, pod: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, pod, "Pod")
    spec = reader.mapping(pod, "spec", "")
    validate_pod_spec(reader, spec, "spec")
    if old is not None:
        validate_object_meta_update(reader, pod, old)
        old_spec = old.get("spec")
        validate_pod_spec_update(reader, spec, old_spec if isinstance(old_spec, Mapping) else {})


def validate_pod_spec(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    volume_names = _validate_volumes(reader, spec, path)
    _validate_containers(reader, spec, path, volume_names=volume_names)
    restart_policy = reader.string(spec, "restartPolicy", path)
    validate_enum(reader, restart_policy, join_path(path, "restartPolicy"), RESTART_POLICIES)
    dns_policy = reader.string(spec, "dnsPolicy", path)
    validate_enum(reader, dns_policy, join_path(path, "dnsPolicy"), DNS_POLICIES)
    grace_period = reader.integer(spec, "terminationGracePeriodSeconds", path)
    validate_nonnegative(reader, grace_period, join_path(path, "terminationGracePeriodSeconds"))
    deadline = reader.integer(spec, "activeDeadlineSeconds", path)
    if deadline is not None and not 1 <= deadline <= _MAX_INT32:
        detail = describe_inclusive_range(1, _MAX_INT32)
        reader.add(FieldError.invalid(join_path(path, "activeDeadlineSeconds"), deadline, detail))
    validate_labels(reader, reader.string_map(spec, "nodeSelector", path), join_path(path, "nodeSelector"))
    _validate_tolerations(reader, spec, path)
    validate_topology_spread_constraints(reader, spec, path)
    for field, check in _DNS_NAMED_FIELDS:
        value = reader.string(spec, field, path)
        if value:
            reader.extend(
                FieldError.invalid(join_path(path, field), value, problem) for problem in check(value)
            )
    for flag in ("hostNetwork", "hostPID", "hostIPC", "enableServiceLinks"):
        reader.boolean(spec, flag, path)
    reader.integer(spec, "priority", path)
    validate_preemption_policy(reader, spec, path)


def validate_pod_spec_update(reader: FieldReader, spec: Mapping[str, Any], old_spec: Mapping[str, Any]) -> None:
    """Only the fields Kubernetes lets a Pod update change; everything else is Forbidden."""
    _validate_deadline_update(
        reader, spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    )
    if not _only_adds_tolerations(spec.get("tolerations"), old_spec.get("tolerations")):
        detail = "existing toleration can not be modified except its tolerationSeconds"
        reader.add(FieldError.forbidden("spec.tolerations", detail))
    allowed = _copy_mutable_fields_from(spec, old_spec)
    if drop_nulls(allowed) != drop_nulls(old_spec):
        changed = sorted(
            name for name in set(allowed) | set(old_spec)
            if drop_nulls(allowed.get(name)) != drop_nulls(old_spec.get(name))
        )  # fmt: skip
        summary = ", ".join(f"spec.{name}" for name in changed)
        reader.add(FieldError.forbidden("spec", f"{POD_UPDATE_MESSAGE}\n  changed: {summary}"))


def _validate_containers(reader: FieldReader, spec: Mapping[str, Any], path: str, *, volume_names: set[str]) -> None:
    if not spec.get("containers"):
        reader.add(FieldError.required(join_path(path, "containers")))
    seen_names: set[str] = set()
    for field, is_init in (("containers", False), ("initContainers", True)):
        for container_path, container in reader.objects(spec, field, path):
            validate_container_name(reader, container, container_path, seen_names)
            validate_container(reader, container, container_path, volume_names=volume_names, is_init=is_init)


def _validate_volumes(reader: FieldReader, spec: Mapping[str, Any], path: str) -> set[str]:
    names: set[str] = set()
    for volume_path, volume in reader.objects(spec, "volumes", path):
        name = reader.string(volume, "name", volume_path)
        name_path = join_path(volume_path, "name")
        if not name:
            reader.add(FieldError.required(name_path))
        else:
            reader.extend(
                FieldError.invalid(name_path, name, problem) for problem in check_dns1123_label(name)
            )
            if name in names:
                reader.add(FieldError.duplicate(name_path, name))
            names.add(name)
        sources = [source for source, value in volume.items() if source != "name" and value is not None]
        if not sources:
            reader.add(FieldError.required(volume_path, "must specify a volume type"))
        for extra in sources[1:]:
            reader.add(
                FieldError.forbidden(join_path(volume_path, extra), "may not specify more than 1 volume type")
            )
        for source_name in sources:
            _validate_volume_source(reader, volume, source_name, volume_path)
    return names


def _validate_volume_source(reader: FieldReader, volume: Mapping[str, Any], source_name: str, path: str) -> None:
    source = reader.mapping(volume, source_name, path)
    required_field = _VOLUME_REQUIRED_FIELDS.get(source_name)
    if required_field and not reader.string(source, required_field, join_path(path, source_name)):
        reader.add(FieldError.required(join_path(path, source_name, required_field)))


def _validate_tolerations(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    for toleration_path, toleration in reader.objects(spec, "tolerations", path):
        toleration_key = reader.string(toleration, "key", toleration_path)
        key_path = join_path(toleration_path, "key")
        if toleration_key:
            reader.extend(
                FieldError.invalid(key_path, toleration_key, p) for p in check_qualified_name(toleration_key)
            )
        operator = reader.string(toleration, "operator", toleration_path)
        operator_path = join_path(toleration_path, "operator")
        if not toleration_key and operator != "Exists":
            detail = (
                'operator must be Exists when `key` is empty, which means "match all values and all keys"'
            )
            reader.add(FieldError.invalid(operator_path, operator, detail))
        value = reader.string(toleration, "value", toleration_path)
        if operator in ("", "Equal"):
            for problem in check_label_value(value):
                reader.add(FieldError.invalid(join_path(toleration_path, "value"), value, problem))
        elif operator == "Exists":
            if value:
                detail = "value must be empty when `operator` is 'Exists'"
                reader.add(FieldError.invalid(join_path(toleration_path, "value"), value, detail))
        else:
            reader.add(FieldError.not_supported(operator_path, operator, ("Equal", "Exists")))
        _validate_toleration_effect(reader, toleration, toleration_path)


def _validate_toleration_effect(reader: FieldReader, toleration: Mapping[str, Any], path: str) -> None:
    effect = reader.string(toleration, "effect", path)
    if effect and effect not in TAINT_EFFECTS:
        reader.add(FieldError.not_supported(join_path(path, "effect"), effect, TAINT_EFFECTS))
    if reader.integer(toleration, "tolerationSeconds", path) is not None and effect != "NoExecute":
        detail = "effect must be 'NoExecute' when `tolerationSeconds` is set"
        reader.add(FieldError.invalid(join_path(path, "effect"), effect, detail))


def _validate_deadline_update(reader: FieldReader, new: Any, old: Any) -> None:
    if not isinstance(old, int):
        return
    if new is None:
        detail = "must not update from a positive integer to nil value"
        reader.add(FieldError.invalid("spec.activeDeadlineSeconds", None, detail))
    elif isinstance(new, int) and new > old:
        detail = "must be less than or equal to previous value"
        reader.add(FieldError.invalid("spec.activeDeadlineSeconds", new, detail))


def _only_adds_tolerations(new: Any, old: Any) -> bool:
    """Every old toleration is still there (its tolerationSeconds may change)."""
    new_list = [t for t in new if isinstance(t, Mapping)] if isinstance(new, list) else []
    old_list = [t for t in old if isinstance(t, Mapping)] if isinstance(old, list) else []
    for old_toleration in old_list:
        wanted = drop_nulls({**old_toleration, "tolerationSeconds": None})
        if not any(drop_nulls({**t, "tolerationSeconds": None}) == wanted for t in new_list):
            return False
    return True


def _copy_mutable_fields_from(spec: Mapping[str, Any], old_spec: Mapping[str, Any]) -> dict[str, Any]:
    """`spec` with every field a Pod update may change copied back from `old_spec`."""
    allowed = copy.deepcopy(dict(spec))
    for field in ("containers", "initContainers"):
        new_containers, old_containers = allowed.get(field), old_spec.get(field)
        if isinstance(new_containers, list) and isinstance(old_containers, list):
            for new_container, old_container in zip(new_containers, old_containers, strict=False):
                if isinstance(new_container, dict) and isinstance(old_container, Mapping):
                    new_container["image"] = old_container.get("image")
    for field in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        allowed[field] = old_spec.get(field)
    return allowed
