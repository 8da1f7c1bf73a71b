"""Workers that drain a work queue into a reconcile function, and the wiring around them.

Every controller is the same loop (docs/architecture.md, "The controller pattern"): informers turn events into keys, a queue
holds the keys, workers call `reconcile(key)`. What differs is only how failures are
treated, and that is decided here once: success forgets the key's backoff, a Conflict
(a write raced another) is retried at once, any other error is logged and retried with
per-key backoff, and the key is always marked done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from minik8s.api.meta import key_of
from minik8s.client.errors import ApiError, Conflict
from minik8s.client.informer import Informer
from minik8s.client.workqueue import QueueShutDown, WorkQueue

logger = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[None]]


async def run_workers(queue: WorkQueue, reconcile: Reconcile, *, workers: int, name: str) -> None:
    """Run `workers` concurrent workers until the queue shuts down (or this is cancelled)."""
    if workers < 1:
        raise ValueError("need at least one worker")
    tasks = [
        asyncio.create_task(_work(queue, reconcile, name=name), name=f"{name}-worker-{index}")
        for index in range(workers)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _work(queue: WorkQueue, reconcile: Reconcile, *, name: str) -> None:
    while True:
        try:
            key = await queue.get()
        except QueueShutDown:
            return
        try:
            await reconcile(key)
        except Conflict as exc:
            logger.debug("%s: %s: conflict, retrying now: %s", name, key, exc)
            queue.add(key)
        except ApiError as exc:
            logger.warning("%s: %s: reconcile failed (%s %s): %s", name, key, exc.code, exc.reason, exc)
            queue.add_rate_limited(key)
        except Exception:
            logger.exception("%s: %s: reconcile failed", name, key)
            queue.add_rate_limited(key)
        else:
            queue.forget(key)
        finally:
            queue.done(key)


class Controller:
    """Informers → queue → workers: starts the informers, waits for their caches, then reconciles.

    Informers shared with other controllers are run by their owner: pass them in
    `informers` with `start_informers=False` and this only waits for them to sync.
    """

    def __init__(
        self,
        *,
        name: str,
        reconcile: Reconcile,
        informers: Sequence[Informer],
        workers: int = 1,
        queue: WorkQueue | None = None,
    ) -> None:
        self.name = name
        self.queue = queue or WorkQueue(name=name)
        self._reconcile = reconcile
        self._informers = list(informers)
        self._workers = workers

    def enqueue(self, obj: dict[str, Any]) -> None:
        """Queue the key of `obj`: usable directly as an on_add/on_delete handler."""
        self.queue.add(key_of(obj))

    def enqueue_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Queue the key of the new object: usable directly as an on_update handler."""
        self.queue.add(key_of(new))

    def enqueue_events_of(self, informer: Informer) -> None:
        """Queue the key of every object `informer` reports added, updated or deleted."""
        informer.add_handler(on_add=self.enqueue, on_update=self.enqueue_update, on_delete=self.enqueue)

    async def run(self, *, start_informers: bool = True) -> None:
        """Run until cancelled; the queue is shut down and owned informers stopped on exit."""
        informer_tasks = [
            asyncio.create_task(informer.run(), name=f"{self.name}-informer-{informer.kind.plural}")
            for informer in self._informers
        ] if start_informers else []
        try:
            for informer in self._informers:
                await informer.wait_synced()
            logger.info("%s: caches synced, starting %d workers", self.name, self._workers)
            await run_workers(self.queue, self._reconcile, workers=self._workers, name=self.name)
        finally:
            self.queue.shutdown()
            for task in informer_tasks:
                task.cancel()
            await asyncio.gather(*informer_tasks, return_exceptions=True)
