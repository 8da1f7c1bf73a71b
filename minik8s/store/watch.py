"""The per-replica watch hub: bounded history plus subscribers, on the event loop.

Raft applies changes on its own thread; the store hands each batch of events to the loop
(`call_soon_threadsafe`), and everything here runs on the loop thread, so replay-then-follow
needs no lock and nothing is lost or delivered twice. A subscriber that falls too far behind is
cut off with `WatchExpired` (the apiserver answers 410 and the client re-lists) instead of
being allowed to hold memory or block anyone.

Memory is bounded in bytes as well as in events: an event keeps its key, new and previous value
alive, so 400 writes of a 900 KB object held 2 GB under a bound of 10,000 events. The history
drops its oldest revisions once it holds more than `history_bytes` (always keeping the newest
revision), and a subscriber whose backlog reaches back past what the history still keeps is cut
off, so a stalled watcher never pins events the history has let go.

Each woken watcher writes to its socket, about 70 µs on the loop; a thousand of them woken at once
held every other request (the next write among them) for 70 ms. An event is queued to every
watcher at once (so order is kept), but watchers are woken `FAN_OUT_SLICE` per loop iteration, so
the loop serves other sockets in between; a watcher woken late sends all it has queued in one go.

Where a watch may start is decided from what the hub has been handed, never from the state's revision:
the state runs ahead of the hub by the events still on their way to the loop, and those will be
published. A watch may start just before the oldest event of the history, or, with an empty history,
at the hub's floor (the revision of a state installed wholesale, after which history restarts; 0 at
first) or the last revision published, whichever is higher. Asking the state instead refused a watch
starting at the revision a list had just read whenever the Raft thread applied a write in between.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from minik8s.store.state import StoreEvent

log = logging.getLogger(__name__)

DEFAULT_HISTORY = 10_000
DEFAULT_HISTORY_BYTES = 256 * 1024 * 1024
DEFAULT_SUBSCRIBER_BUFFER = 10_000
FAN_OUT_SLICE = 64  # watchers woken per event-loop iteration


class WatchExpired(Exception):
    """The requested revision is no longer in the history (or the watcher fell behind)."""


def event_bytes(event: StoreEvent) -> int:
    """The memory an event holds on to: its key and both values."""
    return len(event.key) + len(event.value) + (len(event.prev_value) if event.prev_value is not None else 0)


class Subscription:
    """One watcher: events under `prefix` with revision > `after_revision`, in order."""

    def __init__(self, hub: WatchHub, prefix: str, after_revision: int, buffer: int) -> None:
        self._hub = hub
        self.prefix = prefix
        self.after_revision = after_revision
        self._buffer = buffer
        self._pending: collections.deque[StoreEvent] = collections.deque()
        self.pending_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self.expired = False

    def _offer(self, event: StoreEvent, *, wake: bool = True) -> bool:
        """Queue the event if this watcher wants it; True when queued (woken too, unless told not to)."""
        if self.expired or event.revision <= self.after_revision or not event.key.startswith(self.prefix):
            return False
        if len(self._pending) >= self._buffer:
            self._expire()
            return False
        self._pending.append(event)
        self.pending_bytes += event_bytes(event)
        if wake:
            self._wake()
        return True

    def _lags_behind(self, oldest_kept_revision: int) -> bool:
        """True when the oldest event this watcher has yet to read has left the history."""
        return bool(self._pending) and self._pending[0].revision < oldest_kept_revision

    def _expire(self) -> None:
        """Cut off: drop the backlog (the consumer learns it was cut off) and leave the hub."""
        if self.expired:
            return
        self.expired = True
        self._pending.clear()
        self.pending_bytes = 0
        self._wake()
        self._hub.unsubscribe(self)

    def _wake(self) -> None:
        if self._waiter is not None:
            _settle(self._waiter)

    def _pop(self) -> StoreEvent:
        event = self._pending.popleft()
        self.pending_bytes -= event_bytes(event)
        return event

    async def next(self, timeout: float | None = None) -> StoreEvent | None:
        """The next event; None on timeout. Raises WatchExpired when cut off.

        A plain future and one timer (not `asyncio.wait_for`, which costs several objects and
        callbacks a call): a thousand watchers each wait once per event."""
        if not self._pending and not self.expired:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout, _settle, waiter) if timeout is not None else None
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        if self.expired:
            raise WatchExpired()
        return self._pop() if self._pending else None

    def drain(self, max_bytes: int | None = None) -> list[StoreEvent]:
        """Events already queued, without waiting; with `max_bytes`, stop once that much is taken."""
        if self.expired:
            raise WatchExpired()
        events: list[StoreEvent] = []
        taken = 0
        while self._pending and (max_bytes is None or taken < max_bytes):
            event = self._pop()
            taken += event_bytes(event)
            events.append(event)
        return events

    def close(self) -> None:
        self._hub.unsubscribe(self)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class WatchHub:
    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
    ) -> None:
        self._history: collections.deque[StoreEvent] = collections.deque()
        self._limit = history
        self._limit_bytes = history_bytes
        self._bytes = 0
        self._subscriber_buffer = subscriber_buffer
        self._subscribers: set[Subscription] = set()
        self._to_wake: collections.OrderedDict[Subscription, None] = collections.OrderedDict()
        self._waking = False
        self.latest_revision = 0
        self._floor = 0  # no event at or below it is ever published again (reset)

    def publish(self, events: list[StoreEvent]) -> None:
        """Called on the loop thread with the events of one applied command."""
        for event in events:
            self._history.append(event)
            self._bytes += event_bytes(event)
            self.latest_revision = event.revision
        self._trim()
        oldest_kept = self._history[0].revision
        for subscriber in list(self._subscribers):
            if subscriber._lags_behind(oldest_kept):
                subscriber._expire()
                continue
            queued = [subscriber._offer(event, wake=False) for event in events]
            if any(queued):
                self._to_wake[subscriber] = None
        if not self._waking:
            self._wake_slice()

    def _wake_slice(self) -> None:
        """Wake the next `FAN_OUT_SLICE` watchers with news; the rest after the loop served other sockets."""
        for _ in range(min(FAN_OUT_SLICE, len(self._to_wake))):
            self._to_wake.popitem(last=False)[0]._wake()
        self._waking = bool(self._to_wake) and _loop_running()
        if self._waking:
            asyncio.get_running_loop().call_soon(self._wake_slice)
        else:
            for subscriber in self._to_wake:  # no loop to come back on (a test's plain call): all at once
                subscriber._wake()
            self._to_wake.clear()

    def _trim(self) -> None:
        # Trim whole revisions only, so the history is complete from its first revision on; the
        # newest revision stays even when it alone is larger than the byte bound.
        while (len(self._history) > self._limit or self._bytes > self._limit_bytes) \
                and self._history[0].revision != self._history[-1].revision:
            dropped = self._history[0].revision
            while self._history and self._history[0].revision == dropped:
                self._bytes -= event_bytes(self._history.popleft())

    @property
    def history_size_bytes(self) -> int:
        """The bytes the history holds on to (keys and values of its events)."""
        return self._bytes

    def reset(self, revision: int) -> None:
        """The replica's state was replaced wholesale at `revision` (snapshot install): history is void,
        watchers must re-list, and the events published from now on are those after `revision`."""
        self._floor = max(self._floor, revision)
        self._history.clear()
        self._bytes = 0
        self._to_wake.clear()
        for subscriber in list(self._subscribers):
            subscriber._expire()
        self._subscribers.clear()

    def oldest_available(self) -> int:
        """The smallest revision R from which a watch can still start (events after R complete)."""
        if self._history:
            return self._history[0].revision - 1
        return max(self._floor, self.latest_revision)

    def subscribe(self, prefix: str, after_revision: int) -> Subscription:
        """Replay history after `after_revision`, then follow. Raises WatchExpired if too old."""
        if after_revision < self.oldest_available():
            raise WatchExpired()
        subscription = Subscription(self, prefix, after_revision, self._subscriber_buffer)
        for event in self._history:
            if event.revision > after_revision:
                subscription._offer(event)
        if not subscription.expired:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
