"""The DaemonSet controller: one pod per eligible node, kept there and rolled to new templates.

It gathers the DaemonSet, the nodes and the namespace's pods from the shared informers, lets
`plan.plan_daemon_set` decide, and carries the plan out through the API. The pods it
makes name their node directly (`spec.nodeName`, plus Kubernetes' `metadata.name` node
affinity), so DaemonSets need no scheduler — as kube-controller-manager did before 1.12.

Two memories make the level-triggered loop safe against its own stale cache, as in Kubernetes:
expectations (pods created or deleted but not yet seen through the informer: until they are,
the DaemonSet is not placed again, so nothing is created twice) and a per-node backoff for
replacing failed pods (so a pod the node keeps rejecting is not recreated in a hot loop).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import DAEMON_SETS, NODES, PODS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.events import record_planned
from minik8s.controllers.common.expectations import ControllerExpectations
from minik8s.controllers.common.pods import node_name_of
from minik8s.controllers.common.workload_objects import (
    owners_to_sync,
    owners_to_sync_on_update,
    resolve_controller_ref,
)
from minik8s.controllers.daemonset.backoff import FailedPodBackoff
from minik8s.controllers.daemonset.plan import DaemonSetInputs, DaemonSetPlan, plan_daemon_set
from minik8s.controllers.daemonset.pods import build_daemon_pod

logger = logging.getLogger(__name__)


_ORPHAN_RECHECK_SECONDS = 1.0


class DaemonSetController:
    name = "daemonset"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events = context.client, context.events
        self.daemon_sets = context.informers.informer(DAEMON_SETS)
        self.pods = context.informers.informer(PODS)
        self.nodes = context.informers.informer(NODES)
        self.expectations = ControllerExpectations()
        self.backoff = FailedPodBackoff()
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.daemon_sets, self.pods, self.nodes],
                                     workers=context.options.workers)
        self.daemon_sets.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update,
                                     on_delete=self._on_daemon_set_delete)
        self.pods.add_handler(on_add=self._on_pod_add, on_update=self._on_pod_update, on_delete=self._on_pod_delete)
        self.nodes.add_handler(on_add=self._enqueue_all, on_update=self._on_node_update,
                               on_delete=self._enqueue_all)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- events -> keys -------------------------------------------------------------------------

    def _on_daemon_set_delete(self, daemon_set: JsonObject) -> None:
        key = meta.key_of(daemon_set)
        self.expectations.forget(key)
        self.backoff.forget(key)

    def _enqueue_all(self, _: JsonObject | None = None) -> None:
        for daemon_set in self.daemon_sets.list():
            self.controller.queue.add(meta.key_of(daemon_set))

    def _on_node_update(self, old: JsonObject, new: JsonObject) -> None:
        if _placement_facts(old) != _placement_facts(new):
            self._enqueue_all()

    def _owner_key(self, pod: JsonObject) -> str | None:
        """The key of the cached DaemonSet that controls `pod`, if one does."""
        owner = resolve_controller_ref(self.daemon_sets, pod, kind="DaemonSet")
        return meta.key_of(owner) if owner is not None else None

    def _enqueue(self, daemon_sets: list[JsonObject]) -> None:
        for daemon_set in daemon_sets:
            self.controller.queue.add(meta.key_of(daemon_set))

    def _on_pod_add(self, pod: JsonObject) -> None:
        if meta.is_deleting(pod):
            self._on_pod_delete(pod)
            return
        if (owner := self._owner_key(pod)) is not None:
            self.expectations.creation_observed(owner)
        self._enqueue(owners_to_sync(self.daemon_sets, pod, kind="DaemonSet"))

    def _on_pod_update(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        if meta.is_deleting(new) and (owner := self._owner_key(new)) is not None:
            self.expectations.deletion_observed(owner, meta.name_of(new))
        self._enqueue(owners_to_sync_on_update(self.daemon_sets, old, new, kind="DaemonSet"))

    def _on_pod_delete(self, pod: JsonObject) -> None:
        owner = self._owner_key(pod)
        if owner is None:
            return
        self.expectations.deletion_observed(owner, meta.name_of(pod))
        self.controller.queue.add(owner)

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        daemon_set = self.daemon_sets.get(key)
        if daemon_set is None:
            self.expectations.forget(key)
            return
        namespace = meta.namespace_of(daemon_set) or "default"
        inputs = DaemonSetInputs(
            daemon_set=daemon_set, nodes=self.nodes.list(),
            pods=[pod for pod in self.pods.list() if (meta.namespace_of(pod) or "default") == namespace],
            now=datetime.now(UTC), expectations_satisfied=self.expectations.satisfied(key),
            failed_pod_backoff=self.backoff.remaining(key),
        )
        plan = plan_daemon_set(inputs)
        await record_planned(self.events, daemon_set, plan.events)
        for node_name in plan.failed_pod_nodes:
            self.backoff.step(key, node_name)
        errors = await self._execute(key, daemon_set, plan)
        if plan.status is not None:
            await self.client.update_status(DAEMON_SETS, {**daemon_set, "status": plan.status})
        if plan.requeue_after is not None:
            self.controller.queue.add_after(key, plan.requeue_after)
        if errors:
            raise errors[0]

    async def _execute(self, key: str, daemon_set: JsonObject, plan: DaemonSetPlan) -> list[ApiError]:
        namespace = meta.namespace_of(daemon_set) or "default"
        errors: list[ApiError] = []
        for change in plan.owner_changes:
            patch = {"metadata": {"ownerReferences": list(change.owner_references),
                                  "resourceVersion": change.resource_version}}
            try:
                await self.client.patch(PODS, change.pod_name, patch, namespace=namespace)
            except NotFound:
                pass
            except ApiError as error:
                errors.append(error)
        if errors:
            return errors  # claims come first: place again once they are settled
        if plan.create_on or plan.delete:  # (an unsatisfied DaemonSet plans neither: keep its expectations)
            self.expectations.expect(key, creations=len(plan.create_on), deletions=set(plan.delete))
        errors.extend(await self._create(key, daemon_set, plan))
        deletions = await asyncio.gather(*(self._delete(key, daemon_set, name) for name in plan.delete))
        errors.extend(error for error in deletions if error is not None)
        await asyncio.gather(*(self._delete_orphan(key, daemon_set, name) for name in plan.orphaned))
        return errors

    async def _create(self, key: str, daemon_set: JsonObject, plan: DaemonSetPlan) -> list[ApiError]:
        """Create in slow-start batches (1, 2, 4, …): a failing batch stops the rest."""
        position, batch = 0, 1
        while position < len(plan.create_on):
            nodes = plan.create_on[position:position + batch]
            results = await asyncio.gather(*(self._create_one(key, daemon_set, node, plan.revision_hash)
                                             for node in nodes))
            failures = [error for error in results if error is not None]
            position += len(nodes)
            if failures:
                self.expectations.creation_observed(key, len(plan.create_on) - position)
                return failures
            batch *= 2
        return []

    async def _create_one(self, key: str, daemon_set: JsonObject, node_name: str, revision_hash: str
                          ) -> ApiError | None:
        pod = build_daemon_pod(daemon_set, node_name, revision_hash)
        try:
            created = await self.client.create(PODS, pod)
        except ApiError as error:
            self.expectations.creation_observed(key)
            await self.events.record(daemon_set, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        await self.events.record(daemon_set, "Normal", "SuccessfulCreate",
                                 f"Created pod: {meta.name_of(created)}")
        return None

    async def _delete(self, key: str, daemon_set: JsonObject, pod_name: str) -> ApiError | None:
        namespace = meta.namespace_of(daemon_set) or "default"
        try:
            await self.client.delete(PODS, pod_name, namespace=namespace)
        except NotFound:
            self.expectations.deletion_observed(key, pod_name)
            return None
        except ApiError as error:
            self.expectations.deletion_observed(key, pod_name)
            await self.events.record(daemon_set, "Warning", "FailedDelete", f"Error deleting: {error}")
            return error
        await self.events.record(daemon_set, "Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}")
        return None

    async def _delete_orphan(self, key: str, daemon_set: JsonObject, pod_name: str) -> None:
        """A pod bound to a node the cache no longer has: force-delete it once the API confirms."""
        namespace = meta.namespace_of(daemon_set) or "default"
        pod = self.pods.get(f"{namespace}/{pod_name}")
        node_name = node_name_of(pod) if pod is not None else ""
        try:
            await self.client.get(NODES, node_name)
        except NotFound:
            try:
                await self.client.delete(PODS, pod_name, namespace=namespace, grace_period_seconds=0)
            except NotFound:
                return
            await self.events.record(daemon_set, "Normal", "SuccessfulDelete",
                                     f"Deleted pod: {pod_name} (node {node_name} is gone)")
            return
        logger.info("daemonset %s: node %s of pod %s exists after all; checking again", key, node_name, pod_name)
        self.controller.queue.add_after(key, _ORPHAN_RECHECK_SECONDS)


def _placement_facts(node: JsonObject) -> tuple[Any, ...]:
    """What of a node decides placement: labels, spec (taints, unschedulable) and condition states."""
    conditions = sorted((str(c.get("type")), str(c.get("status")))
                        for c in meta.list_at(meta.status_of(node), "conditions") if isinstance(c, dict))
    return meta.labels_of(node), meta.spec_of(node), conditions
