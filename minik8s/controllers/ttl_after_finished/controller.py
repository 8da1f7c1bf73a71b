"""The TTL-after-finished controller: deletes a finished Job once its ttlSecondsAfterFinished has passed.

As Kubernetes' ttlafterfinished controller: a Job is queued when it finishes with a TTL (or gets one),
requeued for when it expires, then read fresh from the apiserver — the TTL may have been changed or
removed since the cache saw it — and deleted in the Foreground (its pods first) on the condition
that it is still the same Job (uid precondition).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import JOBS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import Conflict, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.ttl_after_finished.plan import needs_cleanup, seconds_left

log = logging.getLogger(__name__)


class TtlAfterFinishedController:
    name = "ttl-after-finished"

    def __init__(self, context: ControllerContext, *,
                 clock: Callable[[], datetime] = partial(datetime.now, UTC)) -> None:
        self.client, self.clock = context.client, clock
        self.jobs = context.informers.informer(JOBS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.jobs],
                                     workers=context.options.workers)
        self.jobs.add_handler(on_add=self._maybe_enqueue, on_update=lambda _old, new: self._maybe_enqueue(new))

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _maybe_enqueue(self, job: Mapping[str, Any]) -> None:
        if not meta.is_deleting(job) and needs_cleanup(job):
            self.controller.queue.add(meta.key_of(job))

    async def reconcile(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None or meta.is_deleting(job) or not needs_cleanup(job):
            return
        if not self._expired(key, job):
            return
        try:
            fresh: JsonObject = await self.client.get(JOBS, meta.name_of(job), namespace=meta.namespace_of(job))
        except NotFound:
            return
        if meta.is_deleting(fresh) or not needs_cleanup(fresh) or not self._expired(key, fresh):
            return
        log.info("cleaning up job %s: its ttlSecondsAfterFinished has passed", key)
        try:
            await self.client.delete(JOBS, meta.name_of(fresh), namespace=meta.namespace_of(fresh),
                                     propagation_policy="Foreground", preconditions_uid=meta.uid_of(fresh))
        except (NotFound, Conflict):
            return  # gone, or replaced by another Job of that name

    def _expired(self, key: str, job: Mapping[str, Any]) -> bool:
        """True when expired; otherwise the key is requeued for when it will be."""
        left = seconds_left(job, self.clock())
        if left is None:
            return False
        if left > 0:
            self.controller.queue.add_after(key, left)
            return False
        return True
