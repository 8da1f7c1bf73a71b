"""What emptying a terminating namespace takes, decided without side effects.

Given the namespace and what a live LIST found in it: which objects to delete (those not yet
being deleted), the status conditions Kubernetes reports while it waits (content and
finalizers remaining), and whether the namespace is empty so its `kubernetes` finalizer can go.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.api.registry import ResourceKind

KUBERNETES_FINALIZER = "kubernetes"


@dataclass(frozen=True)
class Deletion:
    kind: ResourceKind
    name: str
    uid: str


@dataclass(frozen=True)
class NamespacePlan:
    deletions: tuple[Deletion, ...] = ()
    conditions: list[JsonObject] = field(default_factory=list)  # the status conditions it should show
    finalize: bool = False  # nothing is left: remove the `kubernetes` finalizer


def is_terminating(namespace: Mapping[str, Any]) -> bool:
    """Marked for deletion and still held by the `kubernetes` finalizer (ours to clear)."""
    return meta.is_deleting(namespace) and KUBERNETES_FINALIZER in (meta.spec_of(namespace).get("finalizers") or [])


def _condition(previous: Mapping[str, JsonObject], condition_type: str, status: str, reason: str, message: str,
               *, now: str) -> JsonObject:
    before = previous.get(condition_type) or {}
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    return {"type": condition_type, "status": status, "lastTransitionTime": since or now, "reason": reason,
            "message": message}


def namespace_conditions(namespace: Mapping[str, Any], contents: Mapping[ResourceKind, Sequence[JsonObject]], *,
                         now: str) -> list[JsonObject]:
    """The deletion conditions Kubernetes reports, from what is still in the namespace."""
    previous = {str(c.get("type")): c for c in meta.status_of(namespace).get("conditions") or []
                if isinstance(c, dict)}
    remaining = sorted(f"{kind.group_resource} has {len(items)} resource instances"
                       for kind, items in contents.items() if items)
    finalizer_counts: dict[str, int] = {}
    for items in contents.values():
        for item in items:
            for finalizer in meta.metadata_of(item).get("finalizers") or []:
                finalizer_counts[str(finalizer)] = finalizer_counts.get(str(finalizer), 0) + 1
    finalizers = sorted(f"{name} in {count} resource instances" for name, count in finalizer_counts.items())
    return [
        _condition(previous, "NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
                   "All resources successfully discovered", now=now),
        _condition(previous, "NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
                   "All legacy kube types successfully parsed", now=now),
        _condition(previous, "NamespaceDeletionContentFailure", "False", "ContentDeleted",
                   "All content successfully deleted, may be waiting on finalization", now=now),
        _condition(previous, "NamespaceContentRemaining", "True", "SomeResourcesRemain",
                   f"Some resources are remaining: {', '.join(remaining)}", now=now) if remaining else
        _condition(previous, "NamespaceContentRemaining", "False", "ContentRemoved",
                   "All content successfully removed", now=now),
        _condition(previous, "NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                   f"Some content in the namespace has finalizers remaining: {', '.join(finalizers)}",
                   now=now) if finalizers else
        _condition(previous, "NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
                   "All content-preserving finalizers finished", now=now),
    ]


def plan_namespace_deletion(namespace: Mapping[str, Any], contents: Mapping[ResourceKind, Sequence[JsonObject]],
                            *, now: datetime) -> NamespacePlan:
    """Delete what is not yet being deleted; finalize once the namespace is empty."""
    if not is_terminating(namespace):
        return NamespacePlan()
    deletions = tuple(
        Deletion(kind, meta.name_of(item), meta.uid_of(item))
        for kind, items in contents.items() for item in items if not meta.is_deleting(item)
    )
    empty = not any(contents.values())
    return NamespacePlan(deletions=deletions, conditions=namespace_conditions(namespace, contents,
                                                                                now=meta.format_time(now)),
                         finalize=empty)


def finalized(namespace: Mapping[str, Any]) -> JsonObject:
    """The namespace as PUT to /finalize: its spec.finalizers without `kubernetes`."""
    updated = copy.deepcopy(dict(namespace))
    spec = updated.setdefault("spec", {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != KUBERNETES_FINALIZER]
    return updated
