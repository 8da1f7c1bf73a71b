"""The garbage collector's decisions, without side effects: keep, unlink, delete, or finish an owner.

For an object with owners, the states of those owners (present, confirmed absent, waiting in a
foreground deletion, or of a kind nobody serves) decide whether it stays, loses its references
to the owners going away, or is deleted in turn — and with which propagation. For an owner
being deleted with the `orphan` or `foregroundDeletion` finalizer, its dependents decide when
the finalizer may go. The controller gathers these inputs from its caches (and a GET when a
cache cannot be trusted) and carries the resulting actions out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from minik8s.api.meta import JsonObject, is_deleting, resource_version_of, uid_of
from minik8s.controllers.garbage_collector.ownership import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    ItemRef,
    finalizers,
    owner_uids,
    reference_to,
)

Propagation = Literal["Background", "Foreground", "Orphan"]
class OwnerState(enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"  # confirmed gone (or replaced by another object of that name)
    WAITING = "waiting"  # being deleted in the foreground: waits for its dependents
    UNRESOLVABLE = "unresolvable"  # a kind we do not serve: never a reason to delete


@dataclass(frozen=True)
class DeleteItem:
    item: ItemRef
    propagation: Propagation
    resource_version: str


@dataclass(frozen=True)
class RemoveOwnerReferences:
    item: ItemRef
    owner_uids: frozenset[str]


@dataclass(frozen=True)
class RemoveFinalizer:
    item: ItemRef
    finalizer: str


@dataclass(frozen=True)
class CheckItems:
    keys: tuple[str, ...]


Action = DeleteItem | RemoveOwnerReferences | RemoveFinalizer | CheckItems


def _own_propagation(obj: Mapping[str, Any]) -> Propagation:
    present = finalizers(obj)
    if ORPHAN_FINALIZER in present:
        return "Orphan"
    return "Foreground" if FOREGROUND_FINALIZER in present else "Background"


def plan_dependent(item: ItemRef, obj: Mapping[str, Any], owners: Mapping[str, OwnerState], *,
                   has_dependents: bool) -> list[Action]:
    """An object with owners: keep it, drop references to owners going away, or delete it."""
    if is_deleting(obj):
        return []
    states = [owners.get(uid, OwnerState.UNRESOLVABLE) for uid in owner_uids(obj)]
    if not states:
        return []
    solid = [s for s in states if s in (OwnerState.PRESENT, OwnerState.UNRESOLVABLE)]
    leaving = frozenset(uid for uid in owner_uids(obj)
                        if owners.get(uid) in (OwnerState.ABSENT, OwnerState.WAITING))
    resource_version = resource_version_of(obj)
    if solid:
        return [RemoveOwnerReferences(item, leaving)] if leaving else []
    if OwnerState.WAITING in states and has_dependents:
        return [DeleteItem(item, "Foreground", resource_version)]
    return [DeleteItem(item, _own_propagation(obj), resource_version)]


def plan_deleting_owner(owner: ItemRef, obj: Mapping[str, Any],
                        dependents: Sequence[tuple[ItemRef, JsonObject]]) -> list[Action]:
    """An owner being deleted with the orphan or foregroundDeletion finalizer."""
    if not is_deleting(obj):
        return []
    present = finalizers(obj)
    if ORPHAN_FINALIZER in present:
        actions: list[Action] = [RemoveOwnerReferences(ref, frozenset({owner.uid})) for ref, _ in dependents]
        return [*actions, RemoveFinalizer(owner, ORPHAN_FINALIZER)]
    if FOREGROUND_FINALIZER not in present:
        return []
    blocking = [ref for ref, dependent in dependents
                if (reference_to(dependent, owner.uid) or {}).get("blockOwnerDeletion") is True]
    if not blocking:
        return [RemoveFinalizer(owner, FOREGROUND_FINALIZER)]
    to_delete = tuple(ref.key for ref, dependent in dependents if not is_deleting(dependent))
    return [CheckItems(to_delete)] if to_delete else []


def owner_state_of(owner: Mapping[str, Any] | None, uid: str) -> OwnerState:
    """What one looked-up owner (None: not found) means for a reference to `uid`."""
    if owner is None or uid_of(owner) != uid:
        return OwnerState.ABSENT
    if is_deleting(owner) and FOREGROUND_FINALIZER in finalizers(owner):
        return OwnerState.WAITING
    return OwnerState.PRESENT
