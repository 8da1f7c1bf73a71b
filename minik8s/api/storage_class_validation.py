"""Validation of StorageClasses, and of the node selectors and topology terms storage objects carry.

Kubernetes' ValidateStorageClass and ValidateStorageClassUpdate (pkg/apis/storage/validation): a
qualified provisioner name, at most 512 parameters in 256 KiB, reclaimPolicy Delete or Retain, a
volumeBindingMode of Immediate or WaitForFirstConsumer, allowedTopologies of valid label terms; and on
update parameters, provisioner, reclaimPolicy and volumeBindingMode never change. The node selector
rules (ValidateNodeSelector) serve a PersistentVolume's nodeAffinity too.

What minik8s cannot honour is refused, not ignored: volume expansion (its volumes are directories and
nothing resizes them) and mount options (a volume is a bind mount of a node directory: nothing
mounts it with options).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import NOT_SUPPORTED, FieldError, join_index, join_path, render_value
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_label_value, check_qualified_name
from minik8s.api.meta_validation import validate_object_meta, validate_object_meta_update
from minik8s.api.persistent_volumes import DELETE, IMMEDIATE, RETAIN, WAIT_FOR_FIRST_CONSUMER

MAX_PARAMETERS = 512
MAX_PARAMETERS_BYTES = 256 * (1 << 10)
RECLAIM_POLICIES = (DELETE, RETAIN)
BINDING_MODES = (IMMEDIATE, WAIT_FOR_FIRST_CONSUMER)
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
NO_MOUNT_OPTIONS = "its volumes are node directories bind-mounted into containers, never mounted with options"


def not_supported_by_minik8s(path: str, value: Any, reason: str) -> FieldError:
    """A field Kubernetes accepts that minik8s cannot honour, in pod_unsupported's words."""
    return FieldError(path, NOT_SUPPORTED, f"Unsupported value: {render_value(value)}: not supported by minik8s: "
                                           f"{reason}")


def validate_storage_class(reader: FieldReader, storage_class: Mapping[str, Any],
                           old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, storage_class, "StorageClass")
    provisioner = reader.string(storage_class, "provisioner", "")
    if not provisioner:
        reader.add(FieldError.required("provisioner"))
    else:
        reader.extend(FieldError.invalid("provisioner", provisioner, problem)
                      for problem in check_qualified_name(provisioner.lower()))
    _validate_parameters(reader, reader.string_map(storage_class, "parameters", ""))
    policy = reader.string(storage_class, "reclaimPolicy", "")
    if policy and policy not in RECLAIM_POLICIES:
        reader.add(FieldError.not_supported("reclaimPolicy", policy, RECLAIM_POLICIES))
    mode = reader.optional_string(storage_class, "volumeBindingMode", "")
    if mode is None:
        reader.add(FieldError.required("volumeBindingMode"))
    elif mode not in BINDING_MODES:
        reader.add(FieldError.not_supported("volumeBindingMode", mode, BINDING_MODES))
    _validate_allowed_topologies(reader, storage_class)
    if reader.boolean(storage_class, "allowVolumeExpansion", "") is True:
        reader.add(not_supported_by_minik8s("allowVolumeExpansion", True, "its volumes cannot be resized"))
    options = reader.strings(storage_class, "mountOptions", "")
    if options:
        reader.add(not_supported_by_minik8s("mountOptions", [value for _, value in options], NO_MOUNT_OPTIONS))
    if old is not None:
        _validate_storage_class_update(reader, storage_class, old)


def _validate_parameters(reader: FieldReader, parameters: Mapping[str, str]) -> None:
    if len(parameters) > MAX_PARAMETERS:
        reader.add(FieldError("parameters", "FieldValueTooLong",
                              f"Too long: must have at most {MAX_PARAMETERS} items"))
        return
    for key in parameters:
        if not key:
            reader.add(FieldError.invalid("parameters", key, "field can not be empty."))
    if sum(len(key.encode()) + len(value.encode()) for key, value in parameters.items()) > MAX_PARAMETERS_BYTES:
        reader.add(FieldError.too_long("parameters", MAX_PARAMETERS_BYTES))


def _validate_storage_class_update(reader: FieldReader, new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    validate_object_meta_update(reader, new, old)
    if (new.get("parameters") or {}) != (old.get("parameters") or {}):
        reader.add(FieldError.forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        reader.add(FieldError.forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        reader.add(FieldError.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    if new.get("volumeBindingMode") != old.get("volumeBindingMode"):
        reader.add(FieldError.invalid("volumeBindingMode", new.get("volumeBindingMode"), "field is immutable"))


def _validate_allowed_topologies(reader: FieldReader, storage_class: Mapping[str, Any]) -> None:
    """validateAllowedTopologies: each term's label requirements are valid, and no term repeats another."""
    seen: list[dict[str, frozenset[str]]] = []
    for term_path, term in reader.objects(storage_class, "allowedTopologies", ""):
        expressions: dict[str, frozenset[str]] = {}
        for expression_path, expression in reader.objects(term, "matchLabelExpressions", term_path):
            key = reader.string(expression, "key", expression_path)
            values = [value for _, value in reader.strings(expression, "values", expression_path)]
            values_path = join_path(expression_path, "values")
            if not values:
                reader.add(FieldError.required(values_path))
            for index, value in enumerate(values):
                if value in values[:index]:
                    reader.add(FieldError.duplicate(join_index(values_path, index), value))
            reader.extend(FieldError.invalid(join_path(expression_path, "key"), key, problem)
                          for problem in check_qualified_name(key))
            if key in expressions:
                reader.add(FieldError.duplicate(join_path(expression_path, "key"), key))
            expressions[key] = frozenset(values)
        if expressions in seen:
            reader.add(FieldError.duplicate(join_path(term_path, "matchLabelExpressions"), ""))
        seen.append(expressions)


def validate_node_selector(reader: FieldReader, selector: Mapping[str, Any], path: str) -> None:
    """ValidateNodeSelector: at least one term; each requirement's operator, key and values."""
    terms = reader.objects(selector, "nodeSelectorTerms", path)
    if not terms:
        reader.add(FieldError.required(join_path(path, "nodeSelectorTerms"),
                                       "must have at least one node selector term"))
    for term_path, term in terms:
        for field in ("matchExpressions", "matchFields"):
            for requirement_path, requirement in reader.objects(term, field, term_path):
                _validate_requirement(reader, requirement, requirement_path, on_fields=field == "matchFields")


def _validate_requirement(reader: FieldReader, requirement: Mapping[str, Any], path: str, *, on_fields: bool) -> None:
    operator = reader.string(requirement, "operator", path)
    values = [value for _, value in reader.strings(requirement, "values", path)]
    values_path = join_path(path, "values")
    if on_fields:
        _validate_field_requirement(reader, requirement, operator, values, path)
        return
    if operator in ("In", "NotIn") and not values:
        reader.add(FieldError.required(values_path, "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist") and values:
        reader.add(FieldError.forbidden(values_path, "may not be specified when `operator` is 'Exists' or "
                                                     "'DoesNotExist'"))
    elif operator in ("Gt", "Lt") and len(values) != 1:
        reader.add(FieldError.required(values_path, "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    elif operator not in NODE_SELECTOR_OPERATORS:
        reader.add(FieldError.invalid(join_path(path, "operator"), operator, "not a valid selector operator"))
    key = reader.string(requirement, "key", path)
    reader.extend(FieldError.invalid(join_path(path, "key"), key, problem) for problem in check_qualified_name(key))
    for index, value in enumerate(values):
        reader.extend(FieldError.invalid(join_index(values_path, index), value, problem)
                      for problem in check_label_value(value))


def _validate_field_requirement(reader: FieldReader, requirement: Mapping[str, Any], operator: str,
                                values: list[str], path: str) -> None:
    """ValidateNodeFieldSelectorRequirement: only `metadata.name`, In or NotIn one value."""
    if operator not in ("In", "NotIn"):
        reader.add(FieldError.invalid(join_path(path, "operator"), operator, "not a valid selector operator"))
    elif len(values) != 1:
        reader.add(FieldError.required(join_path(path, "values"), "must be only one value when `operator` is 'In' "
                                                                  "or 'NotIn' for node field selector"))
    key = reader.string(requirement, "key", path)
    if key != "metadata.name":
        reader.add(FieldError.invalid(join_path(path, "key"), key, "not a valid field selector key"))
