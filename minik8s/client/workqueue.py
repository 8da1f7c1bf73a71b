"""A rate-limited work queue of object keys, shaped like client-go's.

Event handlers only say "this key needs a look"; workers reconcile keys one at a time.
The queue makes that safe and cheap: a key waits in the queue at most once however many
events name it, a key being reconciled is never handed to a second worker (an add while
it is processed marks it dirty and it comes back when `done`), and failing keys come back
after a per-key exponential backoff instead of spinning.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

logger = logging.getLogger(__name__)


class QueueShutDown(Exception):
    """The queue was shut down: workers should return."""


class WorkQueue:
    """Deduplicating FIFO of keys with delayed and rate-limited adds (asyncio, one loop)."""

    def __init__(self, *, base_delay: float = 0.005, max_delay: float = 300.0, name: str = "") -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        self.name = name
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()  # keys waiting to be processed (queued, or re-queued on done)
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._delayed: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    # -- adding -------------------------------------------------------------------------------

    def add(self, key: str) -> None:
        """Queue `key` unless it is already waiting; if it is being processed, after `done`."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` after `delay` seconds; of several pending delays for a key the earliest wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        ready_at = loop.time() + delay
        pending = self._delayed.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        handle = loop.call_at(ready_at, self._add_delayed, key)
        self._delayed[key] = (ready_at, handle)

    def add_rate_limited(self, key: str) -> None:
        """Queue `key` after its backoff: base_delay doubled per failure since `forget`, capped."""
        self.add_after(key, self.when(key))

    def when(self, key: str) -> float:
        """Count one more failure of `key` and return the delay before its next try."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return min(self._base_delay * (2.0 ** min(failures, 64)), self._max_delay)

    def forget(self, key: str) -> None:
        """Stop tracking failures of `key`: its next backoff starts again from base_delay."""
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    # -- taking -------------------------------------------------------------------------------

    async def get(self) -> str:
        """The next key, waiting for one; the caller must call `done(key)` when finished."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(self.name)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._getters:
                    self._getters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass on the wake-up this getter will not use
                raise
        if self._shutting_down:
            raise QueueShutDown(self.name)
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: str) -> None:
        """Finish processing `key`; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wake_one()

    # -- state --------------------------------------------------------------------------------

    def len(self) -> int:
        """Keys waiting to be handed out (not those being processed or delayed)."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def shutdown(self) -> None:
        """Stop handing out keys: waiting and future `get` calls raise QueueShutDown."""
        self._shutting_down = True
        for _, handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _add_delayed(self, key: str) -> None:
        self._delayed.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
