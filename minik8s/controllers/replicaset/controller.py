"""The ReplicaSet controller: keeps spec.replicas pods of a template alive, and reports them.

Event handlers map pod events to the owning ReplicaSet's key (and count the creates and
deletes it is waiting for); `reconcile` reads the caches, claims pods by selector and
controller reference, asks `plan` what to create or delete and what the status
says, then carries that out: creates in slow-start batches, deletes, one /status write when
something changed. Kubernetes' pkg/controller/replicaset/replica_set.go is the reference.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import PODS, REPLICA_SETS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common import workload_objects
from minik8s.controllers.common.adoption import claim_dependents
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.errors import is_namespace_terminating
from minik8s.controllers.common.expectations import ControllerExpectations
from minik8s.controllers.common.pods import is_active, is_ready
from minik8s.controllers.replicaset.plan import (
    compute_status,
    next_availability_check,
    plan_replicas,
    slow_start_batches,
    status_changed,
)
from minik8s.controllers.replicaset.pods import pod_from_template

log = logging.getLogger(__name__)


class ReplicaSetController:
    name = "replicaset"

    def __init__(self, context: ControllerContext, *, clock: Callable[[], datetime] = partial(datetime.now, UTC)) -> None:
        self.client, self.events, self.clock = context.client, context.events, clock
        self.expectations = ControllerExpectations()
        self.replica_sets = context.informers.informer(REPLICA_SETS)
        self.pods = context.informers.informer(PODS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.replica_sets, self.pods], workers=context.options.workers)
        self.replica_sets.add_handler(on_add=self._replica_set_added, on_update=self._replica_set_updated,
                                      on_delete=self._replica_set_deleted)
        self.pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- event handlers: events to keys ---------------------------------------------------------

    def _enqueue(self, replica_set: Mapping[str, Any]) -> None:
        self.controller.queue.add(meta.key_of(replica_set))

    def _replica_set_added(self, replica_set: JsonObject) -> None:
        self._enqueue(replica_set)

    def _replica_set_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.uid_of(old) != meta.uid_of(new):
            self.expectations.forget(meta.key_of(old))
        self._enqueue(new)

    def _replica_set_deleted(self, replica_set: JsonObject) -> None:
        self.expectations.forget(meta.key_of(replica_set))
        self._enqueue(replica_set)

    def _owner_of(self, pod: Mapping[str, Any]) -> JsonObject | None:
        return workload_objects.resolve_controller_ref(self.replica_sets, pod, kind="ReplicaSet")

    def _pod_added(self, pod: JsonObject) -> None:
        if meta.is_deleting(pod):
            self._pod_deleted(pod)
            return
        if (owner := self._owner_of(pod)) is not None:
            self.expectations.creation_observed(meta.key_of(owner))
        for replica_set in workload_objects.owners_to_sync(self.replica_sets, pod, kind="ReplicaSet"):
            self._enqueue(replica_set)

    def _pod_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        labels_changed = meta.labels_of(old) != meta.labels_of(new)
        if meta.is_deleting(new):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        for replica_set in workload_objects.owners_to_sync_on_update(self.replica_sets, old, new, kind="ReplicaSet"):
            self._enqueue(replica_set)

    def _pod_deleted(self, pod: JsonObject) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(meta.key_of(owner), meta.key_of(pod))
            self._enqueue(owner)

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        replica_set = self.replica_sets.get(key)
        if replica_set is None:
            self.expectations.forget(key)
            return
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = workload_objects.selector_of(replica_set)
        except workload_objects.MalformedObject as error:
            log.warning("replicaset %s: %s", key, error)
            await self.events.record(replica_set, "Warning", "InvalidSelector", str(error))
            return
        namespace = meta.namespace_of(replica_set)
        active = [pod for pod in self.pods.list() if meta.namespace_of(pod) == namespace and is_active(pod)]
        owned = await claim_dependents(self.client, replica_set, selector, active,
                                      owner_kind=REPLICA_SETS, dependent_kind=PODS)
        failure: ApiError | None = None
        if needs_sync and not meta.is_deleting(replica_set):
            failure = await self._manage_replicas(replica_set, owned)
        now = self.clock()
        status = compute_status(replica_set, owned, now=now, failure=None if failure is None else str(failure))
        if status_changed(replica_set, status):
            await self.client.update_status(REPLICA_SETS, {**copy.deepcopy(replica_set), "status": status})
        if failure is not None:
            raise failure  # the worker retries with backoff
        delay = next_availability_check(replica_set, owned, now=now)
        if delay is not None:
            self.controller.queue.add_after(key, delay)

    async def _manage_replicas(self, replica_set: JsonObject, owned: list[JsonObject]) -> ApiError | None:
        changes = plan_replicas(replica_set, owned, related_pods=self._related_pods(replica_set))
        if changes.create:
            return await self._create_pods(replica_set, changes.create)
        if changes.delete:
            return await self._delete_pods(replica_set, changes.delete)
        return None

    def _related_pods(self, replica_set: JsonObject) -> list[JsonObject]:
        """getIndirectlyRelatedPods: pods of every ReplicaSet sharing this one's controller."""
        reference = meta.controller_ref_of(replica_set)
        if reference is None:
            return []
        namespace, owner_uid = meta.namespace_of(replica_set), reference.get("uid")
        selectors = []
        for sibling in self.replica_sets.list():
            sibling_reference = meta.controller_ref_of(sibling)
            if meta.namespace_of(sibling) == namespace and sibling_reference and sibling_reference.get("uid") == owner_uid:
                try:
                    selectors.append(workload_objects.selector_of(sibling))
                except workload_objects.MalformedObject:
                    continue
        return [pod for pod in self.pods.list() if meta.namespace_of(pod) == namespace
                and any(selector.matches(meta.labels_of(pod)) for selector in selectors)]

    async def _create_pods(self, replica_set: JsonObject, count: int) -> ApiError | None:
        key = meta.key_of(replica_set)
        self.expectations.expect_creations(key, count)
        reference = workload_objects.controller_reference(replica_set, api_version="apps/v1", kind="ReplicaSet")
        log.info("replicaset %s: too few replicas, creating %d", key, count)
        successes = 0
        failure: ApiError | None = None
        for batch in slow_start_batches(count):
            results = await asyncio.gather(*(self._create_pod(replica_set, reference) for _ in range(batch)))
            errors = [result for result in results if result is not None]
            successes += batch - len(errors)
            if errors:
                failure = errors[0]
                break
        for _ in range(count - successes):
            self.expectations.creation_observed(key)  # never to be seen: do not wait for it
        return failure

    async def _create_pod(self, replica_set: JsonObject, reference: Mapping[str, Any]) -> ApiError | None:
        pod = pod_from_template(replica_set, owner_reference=reference)
        try:
            created = await self.client.create(PODS, pod, namespace=meta.namespace_of(replica_set))
        except ApiError as error:
            if is_namespace_terminating(error):
                return None
            await self.events.record(replica_set, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        await self.events.record(replica_set, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(created)}")
        return None

    async def _delete_pods(self, replica_set: JsonObject, pods: Sequence[JsonObject]) -> ApiError | None:
        key = meta.key_of(replica_set)
        log.info("replicaset %s: too many replicas, deleting %d", key, len(pods))
        self.expectations.expect_deletions(key, [meta.key_of(pod) for pod in pods])
        results = await asyncio.gather(*(self._delete_pod(replica_set, pod) for pod in pods))
        errors = [result for result in results if result is not None]
        return errors[0] if errors else None

    async def _delete_pod(self, replica_set: JsonObject, pod: JsonObject) -> ApiError | None:
        try:
            await self.client.delete(PODS, meta.name_of(pod), namespace=meta.namespace_of(pod),
                                     preconditions_uid=meta.uid_of(pod) or None)
        except ApiError as error:
            self.expectations.deletion_observed(meta.key_of(replica_set), meta.key_of(pod))
            if isinstance(error, NotFound):
                return None
            await self.events.record(replica_set, "Warning", "FailedDelete", f"Error deleting: {error}")
            return error
        state = "ready" if is_ready(pod) else "not ready"
        log.debug("replicaset %s: deleted %s pod %s", meta.key_of(replica_set), state, meta.name_of(pod))
        await self.events.record(replica_set, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}")
        return None
