"""Who owns whom: ownerReferences read from objects, and the dependents index the GC keeps.

The garbage collector must answer two questions fast, for any object of any kind: "is each
owner of this object still there?" and "which objects name this one as their owner?". The
first needs the owner references of one object (read here); the second needs a reverse index
from owner uid to dependents, kept current by the GC's informer handlers (`OwnershipGraph`).
Kept apart from the collector so its decisions and its bookkeeping read on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import key_of, metadata_of, name_of, owner_references_of, uid_of
from minik8s.api.registry import ResourceKind

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


@dataclass(frozen=True)
class ItemRef:
    """One object of one kind, as the GC's work queue names it."""

    kind: ResourceKind
    namespace: str | None
    name: str
    uid: str

    @staticmethod
    def of(kind: ResourceKind, obj: Mapping[str, Any]) -> ItemRef:
        return ItemRef(kind, metadata_of(obj).get("namespace") if kind.namespaced else None, name_of(obj), uid_of(obj))

    @property
    def key(self) -> str:
        return item_key(self.kind, {"metadata": {"namespace": self.namespace, "name": self.name}})


def item_key(kind: ResourceKind, obj: Mapping[str, Any]) -> str:
    """`deployments.apps|ns/name`: the kind travels with the key through the work queue."""
    return f"{kind.group_resource}|{key_of(obj)}"


def owner_references(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The object's owner references that name an owner by uid (others cannot be resolved)."""
    return [ref for ref in owner_references_of(obj) if ref.get("uid")]


def owner_uids(obj: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(ref["uid"]) for ref in owner_references(obj))


def reference_to(obj: Mapping[str, Any], owner_uid: str) -> Mapping[str, Any] | None:
    return next((ref for ref in owner_references(obj) if ref.get("uid") == owner_uid), None)


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    return [str(f) for f in metadata_of(obj).get("finalizers") or []]


def ownership_facts(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the GC cares about in an object; other changes (status, data) need no look."""
    metadata = metadata_of(obj)
    return (metadata.get("uid"), metadata.get("ownerReferences"), bool(metadata.get("deletionTimestamp")),
            metadata.get("finalizers"))


class OwnershipGraph:
    """owner uid → dependents' item keys, and uid → item key, for every cached object."""

    def __init__(self) -> None:
        self._dependents: dict[str, set[str]] = {}
        self._owners_of: dict[str, frozenset[str]] = {}
        self._item_of_uid: dict[str, str] = {}

    def update(self, key: str, uid: str, owners: frozenset[str]) -> frozenset[str]:
        """Record the item's current owners; returns the owners it had before."""
        previous = self._owners_of.get(key, frozenset())
        for owner in previous - owners:
            self._drop_dependent(owner, key)
        for owner in owners - previous:
            self._dependents.setdefault(owner, set()).add(key)
        if owners:
            self._owners_of[key] = owners
        else:
            self._owners_of.pop(key, None)
        if uid:
            self._item_of_uid[uid] = key
        return previous

    def remove(self, key: str, uid: str) -> frozenset[str]:
        """Forget the item; returns the owners it had."""
        previous = self.update(key, "", frozenset())
        if uid and self._item_of_uid.get(uid) == key:
            del self._item_of_uid[uid]
        return previous

    def dependents(self, owner_uid: str) -> list[str]:
        return sorted(self._dependents.get(owner_uid, ()))

    def item_of(self, uid: str) -> str | None:
        return self._item_of_uid.get(uid)

    def _drop_dependent(self, owner: str, key: str) -> None:
        keys = self._dependents.get(owner)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._dependents[owner]
