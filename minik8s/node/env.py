"""A container's environment, resolved exactly as the kubelet resolves it.

Users move manifests between Kubernetes and minik8s and expect the same variables inside
the container: the Services' variables (KUBERNETES_SERVICE_HOST …, service_env.py), then
`envFrom`, then `env` in order (later entries win), `$(VAR)`
references expanded against what was defined before them, and the downward API,
ConfigMap and Secret sources with Kubernetes' `optional` rules and error messages. The
same expansion applies to `command` and `args`. Everything here is pure: the caller
hands in a `lookup` for ConfigMaps and Secrets, so unit tests need no apiserver.

A missing object or key raises `ConfigError`; the agent reports it as the container's
waiting reason `CreateContainerConfigError` and tries again on the next sync.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minik8s.api.meta import metadata_of, name_of, namespace_of, spec_of, uid_of
from minik8s.api.quantity import cpu_millis, memory_bytes

Lookup = Callable[[str, str, str], Mapping[str, Any] | None]
"""lookup(kind "ConfigMap" | "Secret", namespace, name) → the object, or None when missing."""

_OPERATOR = "$"
_OPENER = "("
_CLOSER = ")"
_SUBSCRIPTED_FIELD = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


class ConfigError(Exception):
    """The pod's configuration cannot be satisfied yet (a missing ConfigMap, Secret, key …)."""


def expand(text: str, variables: Mapping[str, str]) -> str:
    """`$(VAR)` → its value; `$$` → `$`; unknown or unterminated references stay as written."""
    pieces: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == _OPERATOR and cursor + 1 < len(text):
            pieces.append(text[checkpoint:cursor])
            read, is_variable, advance = _read_variable_name(text, cursor + 1)
            if is_variable:
                pieces.append(variables.get(read, f"$({read})"))
            else:
                pieces.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(pieces) + text[checkpoint:]


def _read_variable_name(text: str, start: int) -> tuple[str, bool, int]:
    """What follows a `$` at `start`: (text to emit or the name, is it a name, chars consumed)."""
    following = text[start]
    if following == _OPERATOR:
        return _OPERATOR, False, 1
    if following == _OPENER:
        closer = text.find(_CLOSER, start + 1)
        if closer != -1:
            return text[start + 1 : closer], True, closer - start + 1
        return _OPERATOR + _OPENER, False, 1
    return _OPERATOR + following, False, 1


def expand_command(args: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """`command` or `args` with `$(VAR)` references to the container's environment expanded."""
    return [expand(arg, env) for arg in args]


def resolve_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    pod_ip: str,
    host_ip: str,
    node_name: str,
    lookup: Lookup,
    allocatable: Mapping[str, Any] | None = None,
    service_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's environment: the Services' variables, then envFrom, then env (each overriding
    what came before); raise ConfigError for missing sources.

    `allocatable` (the node's) stands in for unset limits in resourceFieldRef, as in Kubernetes;
    `service_env` (service_env.py) may be named in `$(VAR)` references as the container's own variables.
    """
    namespace = namespace_of(pod) or "default"
    sources = _SourceCache(namespace=namespace, lookup=lookup)
    env: dict[str, str] = {}
    for env_from in container.get("envFrom") or []:
        env.update(_env_from(env_from, sources))
    context = _FieldContext(pod=pod, pod_ip=pod_ip, host_ip=host_ip, node_name=node_name)
    services = dict(service_env or {})
    for variable in container.get("env") or []:
        name = str(variable["name"])
        value = variable.get("value")
        if value:
            env[name] = expand(str(value), ChainMap(env, services))
            continue
        value_from = variable.get("valueFrom")
        if not value_from:
            env[name] = ""
            continue
        resolved = _value_from(value_from, context, container, sources, allocatable or {})
        if resolved is not None:
            env[name] = resolved
    return {**services, **env}


def metadata_field_value(pod: Mapping[str, Any], field_ref: Mapping[str, Any]) -> str:
    """A downward API volume file's fieldRef: the pod's metadata only (name, namespace, uid, labels,
    annotations, one label or annotation), as Kubernetes validates them."""
    path = str(field_ref.get("fieldPath") or "")
    if not path.startswith("metadata."):
        raise ConfigError(f"unsupported fieldPath: {path}")
    return _FieldContext(pod=pod, pod_ip="", host_ip="", node_name="").field_value(field_ref)


class _SourceCache:
    """ConfigMaps and Secrets fetched once per resolution, as the kubelet's local maps do."""

    def __init__(self, *, namespace: str, lookup: Lookup) -> None:
        self.namespace = namespace
        self._lookup = lookup
        self._objects: dict[tuple[str, str], Mapping[str, Any] | None] = {}

    def get(self, kind: str, name: str) -> Mapping[str, Any] | None:
        key = (kind, name)
        if key not in self._objects:
            self._objects[key] = self._lookup(kind, self.namespace, name)
        return self._objects[key]

    def data(self, kind: str, name: str, *, optional: bool) -> dict[str, str] | None:
        """The object's decoded data; None when it is missing and optional."""
        found = self.get(kind, name)
        if found is None:
            if optional:
                return None
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        return decoded_data(kind, found)


def decoded_data(kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """A ConfigMap's `data` (and `binaryData`), or a Secret's base64-decoded `data`, as text."""
    if kind == "Secret":
        secret_data = obj.get("data") or {}
        return {str(key): decode_secret_value(key, value).decode("utf-8", "replace") for key, value in secret_data.items()}
    data = {str(key): str(value) for key, value in (obj.get("data") or {}).items()}
    for key, value in (obj.get("binaryData") or {}).items():
        data.setdefault(str(key), decode_secret_value(key, value).decode("utf-8", "replace"))
    return data


def decode_secret_value(key: str, value: Any) -> bytes:
    """One base64 value of a Secret's `data` or a ConfigMap's `binaryData`."""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ConfigError(f"value of key {key} is not valid base64: {error}") from error


def _env_from(env_from: Mapping[str, Any], sources: _SourceCache) -> dict[str, str]:
    prefix = str(env_from.get("prefix") or "")
    for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
        reference = env_from.get(field)
        if reference:
            data = sources.data(kind, str(reference.get("name") or ""), optional=bool(reference.get("optional")))
            return {prefix + key: value for key, value in (data or {}).items()}
    return {}


def _value_from(
    value_from: Mapping[str, Any],
    context: _FieldContext,
    container: Mapping[str, Any],
    sources: _SourceCache,
    allocatable: Mapping[str, Any],
) -> str | None:
    """One valueFrom source; None when an optional source or key is missing (the variable is unset)."""
    if value_from.get("fieldRef"):
        return context.field_value(value_from["fieldRef"])
    if value_from.get("resourceFieldRef"):
        return resource_field_value(value_from["resourceFieldRef"], context.pod, container, allocatable)
    for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        reference = value_from.get(field)
        if reference:
            return _key_value(kind, reference, sources)
    return ""


def _key_value(kind: str, reference: Mapping[str, Any], sources: _SourceCache) -> str | None:
    name, key = str(reference.get("name") or ""), str(reference.get("key") or "")
    optional = bool(reference.get("optional"))
    data = sources.data(kind, name, optional=optional)
    if data is None:
        return None
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {kind} {sources.namespace}/{name}")
    return data[key]


class _FieldContext:
    """What the downward API's fieldRef can read: the pod plus the node's view of its IPs."""

    def __init__(self, *, pod: Mapping[str, Any], pod_ip: str, host_ip: str, node_name: str) -> None:
        self.pod = pod
        self.pod_ip = pod_ip
        self.host_ip = host_ip
        self.node_name = node_name

    def field_value(self, field_ref: Mapping[str, Any]) -> str:
        api_version = field_ref.get("apiVersion") or "v1"
        if api_version != "v1":
            raise ConfigError(f"unsupported pod version: {api_version}")
        path = str(field_ref.get("fieldPath") or "")
        spec = spec_of(self.pod)
        simple: dict[str, str] = {
            "metadata.name": name_of(self.pod),
            "metadata.namespace": namespace_of(self.pod),
            "metadata.uid": uid_of(self.pod),
            "spec.nodeName": str(spec.get("nodeName") or self.node_name),
            "spec.serviceAccountName": str(spec.get("serviceAccountName") or ""),
            "status.podIP": self.pod_ip,
            "status.podIPs": self.pod_ip,
            "status.hostIP": self.host_ip,
            "status.hostIPs": self.host_ip,
        }
        if path in simple:
            return simple[path]
        subscripted = _SUBSCRIPTED_FIELD.match(path)
        if subscripted:
            values = metadata_of(self.pod).get(subscripted[1]) or {}
            return str(values.get(subscripted[2], ""))
        if path in ("metadata.labels", "metadata.annotations"):
            values = metadata_of(self.pod).get(path.split(".")[1]) or {}
            return "\n".join(f"{key}={_go_quote(str(values[key]))}" for key in sorted(values))
        raise ConfigError(f"unsupported fieldPath: {path}")


def resource_field_value(
    field_ref: Mapping[str, Any],
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    allocatable: Mapping[str, Any],
) -> str:
    """limits.cpu / limits.memory / requests.* of a container, divided by `divisor`, rounded up."""
    target = container
    container_name = field_ref.get("containerName")
    if container_name and container_name != container.get("name"):
        target = _find_container(pod, str(container_name))
    resource = str(field_ref.get("resource") or "")
    section, _, name = resource.partition(".")
    if section not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise ConfigError(f"unsupported container resource : {resource}")
    resources = target.get("resources") or {}
    quantity = (resources.get(section) or {}).get(name)
    if quantity is None and section == "limits":
        quantity = allocatable.get(name)
    divisor = field_ref.get("divisor") or "1"
    try:
        if name == "cpu":
            return str(_ceil_div(cpu_millis(quantity or 0), cpu_millis(divisor)))
        return str(_ceil_div(memory_bytes(quantity or 0), memory_bytes(divisor)))
    except (ValueError, ZeroDivisionError) as error:
        raise ConfigError(f"invalid resourceFieldRef {resource}: {error}") from error


def _find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = spec_of(pod)
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if container.get("name") == name:
            return dict(container)
    raise ConfigError(f"container {name} not found in pod")


def _ceil_div(numerator: int, denominator: int) -> int:
    if denominator <= 0:
        raise ZeroDivisionError("divisor must be positive")
    return -(-numerator // denominator)


def _go_quote(text: str) -> str:
    """Go's %q for plain text: double quotes, backslash escapes."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
