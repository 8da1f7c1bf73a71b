"""The scheduling queue: which unscheduled pod to look at next, and which to leave waiting.

Shaped like kube-scheduler's: an *active* queue ordered by priority then arrival; pods that
fit nowhere *parked* as unschedulable until something changes in the cluster (a node added
or changed, a pod gone) or a periodic flush; and a per-pod *backoff* (1 s doubling to 10 s
after each failed attempt), so that a burst of cluster events, or an API error, cannot turn
one hopeless pod into a busy loop. A key is in at most one of the three places at a time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

ACTIVE, BACKOFF, UNSCHEDULABLE = "active", "backoff", "unschedulable"


class SchedulingQueue:
    """Keys (`namespace/name`) of pods waiting to be scheduled. One asyncio loop; not thread-safe."""

    def __init__(self, *, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < initial_backoff <= max_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._heap: list[tuple[int, int, str]] = []
        self._sequence = itertools.count()
        self._active: dict[str, int] = {}  # key → sequence number of its live heap entry
        self._priorities: dict[str, int] = {}
        self._parked: dict[str, float] = {}  # key → when it was parked
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._attempts: dict[str, int] = {}
        self._last_failure: dict[str, float] = {}
        self._wakeup = asyncio.Event()

    # -- where things are -------------------------------------------------------------------------

    def where(self, key: str) -> str | None:
        if key in self._active:
            return ACTIVE
        if key in self._timers:
            return BACKOFF
        if key in self._parked:
            return UNSCHEDULABLE
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.where(key) is not None

    def __len__(self) -> int:
        return len(self._active) + len(self._timers) + len(self._parked)

    @property
    def unschedulable_keys(self) -> list[str]:
        return list(self._parked)

    # -- moving keys ------------------------------------------------------------------------------

    def add(self, key: str, priority: int = 0) -> None:
        """Queue `key` to be scheduled now (a new pod, or one whose spec changed)."""
        self._priorities[key] = priority
        if key in self._active:
            return
        self._take_out(key)
        self._activate(key)

    def park(self, key: str, priority: int = 0) -> None:
        """The pod fits nowhere: wait for a cluster change (its attempt counts toward its backoff)."""
        self._take_out(key)
        self._priorities[key] = priority
        self._record_failure(key)
        self._parked[key] = self._clock()

    def retry_later(self, key: str, priority: int = 0) -> None:
        """An attempt failed for another reason (an API error): retry after the pod's backoff."""
        self._take_out(key)
        self._priorities[key] = priority
        self._record_failure(key)
        self._activate_after_backoff(key)

    def delete(self, key: str) -> None:
        """The pod is gone, bound, or not ours any more."""
        self._take_out(key)
        self._priorities.pop(key, None)
        self._attempts.pop(key, None)
        self._last_failure.pop(key, None)

    def move_to_active(self, wanted: Callable[[str], bool] | None = None) -> int:
        """A cluster change may let parked pods fit: retry them (each after what remains of its backoff)."""
        moving = [key for key in self._parked if wanted is None or wanted(key)]
        for key in moving:
            del self._parked[key]
            self._activate_after_backoff(key)
        return len(moving)

    def flush_parked(self, *, older_than: float) -> int:
        """Retry pods parked at least `older_than` seconds ago, whatever happened meanwhile."""
        cutoff = self._clock() - older_than
        return self.move_to_active(lambda key: self._parked[key] <= cutoff)

    async def pop(self) -> str:
        """The next key to schedule: highest priority first, then first come; waits while there is none."""
        while True:
            while self._heap:
                _, sequence, key = heapq.heappop(self._heap)
                if self._active.get(key) == sequence:
                    del self._active[key]
                    return key
            self._wakeup.clear()
            await self._wakeup.wait()

    # -- internals --------------------------------------------------------------------------------

    def backoff_of(self, key: str) -> float:
        attempts = self._attempts.get(key, 0)
        if attempts == 0:
            return 0.0
        return float(min(self._initial_backoff * 2 ** min(attempts - 1, 32), self._max_backoff))

    def _record_failure(self, key: str) -> None:
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._last_failure[key] = self._clock()

    def _activate_after_backoff(self, key: str) -> None:
        remaining = self._last_failure.get(key, 0.0) + self.backoff_of(key) - self._clock()
        if remaining <= 0:
            self._activate(key)
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(remaining, self._backoff_done, key)

    def _backoff_done(self, key: str) -> None:
        if self._timers.pop(key, None) is not None:
            self._activate(key)

    def _activate(self, key: str) -> None:
        sequence = next(self._sequence)
        self._active[key] = sequence
        heapq.heappush(self._heap, (-self._priorities.get(key, 0), sequence, key))
        self._wakeup.set()

    def _take_out(self, key: str) -> None:
        self._active.pop(key, None)
        self._parked.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
