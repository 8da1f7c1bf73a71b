"""The garbage collector: objects whose owners are gone go too, in the order the user asked.

`ownerReferences` tie ReplicaSets to their Deployment and Pods to their ReplicaSet (and any
object to any other). Deleting an owner leaves the cleanup to this controller, as in
Kubernetes (pkg/controller/garbagecollector), in the three propagation policies:

- Background (kubectl's default): the owner is removed at once; each dependent whose owners
  are now all gone is deleted in turn.
- Foreground: the apiserver keeps the owner, deletionTimestamp set, with the
  `foregroundDeletion` finalizer; its dependents are deleted first, and the finalizer is
  removed once no dependent with `blockOwnerDeletion` is left.
- Orphan: the owner carries the `orphan` finalizer; its dependents lose their reference to
  it and survive, then the finalizer goes.

Deleting is irreversible, so a cache is never trusted for it: an owner missing from the
caches is confirmed gone with a GET, and a dependent is deleted with preconditions on the
uid and resourceVersion it was judged on.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minik8s.api.meta import JsonObject, is_deleting, key_of, uid_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.controller import Controller
from minik8s.client.errors import Conflict, NotFound
from minik8s.client.informer import Informer
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.garbage_collector.ownership import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    ItemRef,
    OwnershipGraph,
    finalizers,
    item_key,
    owner_references,
    owner_uids,
    ownership_facts,
    reference_to,
)
from minik8s.controllers.garbage_collector.plan import (
    Action,
    CheckItems,
    DeleteItem,
    OwnerState,
    RemoveOwnerReferences,
    owner_state_of,
    plan_deleting_owner,
    plan_dependent,
)

log = logging.getLogger(__name__)

_ABSENT_MEMORY = 10_000


class GarbageCollector:
    name = "garbagecollector"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events = context.client, context.events
        self.informers: dict[str, Informer] = {kind.group_resource: context.informers.informer(kind)
                                               for kind in REGISTRY.kinds}
        self.kinds: dict[str, ResourceKind] = {kind.group_resource: kind for kind in REGISTRY.kinds}
        self.graph = OwnershipGraph()
        self._absent_uids: OrderedDict[str, None] = OrderedDict()
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=list(self.informers.values()),
                                     workers=context.options.workers)
        for kind in REGISTRY.kinds:
            self._watch(kind)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- event handlers: index and keys ---------------------------------------------------------

    def _watch(self, kind: ResourceKind) -> None:
        def added(obj: JsonObject) -> None:
            self.graph.update(item_key(kind, obj), uid_of(obj), owner_uids(obj))
            if owner_uids(obj) or (is_deleting(obj) and _has_gc_finalizer(obj)):
                self.controller.queue.add(item_key(kind, obj))

        def updated(old: JsonObject, new: JsonObject) -> None:
            key = item_key(kind, new)
            if uid_of(old) != uid_of(new):  # replaced by a new object of that name (seen after a re-list)
                deleted(old)
            previous_owners = self.graph.update(key, uid_of(new), owner_uids(new))
            if ownership_facts(old) != ownership_facts(new):
                self.controller.queue.add(key)
                self._enqueue_uids(previous_owners | owner_uids(new))
                self._enqueue_keys(self.graph.dependents(uid_of(new)))

        def deleted(obj: JsonObject) -> None:
            previous_owners = self.graph.remove(item_key(kind, obj), uid_of(obj))
            self._enqueue_uids(previous_owners)  # a foreground owner may be waiting for this one
            self._enqueue_keys(self.graph.dependents(uid_of(obj)))  # these may have lost their last owner

        self.informers[kind.group_resource].add_handler(on_add=added, on_update=updated, on_delete=deleted)

    def _enqueue_uids(self, uids: frozenset[str]) -> None:
        for uid in uids:
            key = self.graph.item_of(uid)
            if key is not None:
                self.controller.queue.add(key)

    def _enqueue_keys(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.controller.queue.add(key)

    # -- reconciling ----------------------------------------------------------------------------

    def _cached(self, key: str) -> tuple[ResourceKind, JsonObject] | None:
        group_resource, _, cache_key = key.partition("|")
        kind = self.kinds.get(group_resource)
        obj = self.informers[group_resource].get(cache_key) if kind is not None else None
        return (kind, obj) if kind is not None and obj is not None else None

    async def reconcile(self, key: str) -> None:
        cached = self._cached(key)
        if cached is None:
            return
        kind, obj = cached
        item = ItemRef.of(kind, obj)
        if is_deleting(obj) and _has_gc_finalizer(obj):
            actions = plan_deleting_owner(item, obj, self._dependents_of(item))
        elif owner_references(obj) and not is_deleting(obj):
            owners = {str(ref["uid"]): await self._owner_state(item, obj, ref) for ref in owner_references(obj)}
            actions = plan_dependent(item, obj, owners, has_dependents=bool(self.graph.dependents(item.uid)))
        else:
            return
        for action in actions:
            await self._execute(action)

    def _dependents_of(self, owner: ItemRef) -> list[tuple[ItemRef, JsonObject]]:
        found = []
        for key in self.graph.dependents(owner.uid):
            cached = self._cached(key)
            if cached is not None and reference_to(cached[1], owner.uid) is not None:
                found.append((ItemRef.of(*cached), cached[1]))
        return found

    async def _owner_state(self, item: ItemRef, obj: JsonObject, reference: Mapping[str, Any]) -> OwnerState:
        """The owner by uid: from the caches when there, else confirmed with a GET."""
        uid = str(reference["uid"])
        if uid in self._absent_uids:
            return OwnerState.ABSENT
        owner_kind = REGISTRY.by_kind(str(reference.get("apiVersion") or ""), str(reference.get("kind") or ""))
        if owner_kind is None or (owner_kind.namespaced and not item.namespace):
            message = (f"ownerRef [{reference.get('apiVersion')}/{reference.get('kind')}, "
                       f"name: {reference.get('name')}, uid: {uid}] cannot be resolved; the object is kept")
            log.warning("%s: %s", item.key, message)
            await self.events.record(obj, "Warning", "OwnerRefInvalid", message)
            return OwnerState.UNRESOLVABLE
        namespace = item.namespace if owner_kind.namespaced else None
        name = str(reference.get("name") or "")
        cached = self.informers[owner_kind.group_resource].get(
            key_of({"metadata": {"namespace": namespace, "name": name}}))
        if cached is not None and uid_of(cached) == uid:
            return owner_state_of(cached, uid)
        try:
            live: JsonObject | None = await self.client.get(owner_kind, name, namespace=namespace)
        except NotFound:
            live = None
        state = owner_state_of(live, uid)
        if state is OwnerState.ABSENT:
            self._remember_absent(uid)
        return state

    def _remember_absent(self, uid: str) -> None:
        """Uids are never reused: an owner confirmed gone stays gone."""
        self._absent_uids[uid] = None
        while len(self._absent_uids) > _ABSENT_MEMORY:
            self._absent_uids.popitem(last=False)

    async def _execute(self, action: Action) -> None:
        if isinstance(action, CheckItems):
            self._enqueue_keys(action.keys)
        elif isinstance(action, DeleteItem):
            await self._delete(action)
        elif isinstance(action, RemoveOwnerReferences):
            await self._rewrite(action.item, lambda metadata: _drop_owners(metadata, action.owner_uids))
        else:
            await self._rewrite(action.item, lambda metadata: _drop_finalizer(metadata, action.finalizer))

    async def _delete(self, action: DeleteItem) -> None:
        item = action.item
        log.info("deleting %s (propagation %s): no owner keeps it", item.key, action.propagation)
        try:
            await self.client.delete(item.kind, item.name, namespace=item.namespace,
                                     propagation_policy=action.propagation, preconditions_uid=item.uid or None,
                                     preconditions_resource_version=action.resource_version or None)
        except NotFound:
            return
        except Conflict:
            self.controller.queue.add_rate_limited(item.key)  # it changed since we judged it: judge again

    async def _rewrite(self, item: ItemRef, change: Callable[[JsonObject], bool]) -> None:
        """Update the cached object with `change(metadata)` applied, guarded by its resourceVersion."""
        cached = self._cached(item.key)
        if cached is None or uid_of(cached[1]) != item.uid:
            return
        updated = copy.deepcopy(cached[1])
        if not change(updated["metadata"]):
            return
        try:
            await self.client.update(item.kind, updated)
        except NotFound:
            return


def _has_gc_finalizer(obj: Mapping[str, Any]) -> bool:
    present = finalizers(obj)
    return ORPHAN_FINALIZER in present or FOREGROUND_FINALIZER in present


def _drop_owners(metadata: JsonObject, uids: frozenset[str]) -> bool:
    references = metadata.get("ownerReferences") or []
    kept = [ref for ref in references if not (isinstance(ref, dict) and ref.get("uid") in uids)]
    if len(kept) == len(references):
        return False
    if kept:
        metadata["ownerReferences"] = kept
    else:
        metadata.pop("ownerReferences", None)
    return True


def _drop_finalizer(metadata: JsonObject, finalizer: str) -> bool:
    present = metadata.get("finalizers") or []
    if finalizer not in present:
        return False
    kept = [f for f in present if f != finalizer]
    if kept:
        metadata["finalizers"] = kept
    else:
        metadata.pop("finalizers", None)
    return True
