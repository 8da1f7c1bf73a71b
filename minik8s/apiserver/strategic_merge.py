"""Kubernetes strategic merge patch: the patch `kubectl apply`, `set image` and `cordon` send.

A JSON merge patch replaces lists whole, so two writers editing different containers of one
pod would undo each other. Strategic merge instead merges the lists Kubernetes marks with a
merge key (containers by `name`, ports by `containerPort`, ...) element by element, and
understands the directives kubectl writes: `$patch` (replace, delete, merge) on maps and list
elements, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys`.

The semantics follow Kubernetes' `strategicpatch` package (apimachinery), server side. Which
list merges by which key comes from `list_merge_keys`, a table of field paths built from the
`patchMergeKey` tags of the upstream Go types; every other list is atomic (replaced whole).
Two deliberate departures: a value new to the object is copied with its nulls and directives
resolved (upstream stores it raw and lets the typed decoder drop them), and `$patch: merge`
on a map is accepted as "merge as usual" (upstream rejects it).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from minik8s.api.meta import JsonObject
from minik8s.apiserver.json_values import PatchError, clone_json, json_equal

# Where a pod spec sits in each kind that carries one; containers and template metadata follow.
_POD_SPEC_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template.spec",),
    **dict.fromkeys(
        ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ReplicationController", "Job"),
        ("spec.template.spec",),
    ),
    "CronJob": ("spec.jobTemplate.spec.template.spec",),
}
_CONTAINER_LISTS: Final = ("containers", "initContainers", "ephemeralContainers")
_KINDS_WITH_STATUS_CONDITIONS: Final = (
    "Pod Node Namespace Service Deployment ReplicaSet DaemonSet StatefulSet ReplicationController Job"
)

# (kinds or "*", path pattern, merge key): every list named here has `patchStrategy: merge`.
# A merge key of "" marks a set of primitives (merged, deduplicated). `{meta}` is an object's
# metadata (and its pod template's), `{pod}` a pod spec, `{container}` any container list.
# Fields inside a list's elements continue the list's path: `spec.containers.env`.
_LIST_MERGE_KEYS: Final[tuple[tuple[str, str, str], ...]] = (
    ("*", "{meta}.finalizers", ""),
    ("*", "{meta}.ownerReferences", "uid"),
    ("*", "{pod}.containers", "name"),
    ("*", "{pod}.initContainers", "name"),
    ("*", "{pod}.ephemeralContainers", "name"),
    ("*", "{pod}.volumes", "name"),
    ("*", "{pod}.imagePullSecrets", "name"),
    ("*", "{pod}.hostAliases", "ip"),
    ("*", "{pod}.topologySpreadConstraints", "topologyKey"),
    ("*", "{pod}.schedulingGates", "name"),
    ("*", "{pod}.resourceClaims", "name"),
    ("*", "{container}.ports", "containerPort"),
    ("*", "{container}.env", "name"),
    ("*", "{container}.volumeMounts", "mountPath"),
    ("*", "{container}.volumeDevices", "devicePath"),
    (_KINDS_WITH_STATUS_CONDITIONS, "status.conditions", "type"),
    ("Pod", "status.podIPs", "ip"),
    ("Pod", "status.hostIPs", "ip"),
    ("Pod", "status.resourceClaimStatuses", "name"),
    ("Node", "spec.podCIDRs", ""),
    ("Node", "status.addresses", "type"),
    ("Service", "spec.ports", "port"),
    ("ServiceAccount", "secrets", "name"),
)

_DIRECTIVE: Final = "$patch"
_RETAIN_KEYS: Final = "$retainKeys"
_SET_ORDER: Final = "$setElementOrder/"
_DELETE_PRIMITIVES: Final = "$deleteFromPrimitiveList/"


@functools.lru_cache(maxsize=64)
def list_merge_keys(kind: str) -> Mapping[str, str]:
    """Field path (`spec.template.spec.containers`) → merge key of every mergeable list of `kind`."""
    pod_specs = _POD_SPEC_PATHS.get(kind, ())
    placeholders = {
        # "spec" → "metadata", "spec.template.spec" → "spec.template.metadata"
        "{meta}": ("metadata", *(path.removesuffix("spec") + "metadata" for path in pod_specs)),
        "{pod}": pod_specs,
        "{container}": tuple(f"{path}.{name}" for path in pod_specs for name in _CONTAINER_LISTS),
    }
    table: dict[str, str] = {}
    for kinds, pattern, merge_key in _LIST_MERGE_KEYS:
        if kinds != "*" and kind not in kinds.split():
            continue
        head, _, rest = pattern.partition(".")
        for base in placeholders.get(head, (head,)):
            table[f"{base}.{rest}"] = merge_key
    return MappingProxyType(table)


def strategic_merge_patch(target: JsonObject, patch: JsonObject, *, kind: str) -> JsonObject:
    """Kubernetes strategic merge patch of `target` (a `kind` object); neither input is changed."""
    if not isinstance(target, dict) or not isinstance(patch, dict):
        raise PatchError("a strategic merge patch and its target must be JSON objects")
    return _StrategicMerge(list_merge_keys(kind)).merge_map(clone_json(target), patch, "")


class _StrategicMerge:
    """One strategic merge: works in place on a private copy of the target, never on the patch."""

    def __init__(self, merge_keys: Mapping[str, str]) -> None:
        self._merge_keys = merge_keys

    def merge_map(self, original: JsonObject, patch: JsonObject, path: str) -> JsonObject:
        if _DIRECTIVE in patch:
            directive = patch[_DIRECTIVE]
            if directive == "delete":
                return {}
            patch = {key: value for key, value in patch.items() if key != _DIRECTIVE}
            if directive == "replace":
                return self.merge_map({}, patch, path)
            if directive != "merge":
                raise PatchError(f"unknown $patch directive {directive!r} at {path or 'the top level'}")
        _retain_keys(original, patch, path)
        ordered = self._apply_element_orders(original, patch, path)
        for key, value in patch.items():
            if key in ordered or key == _RETAIN_KEYS or key.startswith((_SET_ORDER, _DELETE_PRIMITIVES)):
                continue
            self._merge_field(original, key, value, _join(path, key))
        for key, doomed in patch.items():
            if key.startswith(_DELETE_PRIMITIVES):
                _delete_primitives(original, key.removeprefix(_DELETE_PRIMITIVES), doomed)
        return original

    def _merge_field(self, original: JsonObject, key: str, value: Any, path: str) -> None:
        current = original.get(key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict) and isinstance(current, dict):
            original[key] = self.merge_map(current, value, path)
        elif isinstance(value, list) and isinstance(current, list) and path in self._merge_keys:
            original[key] = self.merge_list(current, value, path)
        else:
            original[key] = self._materialise(value, path)

    def _materialise(self, value: Any, path: str) -> Any:
        """A new value from the patch: directives applied, nulls dropped, nothing shared with it."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list):
            if path in self._merge_keys:
                return self.merge_list([], value, path)
            return [self._materialise(item, path) for item in value]
        return value

    def merge_list(self, original: list[Any], patch: list[Any], path: str) -> list[Any]:
        merge_key = self._merge_keys[path]
        _check_elements(original, merge_key, path)
        _check_elements(patch, merge_key, path)
        if not merge_key:
            merged = _deduplicate([*original, *patch])
            return _order(merged, patch_order=patch, server_order=original, merge_key=merge_key)
        original, regular, replace = _split_directives(original, patch, merge_key, path)
        if replace:
            return [self.merge_map({}, item, path) for item in regular]
        merged = list(original)
        for item in regular:
            index = _position(merged, item[merge_key], merge_key)
            if index < 0:
                merged.append(self.merge_map({}, item, path))
            else:
                merged[index] = self.merge_map(merged[index], item, path)
        return _order(merged, patch_order=regular, server_order=original, merge_key=merge_key)

    def _apply_element_orders(self, original: JsonObject, patch: JsonObject, path: str) -> set[str]:
        """Merge each list that has a `$setElementOrder/<list>` and order it; returns their keys."""
        ordered: set[str] = set()
        for directive, order in patch.items():
            if not directive.startswith(_SET_ORDER):
                continue
            key = directive.removeprefix(_SET_ORDER)
            if not key or not isinstance(order, list):
                raise PatchError(f"{_join(path, directive)} must name a list and hold a list")
            list_path = _join(path, key)
            merge_key = self._merge_keys.get(list_path)
            current, changes = original.get(key), patch.get(key)
            if merge_key is None or (current is None and changes is None) or (key in patch and changes is None):
                continue  # an atomic list has no order to set; a null list is deleted by the main merge
            if not isinstance(current, list | None) or not isinstance(changes, list | None):
                raise PatchError(f"{list_path} is not a list", status_code=422)
            _check_order(changes or [], order, merge_key, list_path)
            # Upstream orders a live list the patch leaves alone as it is, duplicates and all.
            merged = (current or []) if changes is None else self.merge_list(current or [], changes, list_path)
            original[key] = _order(merged, patch_order=order, server_order=current or [], merge_key=merge_key)
            ordered.add(key)
        return ordered


def _retain_keys(original: JsonObject, patch: JsonObject, path: str) -> None:
    """Honour `$retainKeys`: clear every field of `original` not listed (after checking the patch)."""
    if _RETAIN_KEYS not in patch:
        return
    keep = patch[_RETAIN_KEYS]
    if not isinstance(keep, list):
        raise PatchError(f"{_join(path, _RETAIN_KEYS)} must be a list")
    for key, value in patch.items():
        if value is not None and not key.startswith("$") and key not in keep:
            raise PatchError(f"{_join(path, key)} is in the patch but not in its $retainKeys list")
    for key in [key for key in original if key not in keep]:
        del original[key]


def _delete_primitives(original: JsonObject, key: str, doomed: Any) -> None:
    if not key or not isinstance(doomed, list):
        raise PatchError(f"{_DELETE_PRIMITIVES}{key} must name a list and hold a list")
    current = original.get(key)
    if isinstance(current, list):
        original[key] = [item for item in current if not any(json_equal(item, gone) for gone in doomed)]


def _check_elements(items: list[Any], merge_key: str, path: str) -> None:
    for item in items:
        if isinstance(item, list):
            raise PatchError(f"{path}: lists of lists cannot be merged", status_code=422)
        if isinstance(item, dict) != bool(merge_key):
            wanted = f"objects with the merge key {merge_key!r}" if merge_key else "primitive values"
            raise PatchError(f"{path}: a merged list holds {wanted}, found {item!r}", status_code=422)


def _split_directives(
    original: list[Any], patch: list[Any], merge_key: str, path: str
) -> tuple[list[Any], list[JsonObject], bool]:
    """Apply `$patch: delete` elements to `original`; return it, the regular elements, and replace?"""
    regular: list[JsonObject] = []
    replace = False
    for item in patch:
        directive = item.get(_DIRECTIVE, "merge")
        if directive == "replace":
            replace = True
            continue
        if merge_key not in item:
            raise PatchError(f"{path}: element {item!r} does not contain declared merge key {merge_key!r}")
        if directive == "delete":
            original = [kept for kept in original if not json_equal(kept.get(merge_key), item[merge_key])]
        elif directive == "merge":
            regular.append(item)
        else:
            raise PatchError(f"{path}: unknown $patch directive {directive!r}")
    return original, regular, replace


def _check_order(patch: list[Any], order: list[Any], merge_key: str, path: str) -> None:
    """The patch list must name its elements in the order `$setElementOrder` gives."""
    if merge_key and not all(isinstance(item, dict) and merge_key in item for item in order):
        raise PatchError(f"{_SET_ORDER}{path}: every element needs the merge key {merge_key!r}")
    order_ids = [_identity(item, merge_key) for item in order]
    position = 0
    for item in patch:
        if isinstance(item, dict) and _DIRECTIVE in item:
            continue
        while position < len(order_ids) and not json_equal(order_ids[position], _identity(item, merge_key)):
            position += 1
        if position == len(order_ids):
            raise PatchError(f"the order of the {path} patch list doesn't match its {_SET_ORDER} list")
        position += 1


def _order(merged: list[Any], *, patch_order: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    """Kubernetes' element order: the patch's order for its elements, the live order for the rest,
    interleaved so a live-only element stays ahead of patch elements that followed it live."""
    patch_ids = [_identity(item, merge_key) for item in patch_order]
    server_ids = [_identity(item, merge_key) for item in server_order]
    from_patch: list[tuple[int, Any]] = []
    server_only: list[tuple[int, Any]] = []
    for item in merged:
        identity = _identity(item, merge_key)
        patch_index = _index(patch_ids, identity)
        if patch_index >= 0:
            from_patch.append((patch_index, item))
        else:
            server_only.append((_index(server_ids, identity), item))
    from_patch.sort(key=lambda pair: pair[0])
    server_only.sort(key=lambda pair: pair[0] if pair[0] >= 0 else len(server_ids))
    result: list[Any] = []
    left = right = 0
    while left < len(server_only) or right < len(from_patch):
        if right == len(from_patch):
            take_left = True
        elif left == len(server_only):
            take_left = False
        else:
            left_at = server_only[left][0]
            right_at = _index(server_ids, _identity(from_patch[right][1], merge_key))
            take_left = 0 <= left_at < right_at
        if take_left:
            result.append(server_only[left][1])
            left += 1
        else:
            result.append(from_patch[right][1])
            right += 1
    return result


def _identity(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if merge_key and isinstance(item, dict) else item


def _index(identities: list[Any], identity: Any) -> int:
    return next((index for index, known in enumerate(identities) if json_equal(known, identity)), -1)


def _position(items: list[Any], identity: Any, merge_key: str) -> int:
    return _index([_identity(item, merge_key) for item in items], identity)


def _deduplicate(items: list[Any]) -> list[Any]:
    unique: list[Any] = []
    for item in items:
        if not any(json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


