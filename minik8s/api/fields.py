"""The fields each kind exposes to field selectors.

Kubernetes does not let a field selector reach into arbitrary paths: every kind publishes
a small set of selectable fields (pods by `spec.nodeName`, events by `involvedObject.uid`,
...) as strings. This module computes that set for an object and says which names a kind
supports, so the apiserver can filter lists and watches and answer 400
`field label not supported: X` for anything else. Values are rendered as Go would:
missing strings are "", booleans "true"/"false", integers in decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FieldSet = dict[str, str]

_METADATA_FIELDS = ("metadata.name", "metadata.namespace")

_POD_FIELDS = {
    "spec.nodeName": (("spec", "nodeName"), ""),
    "spec.restartPolicy": (("spec", "restartPolicy"), ""),
    "spec.schedulerName": (("spec", "schedulerName"), ""),
    "spec.serviceAccountName": (("spec", "serviceAccountName"), ""),
    "spec.hostNetwork": (("spec", "hostNetwork"), "false"),
    "status.phase": (("status", "phase"), ""),
    "status.podIP": (("status", "podIP"), ""),
    "status.nominatedNodeName": (("status", "nominatedNodeName"), ""),
}
_EVENT_FIELDS = {
    "involvedObject.kind": (("involvedObject", "kind"), ""),
    "involvedObject.namespace": (("involvedObject", "namespace"), ""),
    "involvedObject.name": (("involvedObject", "name"), ""),
    "involvedObject.uid": (("involvedObject", "uid"), ""),
    "involvedObject.apiVersion": (("involvedObject", "apiVersion"), ""),
    "involvedObject.resourceVersion": (("involvedObject", "resourceVersion"), ""),
    "involvedObject.fieldPath": (("involvedObject", "fieldPath"), ""),
    "reason": (("reason",), ""),
    "reportingComponent": (("reportingComponent",), ""),
    "source": (("source", "component"), ""),
    "type": (("type",), ""),
}
_NODE_FIELDS = {"spec.unschedulable": (("spec", "unschedulable"), "false")}
_SECRET_FIELDS = {"type": (("type",), "")}
# `name` is a historical alias Kubernetes still serves for namespaces.
_NAMESPACE_FIELDS = {"status.phase": (("status", "phase"), ""), "name": (("metadata", "name"), "")}
_REPLICA_SET_FIELDS = {"status.replicas": (("status", "replicas"), "0")}

FieldSpec = Mapping[str, tuple[tuple[str, ...], str]]

_KIND_FIELDS: dict[str, FieldSpec] = {
    "Pod": _POD_FIELDS,
    "Event": _EVENT_FIELDS,
    "Node": _NODE_FIELDS,
    "Secret": _SECRET_FIELDS,
    "Namespace": _NAMESPACE_FIELDS,
    "ReplicaSet": _REPLICA_SET_FIELDS,
    "Job": {"status.successful": (("status", "succeeded"), "0")},
}


def supported_fields(kind: str) -> frozenset[str]:
    """Field names a field selector on `kind` may use."""
    return frozenset(_METADATA_FIELDS) | frozenset(_KIND_FIELDS.get(kind, {}))


def object_fields(kind: str, obj: Mapping[str, Any]) -> FieldSet:
    """The selectable fields of `obj` (a `kind` object as JSON) as strings."""
    fields: FieldSet = {
        "metadata.name": _render(_lookup(obj, ("metadata", "name")), ""),
        "metadata.namespace": _render(_lookup(obj, ("metadata", "namespace")), ""),
    }
    for name, (path, missing) in _KIND_FIELDS.get(kind, {}).items():
        fields[name] = _render(_lookup(obj, path), missing)
    return fields


def _lookup(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = obj
    for step in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(step)
    return current


def _render(value: Any, missing: str) -> str:
    if value is None:
        return missing
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return missing
