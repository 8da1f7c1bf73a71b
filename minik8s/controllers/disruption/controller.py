"""The disruption controller: keeps every PodDisruptionBudget's status true to its pods, so evictions can trust it.

Budgets and pods come from the shared informers; a pod event queues the budgets that cover it. A
sync reads the budget's pods from the cache, finds the scale of their controllers when a percentage
or `maxUnavailable` needs it — a ReplicaSet's, or its Deployment's when a Deployment controls it,
from the caches; any other kind through its `scale` subresource, as Kubernetes' finders do (so a
StatefulSet counts too) — asks `plan.plan_status` what the status is, and writes it when it changed.
When the expected count cannot be known (a controller that is gone, a kind without `scale`), the
status is made safe instead: 0 disruptions allowed, DisruptionAllowed False/SyncFailed. A budget with
eviction records in `disruptedPods` is looked at again when the first record expires.

The same queue carries `stale-pod:<ns>/<name>` keys: a pod an eviction or a preemption marked
`DisruptionTarget=True` but nobody deleted gets the condition set to False after two minutes
(Kubernetes' stale pod disruption worker). Events: NoPods, UnmanagedPods, CalculateExpectedPodCountFailed
(on the budget), MultiplePodDisruptionBudgets and NotDeleted (on the pod).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from minik8s.api import meta
from minik8s.api.disruption_budget import covers_for_controller
from minik8s.api.kinds import DEPLOYMENTS, POD_DISRUPTION_BUDGETS, PODS, REPLICA_SETS
from minik8s.api.meta import JsonObject
from minik8s.api.registry import REGISTRY
from minik8s.api.selectors import label_selector_from_object
from minik8s.client.controller import Controller
from minik8s.client.errors import ApiError, NotFound, error_from_response
from minik8s.client.paths import object_path
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.disruption.plan import (
    ExpectedCountError,
    fail_safe_status,
    plan_status,
    scale_needs,
    stale_disruption_wait,
    without_stale_disruption,
)

log = logging.getLogger(__name__)

STALE_POD_PREFIX = "stale-pod:"
UNMANAGED_MESSAGE = ("Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. "
                     "As a result, the status of the PDB cannot be calculated correctly, which may result in "
                     "undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the "
                     "PDB to an integer value.")


class DisruptionController:
    name = "disruption"

    def __init__(self, context: ControllerContext, *, clock: Callable[[], datetime] = partial(datetime.now, UTC)
                 ) -> None:
        self.client, self.events, self.clock = context.client, context.events, clock
        self.budgets = context.informers.informer(POD_DISRUPTION_BUDGETS)
        self.pods = context.informers.informer(PODS)
        self.replica_sets = context.informers.informer(REPLICA_SETS)
        self.deployments = context.informers.informer(DEPLOYMENTS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, workers=context.options.workers,
                                     informers=[self.budgets, self.pods, self.replica_sets, self.deployments])
        self.budgets.add_handler(on_add=self._enqueue, on_update=lambda _old, new: self._enqueue(new),
                                 on_delete=self._enqueue)
        self.pods.add_handler(on_add=self._pod_changed, on_update=lambda _old, new: self._pod_changed(new),
                              on_delete=self._pod_changed)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- events to keys ---------------------------------------------------------------------------------

    def _enqueue(self, budget: Mapping[str, Any]) -> None:
        self.controller.queue.add(meta.key_of(budget))

    def covering(self, pod: Mapping[str, Any]) -> list[JsonObject]:
        namespace, labels = meta.namespace_of(pod), meta.labels_of(pod)
        return sorted((budget for budget in self.budgets.list()
                       if meta.namespace_of(budget) == namespace and covers_for_controller(budget, labels)),
                      key=meta.name_of)

    def _pod_changed(self, pod: JsonObject) -> None:
        for budget in self.covering(pod):
            self._enqueue(budget)
        wait = stale_disruption_wait(pod, self.clock())
        if wait is not None:
            self.controller.queue.add_after(STALE_POD_PREFIX + meta.key_of(pod), wait.total_seconds())

    # -- reconcile --------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        if key.startswith(STALE_POD_PREFIX):
            await self._clear_stale_disruption(key.removeprefix(STALE_POD_PREFIX))
            return
        budget = self.budgets.get(key)
        if budget is None:
            return
        namespace = meta.namespace_of(budget)
        pods = [pod for pod in self.pods.list() if meta.namespace_of(pod) == namespace
                and covers_for_controller(budget, meta.labels_of(pod))]
        if not pods:
            await self.events.record(budget, "Normal", "NoPods", "No matching pods found")
        await self._warn_multiple_budgets(pods)
        now = self.clock()
        try:
            scales = {uid: await self._scale_of(reference, namespace)
                      for uid, reference in scale_needs(budget, pods).references.items()}
            plan = plan_status(budget, pods, scales, now)
        except (ExpectedCountError, ApiError) as error:
            await self.events.record(budget, "Warning", "CalculateExpectedPodCountFailed",
                                     f"Failed to calculate the number of expected pods: {error}")
            log.warning("failed to sync pdb %s: %s", key, error)
            await self.client.update_status(POD_DISRUPTION_BUDGETS,
                                            {**budget, "status": fail_safe_status(budget, str(error), now)})
            return
        await self._report(budget, pods, plan.unmanaged, plan.not_deleted)
        if plan.changed:
            await self.client.update_status(POD_DISRUPTION_BUDGETS, {**budget, "status": plan.status})
        if plan.recheck_at is not None:
            self.controller.queue.add_after(key, max(0.0, (plan.recheck_at - now).total_seconds()))

    async def _report(self, budget: JsonObject, pods: list[JsonObject], unmanaged: tuple[str, ...],
                      not_deleted: tuple[str, ...]) -> None:
        if unmanaged:
            log.warning("found unmanaged pods associated with PDB %s: %s", meta.key_of(budget), list(unmanaged))
            selector = label_selector_from_object(meta.spec_of(budget).get("selector") or {})
            await self.events.record(budget, "Warning", "UnmanagedPods", UNMANAGED_MESSAGE.format(selector=selector))
        for pod in pods:
            if meta.name_of(pod) in not_deleted:
                await self.events.record(pod, "Warning", "NotDeleted", "Pod was expected by PDB "
                                         f"{meta.key_of(budget)} to be deleted but it wasn't")

    async def _warn_multiple_budgets(self, pods: list[JsonObject]) -> None:
        for pod in pods:
            covering = self.covering(pod)
            if len(covering) > 1:
                await self.events.record(pod, "Warning", "MultiplePodDisruptionBudgets",
                                         f'Pod "{meta.namespace_of(pod)}"/"{meta.name_of(pod)}" matches multiple '
                                         f'PodDisruptionBudgets.  Chose "{meta.name_of(covering[0])}" arbitrarily.')

    # -- the scale of a pod's controller ----------------------------------------------------------------

    async def _scale_of(self, reference: Mapping[str, Any], namespace: str) -> int | None:
        """The finders in Kubernetes' order: a ReplicaSet's Deployment, a ReplicaSet, any kind's scale subresource."""
        group = str(reference.get("apiVersion") or "").rpartition("/")[0]
        if reference.get("kind") == "ReplicaSet" and group in ("apps", "extensions"):
            replica_set = self.replica_sets.get(f"{namespace}/{reference.get('name')}")
            if replica_set is not None and meta.uid_of(replica_set) == reference.get("uid"):
                owner = meta.controller_ref_of(replica_set)
                if owner is None:
                    return _replicas(replica_set)
                deployment = self.deployments.get(f"{namespace}/{owner.get('name')}")
                if (owner.get("kind") == "Deployment" and deployment is not None
                        and meta.uid_of(deployment) == owner.get("uid")):
                    return _replicas(deployment)
        return await self._scale_subresource(reference, namespace)

    async def _scale_subresource(self, reference: Mapping[str, Any], namespace: str) -> int | None:
        """getScaleController: GET <kind>/<name>/scale; None when absent or another object of that name."""
        api_version, kind = str(reference.get("apiVersion") or ""), str(reference.get("kind") or "")
        resource = REGISTRY.by_kind(api_version, kind)
        if resource is None:
            raise ExpectedCountError(f'no matches for kind "{kind}" in version "{api_version}"')
        if "scale" not in resource.subresources:
            raise ExpectedCountError(f"{resource.group_resource} does not implement the scale subresource")
        path = object_path(resource, str(reference.get("name") or ""), namespace=namespace, subresource="scale")
        response = await self.client.request("GET", path)
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise error_from_response(response.status_code, response.content)
        scale = response.json()
        if meta.uid_of(scale) != reference.get("uid"):
            return None
        return _replicas(scale)

    # -- stale DisruptionTarget conditions --------------------------------------------------------------

    async def _clear_stale_disruption(self, pod_key: str) -> None:
        pod = self.pods.get(pod_key)
        if pod is None:
            return
        now = self.clock()
        wait = stale_disruption_wait(pod, now)
        if wait is None:
            return
        if wait.total_seconds() > 0:
            self.controller.queue.add_after(STALE_POD_PREFIX + pod_key, wait.total_seconds())
            return
        try:
            await self.client.update_status(PODS, without_stale_disruption(pod, now))
        except NotFound:
            return
        log.info("reset stale DisruptionTarget condition of pod %s to False", pod_key)


def _replicas(obj: Mapping[str, Any]) -> int:
    return meta.integer(meta.spec_of(obj).get("replicas"), default=1)
