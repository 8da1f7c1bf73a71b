"""Ownership and ordering of workload objects (Deployments, ReplicaSets, DaemonSets, Pods).

The plain readers (name, uid, labels, the controller reference, times) live in `minik8s.api.meta`;
this module adds what only the workload controllers ask: creation order, `spec.selector`,
`spec.minReadySeconds`, and Kubernetes' ControllerRefManager — which objects a controller owns,
which orphans it adopts and which it releases because they no longer match — as pure decisions
over cached objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.api.selectors import LabelSelector, SelectorError, label_selector_from_object


class MalformedObject(Exception):
    """An object a controller cannot act on (bad selector, bad rolling-update value, ...)."""


def created_at(obj: Mapping[str, Any]) -> datetime:
    """creationTimestamp, or the distant past when missing (sorts first, as a zero time does)."""
    return meta.parse_time(meta.metadata_of(obj).get("creationTimestamp")) or meta.EPOCH


def by_creation(obj: Mapping[str, Any]) -> tuple[datetime, str]:
    """Kubernetes' ReplicaSetsByCreationTimestamp order: oldest first, then by name."""
    return created_at(obj), meta.name_of(obj)


def min_ready_seconds_of(obj: Mapping[str, Any]) -> int:
    """spec.minReadySeconds: how long a pod must be ready before it counts as available (0 if unset)."""
    return max(meta.integer(meta.spec_of(obj).get("minReadySeconds"), default=0), 0)


# -- selectors --------------------------------------------------------------------------------


def selector_of(obj: Mapping[str, Any]) -> LabelSelector:
    """`spec.selector` as a LabelSelector; a malformed one raises MalformedObject."""
    raw = meta.spec_of(obj).get("selector")
    try:
        return label_selector_from_object(raw if isinstance(raw, Mapping) else None)
    except SelectorError as error:
        raise MalformedObject(f"invalid label selector: {error}") from error


# -- ownership --------------------------------------------------------------------------------


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    reference = meta.controller_ref_of(obj)
    return reference is not None and str(reference.get("uid") or "") == meta.uid_of(owner)


class OwnerCache(Protocol):
    """What the owner lookups read: an informer's cache of one kind, keyed `namespace/name`."""

    def get(self, key: str) -> JsonObject | None: ...

    def list(self) -> list[JsonObject]: ...


def resolve_controller_ref(owners: OwnerCache, obj: Mapping[str, Any], *, kind: str) -> JsonObject | None:
    """resolveControllerRef: the cached owner of `kind` that `obj`'s controller reference names, if
    its uid still matches (a deleted and re-created owner of the same name is someone else)."""
    reference = meta.controller_ref_of(obj)
    if reference is None or reference.get("kind") != kind:
        return None
    owner = owners.get(f"{meta.namespace_of(obj)}/{reference.get('name', '')}")
    if owner is None or meta.uid_of(owner) != str(reference.get("uid") or ""):
        return None
    return owner


def owners_selecting(owners: OwnerCache, obj: Mapping[str, Any]) -> list[JsonObject]:
    """The cached owners in `obj`'s namespace whose non-empty, well-formed selector matches its
    labels: who may adopt an orphan."""
    matching = []
    for owner in owners.list():
        if meta.namespace_of(owner) != meta.namespace_of(obj):
            continue
        try:
            selector = selector_of(owner)
        except MalformedObject:
            continue
        if not selector.is_empty() and selector.matches(meta.labels_of(obj)):
            matching.append(owner)
    return matching


def owners_to_sync(owners: OwnerCache, obj: Mapping[str, Any], *, kind: str) -> list[JsonObject]:
    """The owners a new dependent concerns (addPod, addReplicaSet): its controller when it has one
    (and the controller is cached), else every owner that may adopt it."""
    if meta.controller_ref_of(obj) is not None:
        owner = resolve_controller_ref(owners, obj, kind=kind)
        return [owner] if owner is not None else []
    return owners_selecting(owners, obj)


def owners_to_sync_on_update(owners: OwnerCache, old: Mapping[str, Any], new: Mapping[str, Any], *,
                             kind: str) -> list[JsonObject]:
    """updatePod, updateReplicaSet: the previous controller when the reference changed, then the
    current one — or, for an orphan whose labels or reference changed, every owner that may adopt it."""
    reference_changed = meta.controller_ref_of(old) != meta.controller_ref_of(new)
    previous = resolve_controller_ref(owners, old, kind=kind) if reference_changed else None
    affected = [previous] if previous is not None else []
    if (meta.controller_ref_of(new) is not None or reference_changed
            or meta.labels_of(old) != meta.labels_of(new)):
        affected.extend(owners_to_sync(owners, new, kind=kind))
    return affected


def controller_reference(owner: Mapping[str, Any], *, api_version: str, kind: str) -> JsonObject:
    """metav1.NewControllerRef: the reference a controller puts on what it owns."""
    return {
        "apiVersion": api_version, "kind": kind, "name": meta.name_of(owner), "uid": meta.uid_of(owner),
        "controller": True, "blockOwnerDeletion": True,
    }


def adoption_patch(obj: Mapping[str, Any], reference: Mapping[str, Any]) -> JsonObject:
    """Strategic-merge patch adding a controller reference (merged by uid), guarded by the object's uid."""
    return {"metadata": {"ownerReferences": [dict(reference)], "uid": meta.uid_of(obj)}}


def release_patch(obj: Mapping[str, Any], owner_uid: str) -> JsonObject:
    """Strategic-merge patch removing the owner's reference, guarded by the object's uid."""
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": meta.uid_of(obj)}}


@dataclass
class Claim:
    """What a controller owns among candidates, and which ownership changes that takes."""

    owned: list[JsonObject] = field(default_factory=list)  # already ours and matching
    adopt: list[JsonObject] = field(default_factory=list)  # orphans that match: patch, then ours
    release: list[JsonObject] = field(default_factory=list)  # ours but no longer matching


def claim(owner: Mapping[str, Any], selector: LabelSelector, candidates: Iterable[JsonObject]) -> Claim:
    """Kubernetes' ControllerRefManager.Claim* decision, without the writes.

    Objects controlled by someone else are ignored. Ours that stopped matching are released
    (unless the owner is being deleted); orphans that match are adopted unless either side is
    being deleted.
    """
    result = Claim()
    owner_uid, owner_deleting = meta.uid_of(owner), meta.is_deleting(owner)
    for candidate in candidates:
        reference = meta.controller_ref_of(candidate)
        matches = selector.matches(meta.labels_of(candidate))
        if reference is not None:
            if str(reference.get("uid") or "") != owner_uid:
                continue
            if matches:
                result.owned.append(candidate)
            elif not owner_deleting:
                result.release.append(candidate)
        elif matches and not owner_deleting and not meta.is_deleting(candidate):
            result.adopt.append(candidate)
    return result
