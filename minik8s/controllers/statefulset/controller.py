"""The StatefulSet controller: the set's pods, claims and revisions, kept as its spec says, in order.

One reconcile of a set, as Kubernetes' StatefulSetController.sync: adopt the orphaned
ControllerRevisions and claim the pods that are its members (`<set>-<ordinal>` matching the
selector; release those that stopped matching); find or write the update revision (a new
template gets a new ControllerRevision, an old one is renumbered — a rollback); let
`plan.plan_stateful_set` decide; carry the plan out (executor.py); write the status when it
changed; forget the oldest revisions beyond revisionHistoryLimit. Everything is read from shared
informers (sets, pods, revisions, claims).

No expectations are needed: pod names are fixed, so creating a pod the cache does not show yet
fails with AlreadyExists, and the pod's own event brings the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, STATEFUL_SETS
from minik8s.api.meta import JsonObject
from minik8s.api.selectors import LabelSelector
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, ApiError, NotFound
from minik8s.controllers.common.adoption import claim_dependents
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.workload_objects import (
    MalformedObject,
    is_controlled_by,
    owners_to_sync,
    owners_to_sync_on_update,
    release_patch,
    resolve_controller_ref,
    selector_of,
)
from minik8s.controllers.statefulset.executor import PlanExecutor
from minik8s.controllers.statefulset.identity import is_member
from minik8s.controllers.statefulset.plan import StatefulSetInputs, plan_stateful_set
from minik8s.controllers.statefulset.revisions import (
    choose_update_revision,
    current_revision,
    owned_or_orphaned,
    renamed,
    revisions_to_forget,
    sorted_revisions,
)
from minik8s.controllers.statefulset.status import status_changed

logger = logging.getLogger(__name__)

_ALREADY_EXISTS_RECHECK_SECONDS = 0.5
_MAX_COLLISIONS = 16


class StatefulSetController:
    name = "statefulset"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events = context.client, context.events
        self.sets = context.informers.informer(STATEFUL_SETS)
        self.pods = context.informers.informer(PODS)
        self.revisions = context.informers.informer(CONTROLLER_REVISIONS)
        self.claims = context.informers.informer(PERSISTENT_VOLUME_CLAIMS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.sets, self.pods, self.revisions, self.claims],
                                     workers=context.options.workers)
        self.sets.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)
        self.pods.add_handler(on_add=self._on_pod_add, on_update=self._on_pod_update, on_delete=self._on_pod_delete)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- events -> keys -------------------------------------------------------------------------

    def _enqueue(self, stateful_sets: list[JsonObject]) -> None:
        for stateful_set in stateful_sets:
            self.controller.queue.add(meta.key_of(stateful_set))

    def _on_pod_add(self, pod: JsonObject) -> None:
        self._enqueue(owners_to_sync(self.sets, pod, kind="StatefulSet"))

    def _on_pod_update(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) != meta.resource_version_of(new):
            self._enqueue(owners_to_sync_on_update(self.sets, old, new, kind="StatefulSet"))

    def _on_pod_delete(self, pod: JsonObject) -> None:
        owner = resolve_controller_ref(self.sets, pod, kind="StatefulSet")
        if owner is not None:
            self.controller.queue.add(meta.key_of(owner))

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        stateful_set = self.sets.get(key)
        if stateful_set is None:
            return
        try:
            selector = selector_of(stateful_set)
        except MalformedObject as error:
            logger.warning("statefulset %s: %s", key, error)  # not transient: nothing to retry
            return
        revisions = await self._own_revisions(stateful_set, selector)
        pods = await self._claim_pods(stateful_set, selector)
        update, collision_count = await self._update_revision(stateful_set, revisions)
        current = current_revision(stateful_set, revisions, update)
        inputs = StatefulSetInputs(stateful_set, current, update, collision_count, pods, self._claims_of(stateful_set),
                                   now=datetime.now(UTC))
        plan = plan_stateful_set(inputs)
        executor = PlanExecutor(self.client, self.events, stateful_set, dict(inputs.claims))
        failure = await executor.run(plan.phases)
        if status_changed(stateful_set, plan.status):
            await self.client.update_status(STATEFUL_SETS, {**stateful_set, "status": plan.status})
        await self._forget_revisions(stateful_set, revisions, pods, live=[meta.name_of(current), meta.name_of(update)])
        if plan.requeue_after is not None:
            self.controller.queue.add_after(key, plan.requeue_after)
        if isinstance(failure, AlreadyExists):
            logger.debug("statefulset %s: %s (the cache is behind)", key, failure)
            self.controller.queue.add_after(key, _ALREADY_EXISTS_RECHECK_SECONDS)
        elif failure is not None:
            raise failure

    def _claims_of(self, stateful_set: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        namespace = meta.namespace_of(stateful_set)
        return {meta.name_of(claim): claim for claim in self.claims.list() if meta.namespace_of(claim) == namespace}

    async def _claim_pods(self, stateful_set: JsonObject, selector: LabelSelector) -> list[JsonObject]:
        """getPodsForStatefulSet: its member pods (adopting matching orphans), releasing ours that are not."""
        namespace = meta.namespace_of(stateful_set)
        candidates = [pod for pod in self.pods.list() if meta.namespace_of(pod) == namespace]
        for pod in candidates:
            if not is_member(stateful_set, pod) and is_controlled_by(pod, stateful_set) \
                    and not meta.is_deleting(stateful_set):
                try:
                    await self.client.patch(PODS, meta.name_of(pod), release_patch(pod, meta.uid_of(stateful_set)),
                                            namespace=namespace, patch_type="strategic")
                except NotFound:
                    continue
        members = [dict(pod) for pod in candidates if is_member(stateful_set, pod)]
        return await claim_dependents(self.client, stateful_set, selector, members, owner_kind=STATEFUL_SETS,
                                      dependent_kind=PODS)

    async def _own_revisions(self, stateful_set: JsonObject, selector: LabelSelector) -> list[JsonObject]:
        """ListControllerRevisions + AdoptOrphanRevisions, sorted by revision number."""
        matching = [revision for revision in self.revisions.list() if selector.matches(meta.labels_of(revision))]
        mine = [dict(revision) for revision in owned_or_orphaned(stateful_set, matching)]
        owned = await claim_dependents(self.client, stateful_set, selector, mine, owner_kind=STATEFUL_SETS,
                                       dependent_kind=CONTROLLER_REVISIONS)
        return [dict(revision) for revision in sorted_revisions(owned)]

    async def _update_revision(self, stateful_set: JsonObject, revisions: list[JsonObject]) -> tuple[JsonObject, int]:
        """The update revision (written when new or renumbered) and the collision count it took."""
        collision_count = int(meta.status_of(stateful_set).get("collisionCount") or 0)
        choice = choose_update_revision(stateful_set, revisions)
        if choice.action == "use":
            return choice.revision, collision_count
        if choice.action == "renumber":
            return await self.client.update(CONTROLLER_REVISIONS, {**choice.revision, "revision": choice.number}), \
                collision_count
        revision = choice.revision
        for _ in range(_MAX_COLLISIONS):
            try:
                return await self.client.create(CONTROLLER_REVISIONS, revision,
                                                namespace=meta.namespace_of(stateful_set)), collision_count
            except AlreadyExists:
                existing = await self.client.get(CONTROLLER_REVISIONS, meta.name_of(revision),
                                                 namespace=meta.namespace_of(stateful_set))
                if existing.get("data") == revision.get("data"):
                    return existing, collision_count
                collision_count += 1
                revision = renamed(revision, stateful_set, collision_count)
        raise ApiError(409, "AlreadyExists", f"no free ControllerRevision name after {_MAX_COLLISIONS} collisions")

    async def _forget_revisions(self, stateful_set: JsonObject, revisions: list[JsonObject], pods: list[JsonObject],
                                *, live: list[str]) -> None:
        for name in revisions_to_forget(stateful_set, revisions, pods, live):
            try:
                await self.client.delete(CONTROLLER_REVISIONS, name, namespace=meta.namespace_of(stateful_set))
            except NotFound:
                continue
