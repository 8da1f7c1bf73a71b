"""The Deployment controller: rolls a Deployment's pod template out through ReplicaSets.

Event handlers map ReplicaSet events (and, for Recreate, pod deletions) to the owning
Deployment's key. `reconcile` reads the caches, claims ReplicaSets by selector and
controller reference, lets `plan.plan_deployment` decide the sync, and writes the plan: create
the new ReplicaSet, resize or re-annotate others, delete history past the limit, then one
/status write and the revision annotation. Every write carries the cached resourceVersion,
so a stale cache or a deposed leader gets a Conflict and the key is simply retried.
Kubernetes' pkg/controller/deployment is the reference.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import DEPLOYMENTS, PODS, REPLICA_SETS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, ApiError, NotFound
from minik8s.controllers.common import workload_objects
from minik8s.controllers.common.adoption import claim_dependents
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.errors import is_namespace_terminating
from minik8s.controllers.common.events import record_planned
from minik8s.controllers.deployment import status as conditions
from minik8s.controllers.deployment.plan import DeploymentPlan, plan_deployment
from minik8s.controllers.deployment.spec import RECREATE, read_spec
from minik8s.controllers.deployment.template import REVISION, equal_ignore_hash, template_of

log = logging.getLogger(__name__)


class DeploymentController:
    name = "deployment"

    def __init__(self, context: ControllerContext, *, clock: Callable[[], datetime] = partial(datetime.now, UTC)) -> None:
        self.client, self.events, self.clock = context.client, context.events, clock
        self.deployments = context.informers.informer(DEPLOYMENTS)
        self.replica_sets = context.informers.informer(REPLICA_SETS)
        self.pods = context.informers.informer(PODS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.deployments, self.replica_sets, self.pods],
                                     workers=context.options.workers)
        self.controller.enqueue_events_of(self.deployments)
        self.replica_sets.add_handler(on_add=self._replica_set_added, on_update=self._replica_set_updated,
                                      on_delete=self._replica_set_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- event handlers: events to keys ---------------------------------------------------------

    def _owner_of(self, obj: Mapping[str, Any]) -> JsonObject | None:
        return workload_objects.resolve_controller_ref(self.deployments, obj, kind="Deployment")

    def _enqueue(self, deployment: Mapping[str, Any]) -> None:
        self.controller.queue.add(meta.key_of(deployment))

    def _replica_set_added(self, replica_set: JsonObject) -> None:
        if meta.is_deleting(replica_set):
            self._replica_set_deleted(replica_set)
            return
        for deployment in workload_objects.owners_to_sync(self.deployments, replica_set, kind="Deployment"):
            self._enqueue(deployment)

    def _replica_set_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        for deployment in workload_objects.owners_to_sync_on_update(self.deployments, old, new, kind="Deployment"):
            self._enqueue(deployment)

    def _replica_set_deleted(self, replica_set: JsonObject) -> None:
        if (owner := self._owner_of(replica_set)) is not None:
            self._enqueue(owner)

    def _pod_deleted(self, pod: JsonObject) -> None:
        """A Recreate rollout waits for the old pods to be gone: look again when one goes."""
        replica_set = workload_objects.resolve_controller_ref(self.replica_sets, pod, kind="ReplicaSet")
        if replica_set is None:
            return
        deployment = self._owner_of(replica_set)
        strategy = meta.spec_of(deployment).get("strategy") if deployment is not None else None
        if deployment is not None and isinstance(strategy, Mapping) and strategy.get("type") == RECREATE:
            self._enqueue(deployment)

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        deployment = self.deployments.get(key)
        if deployment is None:
            return
        try:
            selector = workload_objects.selector_of(deployment)
            read_spec(deployment)
        except workload_objects.MalformedObject as error:
            await self._malformed(deployment, error)
            return
        namespace = meta.namespace_of(deployment)
        replica_sets: list[JsonObject] = []
        if not selector.is_empty():
            candidates = [rs for rs in self.replica_sets.list() if meta.namespace_of(rs) == namespace]
            replica_sets = await claim_dependents(self.client, deployment, selector, candidates,
                                                  owner_kind=DEPLOYMENTS, dependent_kind=REPLICA_SETS)
        owners = {meta.uid_of(rs) for rs in replica_sets}
        pods_by_owner: dict[str, list[JsonObject]] = {uid: [] for uid in owners}
        for pod in self.pods.list():
            reference = meta.controller_ref_of(pod)
            if (meta.namespace_of(pod) == namespace and reference is not None and reference.get("uid") in owners
                    and selector.matches(meta.labels_of(pod))):
                pods_by_owner[str(reference.get("uid"))].append(pod)
        try:
            plan = plan_deployment(deployment, replica_sets, pods_by_owner=pods_by_owner, now=self.clock())
        except workload_objects.MalformedObject as error:
            await self._malformed(deployment, error)
            return
        await self._execute(deployment, plan)

    async def _malformed(self, deployment: JsonObject, error: workload_objects.MalformedObject) -> None:
        log.warning("deployment %s: %s", meta.key_of(deployment), error)
        await self.events.record(deployment, "Warning", "InvalidDeployment", str(error))

    # -- carrying out a plan ------------------------------------------------------------------

    async def _execute(self, deployment: JsonObject, plan: DeploymentPlan) -> None:
        if plan.create is not None and not await self._create_replica_set(deployment, plan):
            return
        for state in plan.updates:
            body = copy.deepcopy(state.obj)
            body["spec"]["replicas"] = state.replicas
            body["spec"]["minReadySeconds"] = state.min_ready_seconds
            body["metadata"]["annotations"] = dict(state.annotations)
            await self.client.update(REPLICA_SETS, body)
        for replica_set in plan.deletes:
            try:
                await self.client.delete(REPLICA_SETS, meta.name_of(replica_set), namespace=meta.namespace_of(replica_set),
                                         preconditions_uid=meta.uid_of(replica_set) or None)
            except NotFound:
                continue
        resource_version = meta.resource_version_of(deployment)
        if plan.status is not None:
            written = await self.client.update_status(DEPLOYMENTS, {**copy.deepcopy(deployment), "status": plan.status})
            resource_version = meta.resource_version_of(written)
        if plan.revision is not None:
            patch = {"metadata": {"annotations": {REVISION: plan.revision}, "resourceVersion": resource_version}}
            await self.client.patch(DEPLOYMENTS, meta.name_of(deployment), patch, namespace=meta.namespace_of(deployment))
        await record_planned(self.events, deployment, plan.events)
        if plan.requeue_after is not None:
            self.controller.queue.add_after(meta.key_of(deployment), plan.requeue_after)

    async def _create_replica_set(self, deployment: JsonObject, plan: DeploymentPlan) -> bool:
        """POST the new ReplicaSet; False when the rest of the plan must wait for another sync."""
        body = plan.replica_set_body()
        assert body is not None
        namespace = meta.namespace_of(deployment)
        try:
            await self.client.create(REPLICA_SETS, body, namespace=namespace)
            return True
        except AlreadyExists:
            await self._on_name_taken(deployment, meta.name_of(body))
            return False
        except ApiError as error:
            if is_namespace_terminating(error):
                return False
            await self._on_create_failed(deployment, meta.name_of(body), error)
            raise

    async def _on_name_taken(self, deployment: JsonObject, name: str) -> None:
        """Ours and not yet in the cache: wait for it. Someone else's template: a hash collision."""
        existing = await self.client.get(REPLICA_SETS, name, namespace=meta.namespace_of(deployment))
        if workload_objects.is_controlled_by(existing, deployment) and equal_ignore_hash(template_of(existing), template_of(deployment)):
            self.controller.queue.add_after(meta.key_of(deployment), 1.0)
            return
        status = copy.deepcopy(dict(meta.status_of(deployment)))
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        log.info("deployment %s: hash collision on %s, collisionCount now %d", meta.key_of(deployment), name,
                 status["collisionCount"])
        await self.client.update_status(DEPLOYMENTS, {**copy.deepcopy(deployment), "status": status})

    async def _on_create_failed(self, deployment: JsonObject, name: str, error: ApiError) -> None:
        message = f'Failed to create new replica set "{name}": {error}'
        if read_spec(deployment).has_progress_deadline:
            status = copy.deepcopy(dict(meta.status_of(deployment)))
            conditions.set_condition(status, conditions.new_condition(
                conditions.PROGRESSING, "False", conditions.FAILED_RS_CREATE, message, now=self.clock()))
            try:
                await self.client.update_status(DEPLOYMENTS, {**copy.deepcopy(deployment), "status": status})
            except ApiError as status_error:
                log.debug("deployment %s: could not report the failed create: %s", meta.key_of(deployment), status_error)
        await self.events.record(deployment, "Warning", conditions.FAILED_RS_CREATE, message)
