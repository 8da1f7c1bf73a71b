"""The seam between the apiserver and the store: one Protocol, its errors, and a local store.

The apiserver only sees `Store`. `RaftStore` replicates through pysyncobj; `LocalStore` applies
commands directly (one process, no durability) for component tests and the embedded mode of
benchmarks that measure the apiserver alone. Both share `ReplicaCore`: the state machine, its
lock, its watch hub and the transformers that seal values at rest (encryption.py), so the two
cannot drift apart.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

from minik8s.store.encryption import NO_ENCRYPTION, Transformers, ValueUnreadable
from minik8s.store.state import Command, Entry, KVState, Result, StoreEvent
from minik8s.store.watch import DEFAULT_HISTORY_BYTES, Subscription, WatchHub

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """No leader, or the outcome of a write is unknown: answer 503 with Retry-After."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreBusy(Exception):
    """The replica's command queue is full: answer 429."""


@dataclass(frozen=True)
class StoreSnapshot:
    """The whole state at one revision, values as stored (sealed at rest where configured).

    `items` shares the (immutable) entries with the live state: taking one copies references, not values.
    """

    revision: int
    cluster_id: str
    items: list[tuple[str, Entry]]


class Store(Protocol):
    async def apply(self, command: Command) -> Result: ...

    async def barrier(self) -> None:
        """Return once this replica has applied everything committed before the call."""

    def get(self, key: str) -> Entry | None: ...

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]: ...

    def is_stale(self, key: str) -> bool:
        """Whether the key's value is stored sealed otherwise than a write would seal it now (encryption.py)."""

    @property
    def revision(self) -> int: ...

    def watch(self, prefix: str, after_revision: int) -> Subscription: ...

    @property
    def cluster_id(self) -> str:
        """The cluster's id ("" until the first start of its store names it, see `name_cluster`)."""

    def snapshot(self) -> StoreSnapshot:
        """This replica's state as it is now (after `barrier`, everything acknowledged before the call)."""

    def status(self) -> dict[str, object]: ...

    async def close(self) -> None: ...


_REQUEST_PREFIX = uuid.uuid4().hex[:12]
_request_counter = itertools.count()


def new_request_id() -> str:
    """Unique across replicas and restarts: a random per-process prefix plus a counter."""
    return f"{_REQUEST_PREFIX}-{next(_request_counter)}"


class ReplicaCore:
    """State + lock + hub of one replica. Mutations come from one thread; reads from the loop.

    The state holds values as stored (sealed where `transformers` say so); reads and watch events
    hand them out opened. Writers seal with `seal` before a command leaves the replica.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, history: int,
                 history_bytes: int = DEFAULT_HISTORY_BYTES, transformers: Transformers = NO_ENCRYPTION) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.state = KVState()
        self.hub = WatchHub(history=history, history_bytes=history_bytes)
        self.transformers = transformers

    def seal(self, command: Command) -> Command:
        return self.transformers.seal_command(command)

    def apply_here(self, command: Command, *, on_loop_thread: bool) -> Result | list[Result]:
        """Apply on the calling thread and hand the events to the hub on the loop."""
        result: Result | list[Result]
        with self.lock:
            if command.get("op") == "batch" and isinstance(command.get("commands"), list):
                result, events = self.state.apply_batch(command["commands"])
            else:
                result, events = self.state.apply(command)
        if events:
            if on_loop_thread:
                self._publish(events)
            else:
                self.loop.call_soon_threadsafe(self._publish, events)
        return result

    def _publish(self, events: list[StoreEvent]) -> None:
        """On the loop: the watch history holds opened values (in memory only)."""
        if self.transformers.active:
            try:
                events = [self.transformers.open_event(event) for event in events]
            except ValueUnreadable as error:  # a key this replica lacks: watchers re-list and get the error
                log.error("cannot open a stored value for the watch history: %s", error)
                self.hub.reset(events[-1].revision)
                return
        self.hub.publish(events)

    def get(self, key: str) -> Entry | None:
        with self.lock:
            entry = self.state.get(key)
        return self.transformers.open_entry(key, entry) if entry is not None else None

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]:
        with self.lock:
            revision, items = self.state.revision, self.state.items_under(prefix)
        return revision, self.transformers.open_items(prefix, items)

    def is_stale(self, key: str) -> bool:
        with self.lock:
            entry = self.state.get(key)
        return entry is not None and self.transformers.is_stale(key, entry.value)

    def count(self) -> int:
        with self.lock:
            return self.state.count()

    def snapshot(self) -> StoreSnapshot:
        """Under the lock only references are copied (the Raft thread waits microseconds per thousand keys)."""
        with self.lock:
            state = self.state
            items = [item for bucket in state.buckets.values() for item in bucket.items()]
            return StoreSnapshot(state.revision, state.cluster_id, items)


class LocalReads:
    """The reads every replica serves from its own copy (a Raft replica after its read barrier)."""

    core: ReplicaCore

    def get(self, key: str) -> Entry | None:
        return self.core.get(key)

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]:
        return self.core.list(prefix)

    def is_stale(self, key: str) -> bool:
        return self.core.is_stale(key)

    @property
    def revision(self) -> int:
        return self.core.state.revision

    @property
    def cluster_id(self) -> str:
        return self.core.state.cluster_id

    def snapshot(self) -> StoreSnapshot:
        return self.core.snapshot()

    def watch(self, prefix: str, after_revision: int) -> Subscription:
        return self.core.hub.subscribe(prefix, after_revision)


class LocalStore(LocalReads):
    """A single in-process replica without Raft: same semantics, no durability."""

    def __init__(self, *, history: int = 10_000, history_bytes: int = DEFAULT_HISTORY_BYTES,
                 transformers: Transformers = NO_ENCRYPTION) -> None:
        self.core = ReplicaCore(asyncio.get_running_loop(), history=history, history_bytes=history_bytes,
                                transformers=transformers)

    async def apply(self, command: Command) -> Result:
        command.setdefault("request_id", new_request_id())
        result = self.core.apply_here(self.core.seal(command), on_loop_thread=True)
        assert isinstance(result, Result)
        return result

    async def barrier(self) -> None:
        return None

    def status(self) -> dict[str, object]:
        return {"role": "leader", "leader": "local", "term": 0, "has_quorum": True, "revision": self.revision,
                "cluster_id": self.cluster_id}

    async def close(self) -> None:
        return None


async def name_cluster(store: Store) -> str:
    """Give the cluster its id at its first start (replicas racing for it agree on the first); return it."""
    if not store.cluster_id:
        await store.apply({"op": "identify", "cluster_id": str(uuid.uuid4())})
    return store.cluster_id
