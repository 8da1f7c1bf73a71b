"""The PersistentVolume binder: claims and volumes, bound to each other and kept in their phases.

Kubernetes' PersistentVolumeController (persistentvolume-binder): two work queues, one of claims and
one of volumes, fed by their informers and by a periodic resync (`--pvclaimbinder-sync-period`,
15 s); each sync reads the caches, lets `plan.sync_claim` / `plan.sync_volume` decide, and writes the
steps in order, each on the object the previous write returned (so each is guarded by the
resourceVersion it read; a Conflict retries the sync). A deleted claim queues its volume (to release
it), a deleted volume its claim (to mark it Lost). As upstream, before releasing a volume whose claim
is not in the cache, or carries another uid, the claim is read from the apiserver: a provisioned
volume may be seen before its claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from minik8s.api.kinds import PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES
from minik8s.api.meta import JsonObject, name_of, namespace_of, spec_of, status_of, uid_of
from minik8s.api.persistent_volumes import ANN_BOUND_BY_CONTROLLER, claim_names, claim_ref, provisioned_by
from minik8s.client.controller import Controller
from minik8s.client.errors import NotFound
from minik8s.client.events import EventRecorder
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.persistentvolume.plan import ClaimView, Plan, sync_claim, sync_volume
from minik8s.controllers.persistentvolume.steps import CLAIM, STATUS, VOLUME, EnqueueClaim, Event

log = logging.getLogger(__name__)
TERMINATED = ("Succeeded", "Failed")


class PersistentVolumeBinder:
    name = "persistentvolume-binder"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.events = EventRecorder(context.client, component="persistentvolume-controller")
        self.resync_seconds = context.options.pvclaimbinder_sync_period
        self.claims = context.informers.informer(PERSISTENT_VOLUME_CLAIMS)
        self.volumes = context.informers.informer(PERSISTENT_VOLUMES)
        self.classes = context.informers.informer(STORAGE_CLASSES)
        self.pods = context.informers.informer(PODS)
        informers = [self.claims, self.volumes, self.classes, self.pods]
        workers = context.options.workers
        self.claim_sync = Controller(name=f"{self.name}-claims", reconcile=self.sync_claim, informers=informers,
                                     workers=workers)
        self.volume_sync = Controller(name=f"{self.name}-volumes", reconcile=self.sync_volume, informers=informers,
                                      workers=workers)
        self.claims.add_handler(on_add=self.claim_sync.enqueue, on_update=self.claim_sync.enqueue_update,
                                on_delete=self._claim_deleted)
        self.volumes.add_handler(on_add=self.volume_sync.enqueue, on_update=self.volume_sync.enqueue_update,
                                 on_delete=self._volume_deleted)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.claim_sync.run(start_informers=False))
            tasks.create_task(self.volume_sync.run(start_informers=False))
            tasks.create_task(self._resync_forever())

    def _claim_deleted(self, claim: JsonObject) -> None:
        self.claim_sync.enqueue(claim)
        volume = str(spec_of(claim).get("volumeName") or "")
        if volume:
            self.volume_sync.queue.add(volume)

    def _volume_deleted(self, volume: JsonObject) -> None:
        ref = claim_ref(volume)
        if ref is not None and ref.get("name"):
            self.claim_sync.queue.add(f"{ref.get('namespace') or ''}/{ref['name']}")

    async def _resync_forever(self) -> None:
        await self.claims.wait_synced()
        await self.volumes.wait_synced()
        while True:
            await asyncio.sleep(self.resync_seconds)
            for claim in self.claims.list():
                self.claim_sync.enqueue(claim)
            for volume in self.volumes.list():
                self.volume_sync.enqueue(volume)

    # -- syncs -------------------------------------------------------------------------------------

    def _unscheduled_pods(self, namespace: str, claim: str) -> list[str]:
        return [name_of(pod) for pod in self.pods.list()
                if namespace_of(pod) == namespace and not spec_of(pod).get("nodeName")
                and status_of(pod).get("phase") not in TERMINATED and claim in claim_names(pod)]

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        namespace, _, name = key.partition("/")
        classes = {name_of(storage_class): storage_class for storage_class in self.classes.list()}
        view = ClaimView(claim, self.volumes.list(), classes, self._unscheduled_pods(namespace, name))
        await self._carry_out(sync_claim(view), claim)

    async def sync_volume(self, key: str) -> None:
        volume = self.volumes.get(key)
        if volume is None:
            return
        claim = await self._claim_of(volume)
        await self._carry_out(sync_volume(volume, claim), claim)

    async def _claim_of(self, volume: JsonObject) -> JsonObject | None:
        """The claim the volume's claimRef names; read from the apiserver when the cache may be behind."""
        ref = claim_ref(volume)
        if ref is None or not ref.get("uid"):
            return None
        namespace, name = str(ref.get("namespace") or ""), str(ref.get("name") or "")
        claim = self.claims.get(f"{namespace}/{name}")
        cached_may_lag = claim is None and (provisioned_by(volume) or ANN_BOUND_BY_CONTROLLER in (
            (volume.get("metadata") or {}).get("annotations") or {}))
        if cached_may_lag or (claim is not None and uid_of(claim) != ref.get("uid")):
            with contextlib.suppress(NotFound):
                return await self.client.get(PERSISTENT_VOLUME_CLAIMS, name, namespace=namespace)
            return None
        return claim

    async def _carry_out(self, plan: Plan, claim: JsonObject | None) -> None:
        current: dict[str, JsonObject | None] = {VOLUME: plan.volume, CLAIM: claim}
        for step in plan.steps:
            if isinstance(step, EnqueueClaim):
                self.claim_sync.queue.add(step.key)
                continue
            target = current[step.target]
            if target is None:
                continue
            if isinstance(step, Event):
                await self.events.record(target, step.type, step.reason, step.message)
                continue
            edited = step.apply(target)
            if edited is None:
                continue
            kind = PERSISTENT_VOLUMES if step.target == VOLUME else PERSISTENT_VOLUME_CLAIMS
            try:
                write = self.client.update_status if step.part == STATUS else self.client.update
                current[step.target] = await write(kind, edited)
            except NotFound:
                return  # deleted meanwhile: its deletion queued what needs another look
            log.info("%s: %s %s: %s", self.name, step.target, name_of(edited), type(step).__name__)
