"""Watch streams: store events → Kubernetes watch events, filtered by selectors.

Selectors are applied to both the old and the new state of a changed object, as Kubernetes
does: an object that stops matching is reported DELETED, one that starts matching ADDED. The
stream replays from the requested revision (410 Expired when it is too old), sends periodic
BOOKMARKs when asked, and ends only on `timeoutSeconds` or when the client goes away.

The start is fixed before the response begins (`WatchStream.start`, awaited by the route before it
returns the response): the read barrier, the initial list and the subscription to the hub all happen
before the 200 and its headers are sent. So every write acknowledged before the request arrived is in
the initial state, and every write made once the headers are there is delivered as an event. Fixing
the start inside the streaming body instead, after the headers, let a write made on seeing the headers
land before the start and be folded into the initial state: a DELETE or an update that was never
reported (issue #14, on a follower after a burst of writes).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import orjson

from minik8s.api.fields import object_fields
from minik8s.api.meta import JsonObject
from minik8s.api.registry import ResourceKind
from minik8s.apiserver import errors
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.request_options import ListOptions
from minik8s.apiserver.storage import decode_value
from minik8s.store.state import StoreEvent
from minik8s.store.watch import Subscription, WatchExpired, event_bytes

log = logging.getLogger(__name__)

BOOKMARK_INTERVAL = 30.0
DECODED_CACHE_BYTES = 64 * 1024 * 1024  # of stored JSON; the decoded objects take a few times more
CHUNK_BYTES = 1024 * 1024  # of stored JSON per write to the client: a lagging watcher's backlog is sent in parts
Render = Callable[[JsonObject], JsonObject]


class DecodedEvents:
    """Decode each store event once, however many watchers see it (objects are read-only).

    Bounded in entries and in the bytes of the events behind them: 2,048 decoded 900 KB objects
    (new and old) would be gigabytes."""

    def __init__(self, size: int = 2048, max_bytes: int = DECODED_CACHE_BYTES) -> None:
        self._cache: OrderedDict[tuple[int, str], tuple[JsonObject, JsonObject | None]] = OrderedDict()
        self._fields: dict[int, dict[str, str]] = {}  # id(cached object) -> its field-selector fields
        self._sizes: dict[tuple[int, str], int] = {}
        self._size = size
        self._max_bytes = max_bytes
        self.cached_bytes = 0

    def fields(self, kind: str, obj: JsonObject) -> dict[str, str]:
        """The field-selector fields of a cached object, computed once for all watchers.

        With a hundred node agents each watching `spec.nodeName=<node>`, recomputing them per
        watcher per event was most of the apiserver's CPU.
        """
        found = self._fields.get(id(obj))
        if found is None:
            found = self._fields[id(obj)] = object_fields(kind, obj)
        return found

    def get(self, event: StoreEvent) -> tuple[JsonObject, JsonObject | None]:
        cache_key = (event.revision, event.key)
        found = self._cache.get(cache_key)
        if found is None:
            new = decode_value(event.value, event.revision)
            old = decode_value(event.prev_value, event.revision - 1) if event.prev_value is not None else None
            found = (new, old)
            self._cache[cache_key] = found
            self._sizes[cache_key] = event_bytes(event)
            self.cached_bytes += self._sizes[cache_key]
            while len(self._cache) > 1 and (len(self._cache) > self._size or self.cached_bytes > self._max_bytes):
                self._evict_oldest()
        return found

    def _evict_oldest(self) -> None:
        evicted_key, (evicted_new, evicted_old) = self._cache.popitem(last=False)
        self.cached_bytes -= self._sizes.pop(evicted_key)
        self._fields.pop(id(evicted_new), None)
        self._fields.pop(id(evicted_old), None)


def classify(resource: ResourceKind, event: StoreEvent, new: JsonObject, old: JsonObject | None,
             options: ListOptions, decoded: DecodedEvents | None = None) -> str | None:
    """The watch event type this watcher should see, or None to skip."""

    def matches(obj: JsonObject) -> bool:
        fields = decoded.fields(resource.kind, obj) if decoded and options.field_selector else None
        return options.matches(resource, obj, fields)

    if event.type == "DELETED":
        return "DELETED" if matches(new) else None
    new_matches = matches(new)
    old_matches = old is not None and matches(old)
    if new_matches:
        return "MODIFIED" if old_matches else "ADDED"
    return "DELETED" if old_matches else None


def _line(event_type: str, obj: JsonObject) -> bytes:
    return orjson.dumps({"type": event_type, "object": obj}) + b"\n"


def expired_line(message: str) -> bytes:
    return _line("ERROR", errors.expired(message).status())


class WatchStream:
    def __init__(self, ops: Operations, decoded: DecodedEvents, resource: ResourceKind, namespace: str | None,
                 options: ListOptions, *, render: Render, bookmarks: bool, timeout: float | None,
                 bookmark_interval: float = BOOKMARK_INTERVAL) -> None:
        self.ops, self.decoded, self.resource, self.namespace = ops, decoded, resource, namespace
        self.options, self.render, self.bookmarks, self.timeout = options, render, bookmarks, timeout
        self.bookmark_interval = bookmark_interval
        self._started = False
        self._initial: list[bytes] = []
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Fix where the stream starts and subscribe to the hub: before any byte of the response is sent.

        Raises a StatusError instead of answering 200: a resourceVersion this replica does not reach in a
        bounded wait (504, as for reads; a malformed one ListOptions refused with 400), a store without a
        quorum for the read barrier (503). After it, `close` must be called however the response ends."""
        if self._started:
            return
        self._started = True
        self._initial, self._subscription = await self._subscribe()

    async def _subscribe(self) -> tuple[list[bytes], Subscription | None]:
        """Initial events and the subscription (None: an ERROR event, 410, ends the stream at once).

        Without a resourceVersion the stream starts at the replica's revision after a read barrier (every
        write acknowledged before the request is in it); with "0" at whatever this replica has; with one,
        right after it, once this replica has reached it."""
        store = self.ops.objects.store
        prefix = self.resource.storage_prefix(self.namespace)
        version = self.options.resource_version
        await self.ops.objects.sync(version)
        if version in (None, "", "0"):
            revision, items = self.ops.objects.list(self.resource, self.namespace)
            initial = [_line("ADDED", self.render(obj)) for obj in items if self.options.matches(self.resource, obj)]
            return initial, store.watch(prefix, revision)  # no await since the list: nothing is published between
        start = int(version)  # checked by ListOptions: a uint64
        try:
            return [], store.watch(prefix, start)
        except WatchExpired:
            return [expired_line(f"too old resource version: {start}")], None

    def close(self) -> None:
        """Leave the hub (idempotent): called when the response ends, or when it is never sent."""
        if self._subscription is not None:
            self._subscription.close()

    async def stream(self) -> AsyncIterator[bytes]:
        """The response body, from the start fixed by `start`."""
        if not self._started:
            raise RuntimeError("WatchStream.stream() before start(): the start must be fixed before the headers")
        if self._initial:
            yield b"".join(self._initial)
            self._initial = []
        subscription = self._subscription
        if subscription is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout if self.timeout else None  # a negative timeout ends it at once
        next_bookmark = loop.time() + self.bookmark_interval
        last_revision = subscription.after_revision
        try:
            while True:
                now = loop.time()
                if deadline is not None and now >= deadline:
                    return
                wake = min(next_bookmark, deadline) if deadline is not None else next_bookmark
                try:
                    event = await subscription.next(timeout=max(0.001, wake - now))
                except WatchExpired:
                    yield expired_line("the watch fell too far behind; please re-list")
                    return
                if event is None:
                    if self.bookmarks and loop.time() >= next_bookmark:
                        yield _line("BOOKMARK", self._bookmark(max(last_revision, self.ops.objects.store.revision)))
                    next_bookmark = loop.time() + self.bookmark_interval
                    continue
                chunk = [event, *subscription.drain(CHUNK_BYTES)]
                lines = [line for line in map(self._convert, chunk) if line]
                last_revision = chunk[-1].revision
                if lines:
                    yield b"".join(lines)
        except WatchExpired:
            yield expired_line("the watch fell too far behind; please re-list")
        finally:
            subscription.close()

    def _convert(self, event: StoreEvent) -> bytes | None:
        new, old = self.decoded.get(event)
        event_type = classify(self.resource, event, new, old, self.options, self.decoded)
        return _line(event_type, self.render(new)) if event_type else None

    def _bookmark(self, revision: int) -> JsonObject:
        return {"kind": self.resource.kind, "apiVersion": self.resource.api_version,
                "metadata": {"resourceVersion": str(revision)}}
