"""The per-replica watch hub: bounded history plus subscribers, on the event loop.

Raft applies changes on its own thread; the store hands each batch of events to the loop
(`call_soon_threadsafe`), and everything here runs on the loop thread, so replay-then-follow
needs no lock and nothing is lost or delivered twice. A subscriber that falls too far behind is
cut off with `WatchExpired` (the apiserver answers 410 and the client re-lists) instead of
being allowed to hold memory or block anyone.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable

from minik8s.store.state import StoreEvent

log = logging.getLogger(__name__)

DEFAULT_HISTORY = 10_000
DEFAULT_SUBSCRIBER_BUFFER = 10_000


class WatchExpired(Exception):
    """The requested revision is no longer in the history (or the watcher fell behind)."""


class Subscription:
    """One watcher: events under `prefix` with revision > `after_revision`, in order."""

    def __init__(self, hub: WatchHub, prefix: str, after_revision: int, buffer: int) -> None:
        self._hub = hub
        self.prefix = prefix
        self.after_revision = after_revision
        self._queue: asyncio.Queue[StoreEvent | None] = asyncio.Queue(maxsize=buffer)
        self.expired = False

    def _offer(self, event: StoreEvent) -> None:
        if self.expired or event.revision <= self.after_revision or not event.key.startswith(self.prefix):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._expire()

    def _expire(self) -> None:
        if self.expired:
            return
        self.expired = True
        # Make room for the wake-up sentinel: the consumer learns it was cut off.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout: float | None = None) -> StoreEvent | None:
        """The next event; None on timeout. Raises WatchExpired when cut off."""
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout) if timeout else await self._queue.get()
        except TimeoutError:
            return None
        if event is None:
            raise WatchExpired()
        return event

    def drain(self) -> list[StoreEvent]:
        """Events already queued, without waiting."""
        events: list[StoreEvent] = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                raise WatchExpired()
            events.append(event)
        return events

    def close(self) -> None:
        self._hub.unsubscribe(self)


class WatchHub:
    def __init__(
        self,
        *,
        current_revision: Callable[[], int],
        history: int = DEFAULT_HISTORY,
        subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
    ) -> None:
        self._current_revision = current_revision
        self._history: collections.deque[StoreEvent] = collections.deque()
        self._limit = history
        self._subscriber_buffer = subscriber_buffer
        self._subscribers: set[Subscription] = set()
        self.latest_revision = 0

    def publish(self, events: list[StoreEvent]) -> None:
        """Called on the loop thread with the events of one applied command."""
        for event in events:
            self._history.append(event)
            self.latest_revision = event.revision
        self._trim()
        for subscriber in list(self._subscribers):
            for event in events:
                subscriber._offer(event)

    def _trim(self) -> None:
        # Trim whole revisions only, so the history is complete from its first revision on.
        while len(self._history) > self._limit:
            dropped = self._history.popleft().revision
            while self._history and self._history[0].revision == dropped:
                self._history.popleft()

    def reset(self) -> None:
        """The replica's state was replaced wholesale (snapshot install): history is void."""
        self._history.clear()
        for subscriber in list(self._subscribers):
            subscriber._expire()
        self._subscribers.clear()

    def oldest_available(self) -> int:
        """The smallest revision R from which a watch can still start (events after R complete)."""
        if self._history:
            return self._history[0].revision - 1
        return max(self._current_revision(), self.latest_revision)

    def subscribe(self, prefix: str, after_revision: int) -> Subscription:
        """Replay history after `after_revision`, then follow. Raises WatchExpired if too old."""
        if after_revision < self.oldest_available():
            raise WatchExpired()
        subscription = Subscription(self, prefix, after_revision, self._subscriber_buffer)
        for event in self._history:
            if event.revision > after_revision:
                subscription._offer(event)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
