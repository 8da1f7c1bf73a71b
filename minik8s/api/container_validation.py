"""Validation of one container: name, image, ports, env, resources, mounts, probes.

Split from the pod validator because a container carries most of a pod's rules. Field
paths come in from the caller (`spec.containers[0]` for a Pod,
`spec.template.spec.containers[0]` for a Deployment) so messages point at the user's YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from minik8s.api.field_errors import FieldError, join_key, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import (
    check_config_map_key,
    check_dns1123_label,
    check_env_var_name,
    check_port_name,
    check_port_number,
)
from minik8s.api.meta_validation import validate_enum, validate_nonnegative
from minik8s.api.quantity import FORMAT_MESSAGE, parse_quantity

SUPPORTED_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_PROBE_NUMBERS = (
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
)
_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_ENV_FIELD_PATHS = (
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
    "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)  # fmt: skip


def validate_container(
    reader: FieldReader, container: Mapping[str, Any], path: str, *, volume_names: set[str], is_init: bool
) -> None:
    """Everything about one container except the uniqueness of its name (the pod checks that)."""
    image = reader.string(container, "image", path)
    if not image:
        reader.add(FieldError.required(join_path(path, "image")))
    elif image != image.strip():
        reader.add(
            FieldError.invalid(
                join_path(path, "image"), image, "must not have leading or trailing whitespace"
            )
        )
    pull_policy = reader.string(container, "imagePullPolicy", path)
    validate_enum(reader, pull_policy, join_path(path, "imagePullPolicy"), _PULL_POLICIES)
    message_policy = reader.string(container, "terminationMessagePolicy", path)
    validate_enum(
        reader, message_policy, join_path(path, "terminationMessagePolicy"), _TERMINATION_MESSAGE_POLICIES
    )
    reader.strings(container, "command", path)
    reader.strings(container, "args", path)
    reader.string(container, "workingDir", path)
    _validate_ports(reader, container, path)
    _validate_env(reader, container, path)
    _validate_resources(reader, container, path)
    _validate_volume_mounts(reader, container, path, volume_names=volume_names)
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = reader.optional_mapping(container, probe_name, path)
        if probe is None:
            continue
        if is_init:
            detail = "may not be set for init containers without restartPolicy=Always"
            reader.add(FieldError.forbidden(join_path(path, probe_name), detail))
        else:
            _validate_probe(
                reader, probe, join_path(path, probe_name), single_success=probe_name != "readinessProbe"
            )


def validate_container_name(reader: FieldReader, container: Mapping[str, Any], path: str, seen: set[str]) -> None:
    name = reader.string(container, "name", path)
    name_path = join_path(path, "name")
    if not name:
        reader.add(FieldError.required(name_path))
        return
    reader.extend(FieldError.invalid(name_path, name, problem) for problem in check_dns1123_label(name))
    if name in seen:
        reader.add(FieldError.duplicate(name_path, name))
    seen.add(name)


def validate_port_or_name(reader: FieldReader, owner: Mapping[str, Any], name: str, path: str) -> None:
    """An int-or-string port: 1-65535, or an IANA service name of a container port."""
    port = reader.int_or_string(owner, name, path)
    port_path = join_path(path, name)
    if isinstance(port, int):
        reader.extend(FieldError.invalid(port_path, port, problem) for problem in check_port_number(port))
    elif isinstance(port, str):
        reader.extend(FieldError.invalid(port_path, port, problem) for problem in check_port_name(port))
    elif owner.get(name) is None:
        reader.add(FieldError.required(port_path))


def _validate_ports(reader: FieldReader, container: Mapping[str, Any], path: str) -> None:
    names: set[str] = set()
    for port_path, port in reader.objects(container, "ports", path):
        name = reader.string(port, "name", port_path)
        if name:
            reader.extend(
                FieldError.invalid(join_path(port_path, "name"), name, p) for p in check_port_name(name)
            )
            if name in names:
                reader.add(FieldError.duplicate(join_path(port_path, "name"), name))
            names.add(name)
        container_port = reader.integer(port, "containerPort", port_path)
        if not container_port:
            if port.get("containerPort") in (None, 0):
                reader.add(FieldError.required(join_path(port_path, "containerPort")))
        else:
            for problem in check_port_number(container_port):
                reader.add(FieldError.invalid(join_path(port_path, "containerPort"), container_port, problem))
        host_port = reader.integer(port, "hostPort", port_path)
        if host_port:
            for problem in check_port_number(host_port):
                reader.add(FieldError.invalid(join_path(port_path, "hostPort"), host_port, problem))
        protocol = reader.string(port, "protocol", port_path)
        validate_enum(reader, protocol, join_path(port_path, "protocol"), SUPPORTED_PROTOCOLS)


def _validate_env(reader: FieldReader, container: Mapping[str, Any], path: str) -> None:
    for variable_path, variable in reader.objects(container, "env", path):
        name = reader.string(variable, "name", variable_path)
        name_path = join_path(variable_path, "name")
        if not name:
            reader.add(FieldError.required(name_path))
        else:
            reader.extend(
                FieldError.invalid(name_path, name, problem) for problem in check_env_var_name(name)
            )
        value = reader.string(variable, "value", variable_path)
        value_from = reader.optional_mapping(variable, "valueFrom", variable_path)
        if value_from is not None:
            _validate_env_source(
                reader, value_from, join_path(variable_path, "valueFrom"), has_value=bool(value)
            )


def _validate_env_source(reader: FieldReader, value_from: Mapping[str, Any], path: str, *, has_value: bool) -> None:
    sources = [name for name in _ENV_SOURCES if value_from.get(name) is not None]
    if not sources:
        detail = "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
        reader.add(FieldError.invalid(path, "", detail))
    elif has_value:
        reader.add(FieldError.invalid(path, "", "may not be specified when `value` is not empty"))
    elif len(sources) > 1:
        reader.add(FieldError.invalid(path, "", "may not have more than one field specified at a time"))
    field_ref = reader.optional_mapping(value_from, "fieldRef", path)
    if field_ref is not None:
        _validate_field_ref(reader, field_ref, join_path(path, "fieldRef"))
    resource_ref = reader.optional_mapping(value_from, "resourceFieldRef", path)
    if resource_ref is not None and not reader.string(
        resource_ref, "resource", join_path(path, "resourceFieldRef")
    ):
        reader.add(FieldError.required(join_path(path, "resourceFieldRef", "resource")))
    for selector_name in ("configMapKeyRef", "secretKeyRef"):
        selector = reader.optional_mapping(value_from, selector_name, path)
        if selector is not None:
            _validate_key_selector(reader, selector, join_path(path, selector_name))


def _validate_field_ref(reader: FieldReader, field_ref: Mapping[str, Any], path: str) -> None:
    field_path = reader.string(field_ref, "fieldPath", path)
    if not field_path:
        reader.add(FieldError.required(join_path(path, "fieldPath")))
        return
    base = field_path.split("[", 1)[0] if field_path.endswith("]") else field_path
    subscripted = base != field_path
    if base not in _ENV_FIELD_PATHS or (
        subscripted and base not in ("metadata.labels", "metadata.annotations")
    ):
        reader.add(FieldError.not_supported(join_path(path, "fieldPath"), field_path, _ENV_FIELD_PATHS))


def _validate_key_selector(reader: FieldReader, selector: Mapping[str, Any], path: str) -> None:
    if not reader.string(selector, "name", path):
        reader.add(FieldError.required(join_path(path, "name")))
    selector_key = reader.string(selector, "key", path)
    if not selector_key:
        reader.add(FieldError.required(join_path(path, "key")))
    else:
        problems = check_config_map_key(selector_key)
        reader.extend(
            FieldError.invalid(join_path(path, "key"), selector_key, problem) for problem in problems
        )


def _validate_resources(reader: FieldReader, container: Mapping[str, Any], path: str) -> None:
    resources_path = join_path(path, "resources")
    resources = reader.mapping(container, "resources", path)
    limits = _read_quantities(reader, resources, "limits", resources_path)
    requests = _read_quantities(reader, resources, "requests", resources_path)
    for name, (request_text, request) in requests.items():
        if name in limits and request > limits[name][1]:
            detail = f"must be less than or equal to {name} limit of {limits[name][0]}"
            reader.add(FieldError.invalid(join_path(resources_path, "requests"), request_text, detail))


def _read_quantities(
    reader: FieldReader, resources: Mapping[str, Any], name: str, path: str
) -> dict[str, tuple[str, Decimal]]:
    quantities: dict[str, tuple[str, Decimal]] = {}
    for resource_name, raw in reader.mapping(resources, name, path).items():
        quantity_path = join_key(join_path(path, name), str(resource_name))
        try:
            quantity = parse_quantity(raw)
        except ValueError:
            reader.add(FieldError.invalid(quantity_path, raw, FORMAT_MESSAGE))
            continue
        text = raw if isinstance(raw, str) else str(raw)
        if quantity < 0:
            reader.add(FieldError.invalid(quantity_path, text, "must be greater than or equal to 0"))
        quantities[str(resource_name)] = (text, quantity)
    return quantities


def _validate_volume_mounts(
    reader: FieldReader, container: Mapping[str, Any], path: str, *, volume_names: set[str]
) -> None:
    mount_paths: set[str] = set()
    for mount_path_field, mount in reader.objects(container, "volumeMounts", path):
        name = reader.string(mount, "name", mount_path_field)
        if not name:
            reader.add(FieldError.required(join_path(mount_path_field, "name")))
        elif name not in volume_names:
            reader.add(FieldError.not_found(join_path(mount_path_field, "name"), name))
        mount_path = reader.string(mount, "mountPath", mount_path_field)
        if not mount_path:
            reader.add(FieldError.required(join_path(mount_path_field, "mountPath")))
        elif mount_path in mount_paths:
            reader.add(
                FieldError.invalid(join_path(mount_path_field, "mountPath"), mount_path, "must be unique")
            )
        mount_paths.add(mount_path)
        reader.boolean(mount, "readOnly", mount_path_field)


def _validate_probe(reader: FieldReader, probe: Mapping[str, Any], path: str, *, single_success: bool) -> None:
    handlers = [name for name in _PROBE_HANDLERS if probe.get(name) is not None]
    if not handlers:
        reader.add(FieldError.required(path, "must specify a handler type"))
    for extra in handlers[1:]:
        reader.add(FieldError.forbidden(join_path(path, extra), "may not specify more than 1 handler type"))
    for number_name in _PROBE_NUMBERS:
        validate_nonnegative(reader, reader.integer(probe, number_name, path), join_path(path, number_name))
    success_threshold = reader.integer(probe, "successThreshold", path)
    if single_success and success_threshold not in (None, 1):
        reader.add(FieldError.invalid(join_path(path, "successThreshold"), success_threshold, "must be 1"))
    _validate_probe_handler(reader, probe, path)


def _validate_probe_handler(reader: FieldReader, probe: Mapping[str, Any], path: str) -> None:
    exec_action = reader.optional_mapping(probe, "exec", path)
    if exec_action is not None and not reader.strings(exec_action, "command", join_path(path, "exec")):
        reader.add(FieldError.required(join_path(path, "exec", "command")))
    http_get = reader.optional_mapping(probe, "httpGet", path)
    if http_get is not None:
        http_path = join_path(path, "httpGet")
        validate_port_or_name(reader, http_get, "port", http_path)
        scheme = reader.string(http_get, "scheme", http_path)
        validate_enum(reader, scheme, join_path(http_path, "scheme"), ("HTTP", "HTTPS"))
    tcp_socket = reader.optional_mapping(probe, "tcpSocket", path)
    if tcp_socket is not None:
        validate_port_or_name(reader, tcp_socket, "port", join_path(path, "tcpSocket"))
    grpc = reader.optional_mapping(probe, "grpc", path)
    if grpc is not None:
        port = reader.integer(grpc, "port", join_path(path, "grpc"))
        for problem in check_port_number(port or 0):
            reader.add(FieldError.invalid(join_path(path, "grpc", "port"), port or 0, problem))
