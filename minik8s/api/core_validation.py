"""Validation of the smaller core kinds: Namespace, Node, Event, ConfigMap, Secret, Lease, ServiceAccount.

Each has a handful of rules of its own (config keys and the 1 MiB budget of ConfigMaps
and Secrets, base64 Secret data, required keys of typed Secrets, node taints and pod
CIDR — a Node's status in node_status_validation —, the namespace an Event may live in,
a Lease's positive duration); the rest is the shared metadata validation.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import OMITTED, FieldError, join_index, join_key, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_cidr, check_config_map_key, check_label_value, check_qualified_name
from minik8s.api.meta_validation import (
    check_finalizer_name,
    validate_immutable,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.node_status_validation import validate_node_status
from minik8s.api.pod_validation import TAINT_EFFECTS

MAX_CONFIG_SIZE_BYTES = 1024 * 1024
IMMUTABLE_DATA_MESSAGE = "field is immutable when `immutable` is set"
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def validate_namespace(reader: FieldReader, namespace: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, namespace, "Namespace")
    spec = reader.mapping(namespace, "spec", "")
    for position, (_, finalizer) in enumerate(reader.strings(spec, "finalizers", "spec")):
        reader.extend(check_finalizer_name(finalizer, join_index("spec.finalizers", position)))
    if old is not None:
        validate_object_meta_update(reader, namespace, old)


def validate_node(reader: FieldReader, node: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, node, "Node")
    spec = reader.mapping(node, "spec", "")
    pod_cidr = reader.string(spec, "podCIDR", "spec")
    if pod_cidr:
        reader.extend(
            FieldError.invalid("spec.podCIDR", pod_cidr, problem) for problem in check_cidr(pod_cidr)
        )
    for cidr_path, cidr in reader.strings(spec, "podCIDRs", "spec"):
        reader.extend(FieldError.invalid(cidr_path, cidr, problem) for problem in check_cidr(cidr))
    reader.boolean(spec, "unschedulable", "spec")
    _validate_taints(reader, spec)
    validate_node_status(reader, node)
    if old is not None:
        validate_object_meta_update(reader, node, old)
        old_spec = old.get("spec")
        if not isinstance(old_spec, Mapping):
            old_spec = {}
        for field in ("podCIDR", "podCIDRs"):
            if old_spec.get(field) and spec.get(field) != old_spec.get(field):
                detail = 'node updates may not change podCIDR except from "" to valid'
                reader.add(FieldError.forbidden(join_path("spec", field), detail))


def validate_event(reader: FieldReader, event: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, event, "Event")
    namespace = reader.string(reader.mapping(event, "metadata", ""), "namespace", "metadata")
    involved = reader.mapping(event, "involvedObject", "")
    involved_namespace = reader.string(involved, "namespace", "involvedObject")
    cluster_scoped_ok = not involved_namespace and namespace in ("", "default")
    if not cluster_scoped_ok and involved_namespace != namespace:
        detail = "does not match event.namespace"
        reader.add(FieldError.invalid("involvedObject.namespace", involved_namespace, detail))
    for field in ("reason", "message", "type", "reportingComponent"):
        reader.string(event, field, "")
    reader.integer(event, "count", "")
    if old is not None:
        validate_object_meta_update(reader, event, old)


def validate_config_map(reader: FieldReader, config_map: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, config_map, "ConfigMap")
    data = reader.string_map(config_map, "data", "")
    binary_data = reader.string_map(config_map, "binaryData", "")
    total_size = _validate_keys(reader, data, "data") + _validate_keys(reader, binary_data, "binaryData")
    for duplicate_key in set(data) & set(binary_data):
        reader.add(
            FieldError.invalid(
                join_key("data", duplicate_key), duplicate_key, "duplicate of key present in binaryData"
            )
        )
    for binary_key, value in binary_data.items():
        _validate_base64(reader, value, join_key("binaryData", binary_key))
    if total_size > MAX_CONFIG_SIZE_BYTES:
        reader.add(FieldError.too_long("data", MAX_CONFIG_SIZE_BYTES))
    reader.boolean(config_map, "immutable", "")
    if old is not None:
        validate_object_meta_update(reader, config_map, old)
        _validate_immutable_data(reader, config_map, old, ("data", "binaryData"))


def validate_secret(reader: FieldReader, secret: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, secret, "Secret")
    data = reader.string_map(secret, "data", "")
    string_data = reader.string_map(secret, "stringData", "")
    _validate_keys(reader, data, "data")
    total_size = _validate_keys(reader, string_data, "stringData")
    for data_key, value in data.items():
        total_size += _validate_base64(reader, value, join_key("data", data_key))
    if total_size > MAX_CONFIG_SIZE_BYTES:
        reader.add(FieldError.too_long("data", MAX_CONFIG_SIZE_BYTES))
    secret_type = reader.string(secret, "type", "")
    present = set(data) | set(string_data)
    for required_key in _SECRET_REQUIRED_KEYS.get(secret_type, ()):
        if required_key not in present:
            reader.add(FieldError.required(join_key("data", required_key)))
    if secret_type == "kubernetes.io/basic-auth" and not present & {"username", "password"}:
        reader.add(
            FieldError.required(join_key("data", "username")),
            FieldError.required(join_key("data", "password")),
        )
    reader.boolean(secret, "immutable", "")
    if old is not None:
        validate_object_meta_update(reader, secret, old)
        validate_immutable(reader, secret.get("type"), old.get("type"), "type")
        _validate_immutable_data(reader, secret, old, ("data", "stringData"))


def validate_lease(reader: FieldReader, lease: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, lease, "Lease")
    spec = reader.mapping(lease, "spec", "")
    for field in ("holderIdentity", "acquireTime", "renewTime"):
        reader.optional_string(spec, field, "spec")
    duration = reader.integer(spec, "leaseDurationSeconds", "spec")
    if duration is not None and duration <= 0:
        reader.add(FieldError.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    validate_nonnegative(reader, reader.integer(spec, "leaseTransitions", "spec"), "spec.leaseTransitions")
    if old is not None:
        validate_object_meta_update(reader, lease, old)


def _validate_keys(reader: FieldReader, entries: Mapping[str, str], path: str) -> int:
    """Check every key; return the size in bytes of the values."""
    for entry_key in entries:
        reader.extend(
            FieldError.invalid(join_key(path, entry_key), entry_key, p)
            for p in check_config_map_key(entry_key)
        )
    return sum(len(value.encode()) for value in entries.values())


def _validate_base64(reader: FieldReader, value: str, path: str) -> int:
    """Check standard padded base64 (newlines ignored, as Go does); return the decoded size."""
    compact = value.replace("\r", "").replace("\n", "")
    if len(compact) % 4 == 0 and _BASE64.fullmatch(compact):
        try:
            return len(binascii.a2b_base64(compact))
        except binascii.Error:
            pass
    reader.add(FieldError.invalid(path, OMITTED, "illegal base64 data"))
    return 0


def _validate_taints(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    seen: set[tuple[str, str]] = set()
    for taint_path, taint in reader.objects(spec, "taints", "spec"):
        taint_key = reader.string(taint, "key", taint_path)
        if not taint_key:
            reader.add(FieldError.required(join_path(taint_path, "key")))
        else:
            reader.extend(
                FieldError.invalid(join_path(taint_path, "key"), taint_key, p)
                for p in check_qualified_name(taint_key)
            )
        value = reader.string(taint, "value", taint_path)
        reader.extend(
            FieldError.invalid(join_path(taint_path, "value"), value, p) for p in check_label_value(value)
        )
        effect = reader.string(taint, "effect", taint_path)
        if not effect:
            reader.add(FieldError.required(join_path(taint_path, "effect")))
        elif effect not in TAINT_EFFECTS:
            reader.add(FieldError.not_supported(join_path(taint_path, "effect"), effect, TAINT_EFFECTS))
        if (taint_key, effect) in seen:
            reader.add(FieldError.duplicate(taint_path, dict(taint)))
        seen.add((taint_key, effect))


def _validate_immutable_data(reader: FieldReader, obj: Mapping[str, Any], old: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    if old.get("immutable") is not True:
        return
    if obj.get("immutable") is not True:
        reader.add(FieldError.forbidden("immutable", IMMUTABLE_DATA_MESSAGE))
    for field in fields:
        if _empty_if_null(obj.get(field)) != _empty_if_null(old.get(field)):
            reader.add(FieldError.forbidden(field, IMMUTABLE_DATA_MESSAGE))


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


def validate_service_account(reader: FieldReader, account: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    """Kubernetes checks a ServiceAccount's metadata only; its references are read for type errors."""
    validate_object_meta(reader, account, "ServiceAccount")
    for field in ("secrets", "imagePullSecrets"):
        for path, reference in reader.objects(account, field, ""):
            reader.string(reference, "name", path)
    reader.boolean(account, "automountServiceAccountToken", "")
    if old is not None:
        validate_object_meta_update(reader, account, old)
