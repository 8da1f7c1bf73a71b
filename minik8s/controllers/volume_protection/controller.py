"""The pvc-protection and pv-protection controllers: a claim or volume in use is not removed.

Each keeps its finalizer on objects in use and removes it once the object being deleted is unused
(`plan.finalizers_after`), with a merge patch guarded by the resourceVersion it read. A claim is
queued when it changes and when a pod naming it changes or goes; before it is let go, the pods of its
namespace are listed live, as Kubernetes' askAPIServer does: the cache may not show a pod created a
moment ago. A volume is queued when it changes (a Released volume is no longer in use).
"""

from __future__ import annotations

import logging

from minik8s.api.kinds import PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS
from minik8s.api.meta import JsonObject, is_deleting, name_of, namespace_of, resource_version_of
from minik8s.api.persistent_volumes import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER, claim_names
from minik8s.api.registry import ResourceKind
from minik8s.client.api import ApiClient
from minik8s.client.controller import Controller
from minik8s.client.errors import NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.volume_protection.plan import claim_in_use, finalizers_after, volume_in_use

log = logging.getLogger(__name__)


async def write_finalizers(client: ApiClient, kind: ResourceKind, obj: JsonObject, finalizers: list[str]) -> None:
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version_of(obj)}}
    try:
        await client.patch(kind, name_of(obj), patch, namespace=namespace_of(obj) or None, patch_type="merge")
    except NotFound:
        return
    log.info("%s %s/%s: finalizers %s", kind.singular, namespace_of(obj), name_of(obj), finalizers)


class ClaimProtectionController:
    name = "pvc-protection"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.claims = context.informers.informer(PERSISTENT_VOLUME_CLAIMS)
        self.pods = context.informers.informer(PODS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.claims, self.pods],
                                     workers=context.options.workers)
        self.claims.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)
        self.pods.add_handler(on_update=lambda _, pod: self._pod_changed(pod), on_delete=self._pod_changed)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _pod_changed(self, pod: JsonObject) -> None:
        for claim in claim_names(pod):
            self.controller.queue.add(f"{namespace_of(pod)}/{claim}")

    async def reconcile(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        in_use = claim_in_use(claim, self.pods.list())
        if is_deleting(claim) and not in_use:  # the cache may lag: ask the apiserver before letting go
            listing = await self.client.list(PODS, namespace=namespace_of(claim))
            in_use = claim_in_use(claim, listing.get("items") or [])
        finalizers = finalizers_after(claim, PVC_PROTECTION_FINALIZER, in_use=in_use)
        if finalizers is not None:
            await write_finalizers(self.client, PERSISTENT_VOLUME_CLAIMS, claim, finalizers)


class VolumeProtectionController:
    name = "pv-protection"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.volumes = context.informers.informer(PERSISTENT_VOLUMES)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.volumes],
                                     workers=context.options.workers)
        self.volumes.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    async def reconcile(self, key: str) -> None:
        volume = self.volumes.get(key)
        if volume is None:
            return
        finalizers = finalizers_after(volume, PV_PROTECTION_FINALIZER, in_use=volume_in_use(volume))
        if finalizers is not None:
            await write_finalizers(self.client, PERSISTENT_VOLUMES, volume, finalizers)
