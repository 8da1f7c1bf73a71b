"""The namespace controller: deleting a namespace deletes everything in it, then the namespace.

DELETE of a Namespace only marks it Terminating: the `kubernetes` entry in its
`spec.finalizers` keeps it in the store. As Kubernetes' namespace controller does, this
controller deletes every namespaced object of every served kind in it (pods gracefully, so
their agents stop them), waits until nothing is left — live LISTs, never a cache that might
not yet show an object created a moment before — reports progress in the namespace's status
conditions (NamespaceContentRemaining, NamespaceFinalizersRemaining, …), and finally PUTs
the namespace to `/finalize` without `kubernetes`, upon which the apiserver removes it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from minik8s.api.kinds import NAMESPACES
from minik8s.api.meta import JsonObject, format_time
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.controller import Controller
from minik8s.client.errors import Conflict, NotFound, error_from_response
from minik8s.client.paths import object_path
from minik8s.controllers.common.context import ControllerContext

log = logging.getLogger(__name__)

NAMESPACED_KINDS: tuple[ResourceKind, ...] = tuple(kind for kind in REGISTRY.kinds if kind.namespaced)
KUBERNETES_FINALIZER = "kubernetes"
RECHECK_SECONDS = 5.0  # events bring us back sooner; this is the safety net
RECHECK_AFTER_DELETING_SECONDS = 0.5


# -- pure decisions ----------------------------------------------------------------------------


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
    metadata = namespace.get("metadata") or {}
    finalizers = (namespace.get("spec") or {}).get("finalizers") or []
    return bool(metadata.get("deletionTimestamp")) and KUBERNETES_FINALIZER in finalizers


def _condition(previous: Mapping[str, JsonObject], condition_type: str, status: str, reason: str, message: str,
               *, now: str) -> JsonObject:
    before = previous.get(condition_type) or {}
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    return {"type": condition_type, "status": status, "lastTransitionTime": since or now, "reason": reason,
            "message": message}


def namespace_conditions(namespace: Mapping[str, Any], contents: Mapping[ResourceKind, Sequence[JsonObject]], *,
                         now: str) -> list[JsonObject]:
    """The deletion conditions Kubernetes reports, from what is still in the namespace."""
    previous = {str(c.get("type")): c for c in (namespace.get("status") or {}).get("conditions") or []
                if isinstance(c, dict)}
    remaining = sorted(f"{kind.group_resource} has {len(items)} resource instances"
                       for kind, items in contents.items() if items)
    finalizer_counts: dict[str, int] = {}
    for items in contents.values():
        for item in items:
            for finalizer in (item.get("metadata") or {}).get("finalizers") or []:
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
        Deletion(kind, str(item["metadata"]["name"]), str(item["metadata"].get("uid") or ""))
        for kind, items in contents.items() for item in items
        if not (item.get("metadata") or {}).get("deletionTimestamp")
    )
    empty = not any(contents.values())
    return NamespacePlan(deletions=deletions, conditions=namespace_conditions(namespace, contents,
                                                                                now=format_time(now)),
                         finalize=empty)


def finalized(namespace: Mapping[str, Any]) -> JsonObject:
    """The namespace as PUT to /finalize: its spec.finalizers without `kubernetes`."""
    updated = copy.deepcopy(dict(namespace))
    spec = updated.setdefault("spec", {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != KUBERNETES_FINALIZER]
    return updated


# -- the controller ----------------------------------------------------------------------------


class NamespaceController:
    name = "namespace"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.namespaces = context.informers.informer(NAMESPACES)
        content_informers = [context.informers.informer(kind) for kind in NAMESPACED_KINDS]
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.namespaces, *content_informers],
                                     workers=context.options.workers)
        self.namespaces.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)
        for informer in content_informers:
            informer.add_handler(on_delete=self._content_deleted)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _content_deleted(self, obj: JsonObject) -> None:
        """Something left a namespace: if that namespace is terminating, it may now be empty."""
        namespace_name = (obj.get("metadata") or {}).get("namespace")
        namespace = self.namespaces.get(str(namespace_name)) if namespace_name else None
        if namespace is not None and is_terminating(namespace):
            self.controller.queue.add(str(namespace_name))

    async def reconcile(self, name: str) -> None:
        namespace = self.namespaces.get(name)
        if namespace is None or not is_terminating(namespace):
            return
        contents = {kind: (await self.client.list(kind, namespace=name)).get("items") or []
                    for kind in NAMESPACED_KINDS}
        plan = plan_namespace_deletion(namespace, contents, now=datetime.now(UTC))
        try:
            for deletion in plan.deletions:
                await self._delete(name, deletion)
            if plan.deletions:  # report what remains once these deletions have landed (next pass)
                self.controller.queue.add_after(name, RECHECK_AFTER_DELETING_SECONDS)
                return
            namespace = await self._write_conditions(namespace, plan.conditions)
            if plan.finalize:
                await self._finalize(namespace)
                return
        except NotFound:
            return
        self.controller.queue.add_after(name, RECHECK_SECONDS)

    async def _write_conditions(self, namespace: JsonObject, conditions: list[JsonObject]) -> JsonObject:
        if (namespace.get("status") or {}).get("conditions") == conditions:
            return namespace
        updated = copy.deepcopy(namespace)
        updated.setdefault("status", {})["conditions"] = conditions
        return await self.client.update_status(NAMESPACES, updated)

    async def _delete(self, namespace: str, deletion: Deletion) -> None:
        try:
            await self.client.delete(deletion.kind, deletion.name, namespace=namespace,
                                     propagation_policy="Background", preconditions_uid=deletion.uid or None)
        except (NotFound, Conflict):
            return  # gone already, or replaced by a new object that the next pass will see

    async def _finalize(self, namespace: JsonObject) -> None:
        name = str(namespace["metadata"]["name"])
        log.info("namespace %s is empty: finalizing", name)
        response = await self.client.request("PUT", object_path(NAMESPACES, name, subresource="finalize"),
                                             json=finalized(namespace))
        if not response.is_success:
            raise error_from_response(response.status_code, response.content)
