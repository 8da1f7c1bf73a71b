"""The ResourceQuota controller: keep each quota's `status.hard` and `status.used` true to its namespace.

Admission charges a quota when it lets an object in (apiserver/admission_quota.py); only this
controller gives usage back, and only it fills a new quota's status (until then admission refuses
what the quota bounds: `status unknown for quota`). As Kubernetes' ResourceQuotaController does, a
quota is synced when it is added or its spec changes, when something it may count leaves its
namespace (a delete; a pod that finished or ran out its deletion grace; a Service whose type or ports
changed), and every `--resource-quota-sync-period` (5 min) for whatever else moved.

A sync reads the quota fresh, then lists what it counts fresh — never from a cache, which may not yet
show a pod admitted a moment ago and would hand its charge back — and writes the status guarded by
the quota's resourceVersion: a charge admission made in between makes the write a Conflict, and the
sync runs again on the new count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from minik8s.api.kinds import PODS, RESOURCE_QUOTAS, SERVICES
from minik8s.api.meta import JsonObject, key_of, namespace_of, spec_of
from minik8s.api.quota_usage import counts_against_quota
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.controller import Controller
from minik8s.client.errors import NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.resourcequota.plan import desired_status, kinds_to_count, status_changed

log = logging.getLogger(__name__)

COUNTED_KINDS: tuple[ResourceKind, ...] = tuple(kind for kind in REGISTRY.kinds if kind.namespaced)


class ResourceQuotaController:
    name = "resourcequota"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.sync_period = context.options.resource_quota_sync_period
        self.quotas = context.informers.informer(RESOURCE_QUOTAS)
        counted = {kind.group_resource: context.informers.informer(kind) for kind in COUNTED_KINDS}
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.quotas, *counted.values()], workers=context.options.workers)
        self.quotas.add_handler(on_add=self.controller.enqueue, on_update=self._quota_updated)
        for informer in counted.values():
            informer.add_handler(on_delete=self._replenish)
        counted[PODS.group_resource].add_handler(on_update=self._pod_updated)
        counted[SERVICES.group_resource].add_handler(on_update=self._service_updated)

    async def run(self) -> None:
        resync = asyncio.create_task(self._resync_forever())
        try:
            await self.controller.run(start_informers=False)
        finally:
            resync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resync

    # -- event handlers: which quotas to sync ------------------------------------------------------

    def _quota_updated(self, old: JsonObject, new: JsonObject) -> None:
        """A spec change (or a status that lost its counts) needs a sync; the controller's own writes do not."""
        status = new.get("status")
        if spec_of(old) != spec_of(new) or not isinstance(status, dict) or "used" not in status:
            self.controller.enqueue(new)

    def _replenish(self, obj: JsonObject) -> None:
        """Something left a namespace: every quota there may have room again."""
        namespace = namespace_of(obj)
        for quota in self.quotas.list():
            if namespace_of(quota) == namespace:
                self.controller.enqueue(quota)

    def _pod_updated(self, old: JsonObject, new: JsonObject) -> None:
        now = datetime.now(UTC)
        if counts_against_quota(old, now) and not counts_against_quota(new, now):
            self._replenish(new)

    def _service_updated(self, old: JsonObject, new: JsonObject) -> None:
        before, after = spec_of(old), spec_of(new)
        if before.get("type") != after.get("type") or before.get("ports") != after.get("ports"):
            self._replenish(new)

    async def _resync_forever(self) -> None:
        await self.quotas.wait_synced()
        while True:
            await asyncio.sleep(self.sync_period)
            for quota in self.quotas.list():
                self.controller.queue.add(key_of(quota))

    # -- reconcile ---------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        try:
            quota = await self.client.get(RESOURCE_QUOTAS, name, namespace=namespace)  # read before the lists
        except NotFound:
            return
        objects = {}
        for kind in kinds_to_count(quota, COUNTED_KINDS):
            listing = await self.client.list(kind, namespace=namespace)
            objects[(kind.plural, kind.group)] = listing.get("items") or []
        status = desired_status(quota, objects, datetime.now(UTC))
        if not status_changed(quota, status):
            return
        try:
            await self.client.update_status(RESOURCE_QUOTAS, {**quota, "status": status})  # guarded by its version
        except NotFound:
            return
        log.info("resourcequota: %s used %s", key, status["used"])

