"""The patch `minik8s apply` sends: kubectl's client-side three-way strategic merge.

`apply` must update an object to match its manifest without trampling what others set (the
replicas an autoscaler chose, a defaulted field, a label added by hand), yet remove what an
earlier manifest set and this one no longer does. kubectl solves it with the
`kubectl.kubernetes.io/last-applied-configuration` annotation: the patch sets everything the
manifest says, and deletes (null, or `$patch: delete` for an element of a list merged by key)
only what the last applied manifest had and this one drops. We do the same, so `minik8s apply`
and `kubectl apply` interoperate on one object. Whether anything changed is the server's answer
(a no-op patch keeps the resourceVersion), which gives `configured` or `unchanged`.

Lists merged by key are those Kubernetes marks with a patch merge key (containers by name,
ports by containerPort, ...): the subset of the apiserver's table that manifests use. Any
other list is replaced whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from minik8s.api.meta import JsonObject, metadata_of

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# (parent field, list field) → merge key, for lists under a pod spec, a container or metadata.
_POD_SPEC_LISTS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
                   "volumes": "name", "imagePullSecrets": "name", "hostAliases": "ip",
                   "topologySpreadConstraints": "topologyKey"}
_CONTAINER_LISTS = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath",
                    "volumeDevices": "devicePath"}
_MERGE_KEYS: dict[tuple[str, str], str] = {
    **{("spec", field): key for field, key in _POD_SPEC_LISTS.items()},
    **{(container_list, field): key for container_list in ("containers", "initContainers", "ephemeralContainers")
       for field, key in _CONTAINER_LISTS.items()},
    ("metadata", "ownerReferences"): "uid",
}
_SERVICE_PORTS = ("spec", "ports")


def last_applied_text(configuration: Mapping[str, Any]) -> str:
    """The annotation's value: the manifest (without the annotation itself) as compact sorted JSON."""
    return json.dumps(without_last_applied(configuration), sort_keys=True, separators=(",", ":")) + "\n"


def without_last_applied(configuration: Mapping[str, Any]) -> JsonObject:
    """The manifest without the annotation; like kubectl, `annotations` stays (`{}` when empty)."""
    stripped = copy.deepcopy(dict(configuration))
    metadata = stripped.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    metadata["annotations"] = dict(annotations) if isinstance(annotations, dict) else {}
    metadata["annotations"].pop(LAST_APPLIED, None)
    return stripped


def in_namespace(configuration: Mapping[str, Any], namespace: str | None) -> JsonObject:
    """The manifest with the namespace it is applied to, as kubectl records it."""
    placed = copy.deepcopy(dict(configuration))
    if namespace:
        placed.setdefault("metadata", {})["namespace"] = namespace
    return placed


def with_last_applied(configuration: Mapping[str, Any]) -> JsonObject:
    """The manifest as created by apply: itself plus the last-applied annotation."""
    created = without_last_applied(configuration)
    metadata = created.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[LAST_APPLIED] = last_applied_text(configuration)
    return created


def read_last_applied(live: Mapping[str, Any]) -> JsonObject | None:
    """The last applied manifest recorded on a live object, if any (unparseable counts as none)."""
    annotations = metadata_of(live).get("annotations") or {}
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(text, str):
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def apply_patch(configuration: Mapping[str, Any], last_applied: Mapping[str, Any] | None, *, kind: str) -> JsonObject:
    """The strategic merge patch that makes a live object match `configuration`."""
    previous = without_last_applied(last_applied) if last_applied is not None else {}
    patch = _merge(with_last_applied(configuration), previous, (), kind=kind)
    patch.pop("status", None)
    return patch


def _merge(new: JsonObject, old: Mapping[str, Any], path: tuple[str, ...], *, kind: str) -> JsonObject:
    merged: JsonObject = {}
    for key, value in new.items():
        merged[key] = _value(value, old.get(key), (*path, key), kind=kind)
    for key in old:
        if key not in new:
            merged[key] = None
    return merged


def _value(new: Any, old: Any, path: tuple[str, ...], *, kind: str) -> Any:
    if isinstance(new, dict):
        return _merge(new, old if isinstance(old, dict) else {}, path, kind=kind)
    merge_key = merge_key_of(path, kind=kind)
    if isinstance(new, list) and merge_key and all(isinstance(item, dict) and merge_key in item for item in new):
        return _merge_list(new, old if isinstance(old, list) else [], path, merge_key, kind=kind)
    return copy.deepcopy(new)


def _merge_list(new: list[Any], old: list[Any], path: tuple[str, ...], merge_key: str, *, kind: str) -> list[Any]:
    old_by_key = {item[merge_key]: item for item in old if isinstance(item, dict) and merge_key in item}
    merged: list[Any] = [_merge(item, old_by_key.get(item[merge_key], {}), path, kind=kind) for item in new]
    kept = {item[merge_key] for item in new}
    merged.extend({merge_key: key, "$patch": "delete"} for key in old_by_key if key not in kept)
    return merged


def merge_key_of(path: tuple[str, ...], *, kind: str) -> str | None:
    """The merge key of the list at `path` (field names from the object's root), if it has one."""
    if len(path) < 2:
        return None
    if path == _SERVICE_PORTS:
        return "port" if kind == "Service" else None
    if path[-2] == "spec" and path[-1] in _POD_SPEC_LISTS and kind == "Service":
        return None
    return _MERGE_KEYS.get((path[-2], path[-1]))
