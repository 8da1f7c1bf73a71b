"""Validation of what every object shares: metadata, labels, annotations, selectors.

Every kind's validator starts here: names (the rule depends on the kind), namespace,
labels, annotations (and their 256 KiB budget), finalizers, owner references, and on
update the fields that never change. Label selector objects and a few tiny rules
(non-negative numbers, immutability) used by several kinds live here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import (
    check_dns1035_label,
    check_dns1123_label,
    check_dns1123_subdomain,
    check_label_value,
    check_path_segment_name,
    check_qualified_name,
)
from minik8s.api.registry import REGISTRY
from minik8s.api.selectors import LabelSelector, SelectorError, label_selector_from_object

TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024
IMMUTABLE_MESSAGE = "field is immutable"
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})

NameCheck = Callable[[str], list[str]]
_NAME_CHECKS: dict[str, NameCheck] = {
    "Namespace": check_dns1123_label, "Service": check_dns1035_label,
    "StatefulSet": check_dns1123_label,  # its pods' names and hostnames are `<name>-<ordinal>`
    **dict.fromkeys(("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"), check_path_segment_name),
}


def check_name(kind: str, name: str, *, prefix: bool = False) -> list[str]:
    """Problems with `name` for an object of `kind`; `prefix` checks a generateName."""
    if prefix and len(name) > 1 and name.endswith("-"):
        name = name[:-1] + "a"  # a generateName may end in '-': a suffix follows
    return _NAME_CHECKS.get(kind, check_dns1123_subdomain)(name)


def validate_object_meta(reader: FieldReader, obj: Mapping[str, Any], kind: str) -> None:
    metadata = reader.mapping(obj, "metadata", "")
    _validate_name_fields(reader, metadata, kind)
    _validate_namespace_field(reader, metadata, kind)
    validate_labels(reader, reader.string_map(metadata, "labels", "metadata"), "metadata.labels")
    validate_annotations(
        reader, reader.string_map(metadata, "annotations", "metadata"), "metadata.annotations"
    )
    for _, finalizer in reader.strings(metadata, "finalizers", "metadata"):
        reader.extend(check_finalizer_name(finalizer, "metadata.finalizers"))
    _validate_owner_references(reader, metadata)


def validate_object_meta_update(reader: FieldReader, obj: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_metadata = reader.mapping(obj, "metadata", "")
    old_metadata = old.get("metadata")
    if not isinstance(old_metadata, Mapping):
        old_metadata = {}
    for field in ("name", "namespace", "uid"):
        new_value = new_metadata.get(field)
        if new_value not in (None, "") and new_value != old_metadata.get(field):
            reader.add(FieldError.invalid(join_path("metadata", field), new_value, IMMUTABLE_MESSAGE))


def validate_labels(reader: FieldReader, labels: Mapping[str, str], path: str) -> None:
    for label_key, label_value in labels.items():
        reader.extend(
            FieldError.invalid(path, label_key, problem) for problem in check_qualified_name(label_key)
        )
        reader.extend(
            FieldError.invalid(path, label_value, problem) for problem in check_label_value(label_value)
        )


def validate_annotations(reader: FieldReader, annotations: Mapping[str, str], path: str) -> None:
    total_size = 0
    for annotation_key, annotation_value in annotations.items():
        for problem in check_qualified_name(annotation_key.lower()):
            reader.add(FieldError.invalid(path, annotation_key, problem))
        total_size += len(annotation_key.encode()) + len(annotation_value.encode())
    if total_size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES:
        reader.add(FieldError.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES))


def check_finalizer_name(finalizer: str, path: str) -> list[FieldError]:
    problems = [FieldError.invalid(path, finalizer, problem) for problem in check_qualified_name(finalizer)]
    if not problems and "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
        detail = "name is neither a standard finalizer name nor is it fully qualified"
        problems.append(FieldError.invalid(path, finalizer, detail))
    return problems


def validate_label_selector(reader: FieldReader, owner: Mapping[str, Any], name: str, path: str) -> LabelSelector | None:
    """Validate `owner[name]` as a LabelSelector object; return it when valid (None if absent)."""
    if owner.get(name) is None:
        return None
    errors_before = len(reader.errors)
    selector_path = join_path(path, name)
    selector = reader.mapping(owner, name, path)
    validate_labels(
        reader,
        reader.string_map(selector, "matchLabels", selector_path),
        join_path(selector_path, "matchLabels"),
    )
    for expression_path, expression in reader.objects(selector, "matchExpressions", selector_path):
        _validate_selector_expression(reader, expression, expression_path)
    if len(reader.errors) > errors_before:
        return None
    try:
        return label_selector_from_object(selector)
    except SelectorError as error:  # unexpected after the checks above; report, never crash
        reader.add(FieldError.invalid(selector_path, dict(selector), str(error)))
        return None


def validate_nonnegative(reader: FieldReader, value: int | None, path: str) -> None:
    if value is not None and value < 0:
        reader.add(FieldError.invalid(path, value, "must be greater than or equal to 0"))


def validate_immutable(reader: FieldReader, new_value: Any, old_value: Any, path: str) -> None:
    if new_value != old_value:
        reader.add(FieldError.invalid(path, new_value, IMMUTABLE_MESSAGE))


def validate_enum(reader: FieldReader, value: str, path: str, supported: tuple[str, ...]) -> None:
    """Required when empty, NotSupported when not one of `supported` (listed as given)."""
    if not value:
        reader.add(FieldError.required(path))
    elif value not in supported:
        reader.add(FieldError.not_supported(path, value, supported))


def _validate_name_fields(reader: FieldReader, metadata: Mapping[str, Any], kind: str) -> None:
    name = reader.string(metadata, "name", "metadata")
    generate_name = reader.string(metadata, "generateName", "metadata")
    if generate_name:
        for problem in check_name(kind, generate_name, prefix=True):
            reader.add(FieldError.invalid("metadata.generateName", generate_name, problem))
    if name:
        reader.extend(
            FieldError.invalid("metadata.name", name, problem) for problem in check_name(kind, name)
        )
    elif not generate_name:
        reader.add(FieldError.required("metadata.name", "name or generateName is required"))


def _validate_namespace_field(reader: FieldReader, metadata: Mapping[str, Any], kind: str) -> None:
    namespace = reader.string(metadata, "namespace", "metadata")
    namespaced = next((resource.namespaced for resource in REGISTRY.kinds if resource.kind == kind), None)
    if namespaced is True and not namespace:
        reader.add(FieldError.required("metadata.namespace"))
    elif namespaced is False and namespace:
        reader.add(FieldError.forbidden("metadata.namespace", "not allowed on this type"))
    elif namespace:
        reader.extend(
            FieldError.invalid("metadata.namespace", namespace, p) for p in check_dns1123_label(namespace)
        )


def _validate_owner_references(reader: FieldReader, metadata: Mapping[str, Any]) -> None:
    path = "metadata.ownerReferences"
    controllers = []
    for _, reference in reader.objects(metadata, "ownerReferences", "metadata"):
        api_version = reader.string(reference, "apiVersion", path)
        for field, value, detail in (
            ("apiVersion", api_version.rsplit("/", 1)[-1], "version must not be empty"),
            ("kind", reader.string(reference, "kind", path), "kind must not be empty"),
            ("name", reader.string(reference, "name", path), "name must not be empty"),
            ("uid", reader.string(reference, "uid", path), "uid must not be empty"),
        ):
            if not value:
                reader.add(FieldError.invalid(join_path(path, field), reference.get(field) or "", detail))
        if reader.boolean(reference, "controller", path):
            controllers.append(f"{reference.get('kind')}/{reference.get('name')}")
    if len(controllers) > 1:
        detail = f'Only one reference can have Controller set to true. Found "true" in references for {", ".join(controllers)}'
        reader.add(FieldError.invalid(path, metadata.get("ownerReferences"), detail))


def _validate_selector_expression(reader: FieldReader, expression: Mapping[str, Any], path: str) -> None:
    operator = reader.string(expression, "operator", path)
    values = reader.strings(expression, "values", path)
    if operator in ("In", "NotIn") and not values:
        reader.add(
            FieldError.required(
                join_path(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'"
            )
        )
    elif operator in ("Exists", "DoesNotExist") and values:
        detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        reader.add(FieldError.forbidden(join_path(path, "values"), detail))
    elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
        reader.add(FieldError.invalid(join_path(path, "operator"), operator, "not a valid selector operator"))
    selector_key = reader.string(expression, "key", path)
    reader.extend(
        FieldError.invalid(join_path(path, "key"), selector_key, p)
        for p in check_qualified_name(selector_key)
    )
    for value_path, value in values:
        reader.extend(FieldError.invalid(value_path, value, problem) for problem in check_label_value(value))
