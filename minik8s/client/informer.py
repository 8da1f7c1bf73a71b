"""The informer: a local, always-catching-up cache of one kind, with change notifications.

Daemons must never poll and must survive missed events (docs/architecture.md, "The
controller pattern"). The informer implements client-go's list-then-watch contract: list,
fill the cache, announce every object as added, mark synced, then watch from the list's
resourceVersion. A dropped stream resumes from the last revision seen (BOOKMARKs keep it
fresh); a 410 means that revision is gone, so it lists again and tells handlers only what
changed while it was away. Failed tries back off exponentially with jitter. Handlers run
inline and must only enqueue keys.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from minik8s.api.meta import JsonObject, key_of, resource_version_of
from minik8s.api.registry import ResourceKind
from minik8s.client.errors import Gone
from minik8s.client.watch import WatchEvent

logger = logging.getLogger(__name__)

AddHandler = Callable[[JsonObject], None]
UpdateHandler = Callable[[JsonObject, JsonObject], None]
DeleteHandler = Callable[[JsonObject], None]

# A watch that lasted this long, or delivered anything, was healthy: reconnect without backoff.
_HEALTHY_WATCH_SECONDS = 1.0


class ListWatchClient(Protocol):
    """The two calls an informer needs (ApiClient has them; tests use fakes)."""

    async def list(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> JsonObject: ...

    def watch(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]: ...


@dataclass(frozen=True)
class Handlers:
    """One registered set of callbacks; any may be None."""

    on_add: AddHandler | None = None
    on_update: UpdateHandler | None = None
    on_delete: DeleteHandler | None = None


class Backoff:
    """Exponential backoff with full jitter in [delay/2, delay], capped."""

    def __init__(self, *, base: float, cap: float) -> None:
        self._base = base
        self._cap = cap
        self._failures = 0

    def next_delay(self) -> float:
        delay = min(self._base * (2.0 ** min(self._failures, 64)), self._cap)
        self._failures += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._failures = 0


class Informer:
    """List+watch cache of one kind (optionally one namespace and selectors).

    Cached objects are shared with every caller and handler: treat them as read-only.
    """

    def __init__(
        self,
        client: ListWatchClient,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resync_seconds: float | None = None,
        backoff_base: float = 0.2,
        backoff_max: float = 30.0,
        watch_timeout_seconds: int | None = None,
    ) -> None:
        self.kind = kind
        self._client = client
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._resync_seconds = resync_seconds
        self._backoff = Backoff(base=backoff_base, cap=backoff_max)
        self._watch_timeout_seconds = watch_timeout_seconds
        self._cache: dict[str, JsonObject] = {}
        self._handlers: list[Handlers] = []
        self._resource_version: str | None = None
        self._synced = asyncio.Event()

    # -- cache --------------------------------------------------------------------------------

    def get(self, key: str) -> JsonObject | None:
        return self._cache.get(key)

    def keys(self) -> list[str]:
        return list(self._cache)

    def list(self) -> list[JsonObject]:
        return list(self._cache.values())

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    @property
    def resource_version(self) -> str | None:
        """The last revision this informer has seen (list, event or bookmark)."""
        return self._resource_version

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait for the first list to be in the cache; False if `timeout` passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    def add_handler(
        self,
        *,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        """Register callbacks; a handler added after sync first sees every cached object as added."""
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if self.has_synced and on_add is not None:
            for obj in list(self._cache.values()):
                self._call(on_add, obj)

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled."""
        resync = asyncio.create_task(self._resync_forever()) if self._resync_seconds else None
        try:
            await self._list_and_watch_forever()
        finally:
            if resync is not None:
                resync.cancel()
                await asyncio.gather(resync, return_exceptions=True)

    async def _list_and_watch_forever(self) -> None:
        """Failures back off; a watch that delivered events or lasted a while resets the backoff."""
        loop = asyncio.get_running_loop()
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list_into_cache()
                    need_list = False
                started = loop.time()
                delivered = await self._watch_once()
                if delivered or loop.time() - started >= _HEALTHY_WATCH_SECONDS:
                    self._backoff.reset()
                    continue
            except Gone as exc:
                logger.info("informer %s: %s; listing again", self.kind.group_resource, exc)
                need_list = True
            except Exception as exc:  # any failure: log, back off, try again (the loop must live)
                logger.warning("informer %s: list/watch failed: %r", self.kind.group_resource, exc)
            await asyncio.sleep(self._backoff.next_delay())

    async def _list_into_cache(self) -> None:
        listing = await self._client.list(
            self.kind, namespace=self._namespace,
            label_selector=self._label_selector, field_selector=self._field_selector,
        )
        items = listing.get("items") or []
        fresh: dict[str, JsonObject] = {}
        for item in items:
            item.setdefault("kind", self.kind.kind)
            item.setdefault("apiVersion", self.kind.api_version)
            fresh[key_of(item)] = item
        previous = self._cache
        self._cache = fresh
        self._resource_version = resource_version_of(listing) or None
        self._announce_replacement(previous, fresh)
        if not self.has_synced:
            logger.debug("informer %s: synced %d objects", self.kind.group_resource, len(fresh))
        self._synced.set()

    def _announce_replacement(self, previous: dict[str, JsonObject], fresh: dict[str, JsonObject]) -> None:
        """Tell handlers what a new list changed relative to the cache (all adds the first time)."""
        for key, obj in fresh.items():
            old = previous.get(key)
            if old is None:
                self._notify_add(obj)
            elif resource_version_of(old) != resource_version_of(obj):
                self._notify_update(old, obj)
        for key, old in previous.items():
            if key not in fresh:
                self._notify_delete(old)

    async def _watch_once(self) -> bool:
        """Follow one watch stream until it ends; True if it delivered anything."""
        delivered = False
        events = self._client.watch(
            self.kind, namespace=self._namespace, resource_version=self._resource_version,
            label_selector=self._label_selector, field_selector=self._field_selector,
            timeout_seconds=self._watch_timeout_seconds or random.randint(300, 600),
            allow_bookmarks=True,
        )
        try:
            async for event in events:
                delivered = True
                self._apply(event)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
        return delivered

    def _apply(self, event: WatchEvent) -> None:
        revision = event.resource_version
        if event.type == "BOOKMARK":
            if revision:
                self._resource_version = revision
            return
        obj = event.object
        key = key_of(obj)
        if event.type in ("ADDED", "MODIFIED"):
            old = self._cache.get(key)
            self._cache[key] = obj
            if old is None:
                self._notify_add(obj)
            else:
                self._notify_update(old, obj)
        elif event.type == "DELETED":
            self._cache.pop(key, None)
            self._notify_delete(obj)
        else:
            logger.warning("informer %s: ignoring event type %s", self.kind.group_resource, event.type)
        if revision:
            self._resource_version = revision

    async def _resync_forever(self) -> None:
        assert self._resync_seconds is not None
        while True:
            await asyncio.sleep(self._resync_seconds)
            if self.has_synced:
                for obj in list(self._cache.values()):
                    self._notify_update(obj, obj)

    # -- notifying ----------------------------------------------------------------------------

    def _notify_add(self, obj: JsonObject) -> None:
        for handlers in self._handlers:
            if handlers.on_add is not None:
                self._call(handlers.on_add, obj)

    def _notify_update(self, old: JsonObject, new: JsonObject) -> None:
        for handlers in self._handlers:
            if handlers.on_update is not None:
                self._call(handlers.on_update, old, new)

    def _notify_delete(self, obj: JsonObject) -> None:
        for handlers in self._handlers:
            if handlers.on_delete is not None:
                self._call(handlers.on_delete, obj)

    def _call(self, handler: Callable[..., None], *objects: JsonObject) -> None:
        try:
            handler(*objects)
        except Exception:
            logger.exception("informer %s: event handler %r failed", self.kind.group_resource, handler)
