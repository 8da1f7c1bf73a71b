"""The seam between the apiserver and the store: one Protocol, its errors, and a local store.

The apiserver only sees `Store`. `RaftStore` replicates through pysyncobj; `LocalStore` applies
commands directly (one process, no durability) for component tests and the embedded mode of
benchmarks that measure the apiserver alone. Both share `ReplicaCore`: the state machine, its
lock and its watch hub, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from typing import Protocol

from minik8s.store.state import Command, Entry, KVState, Result
from minik8s.store.watch import DEFAULT_HISTORY_BYTES, Subscription, WatchHub


class StoreUnavailable(Exception):
    """No leader, or the outcome of a write is unknown: answer 503 with Retry-After."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreBusy(Exception):
    """The replica's command queue is full: answer 429."""


class Store(Protocol):
    async def apply(self, command: Command) -> Result: ...

    async def barrier(self) -> None:
        """Return once this replica has applied everything committed before the call."""

    def get(self, key: str) -> Entry | None: ...

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]: ...

    @property
    def revision(self) -> int: ...

    def watch(self, prefix: str, after_revision: int) -> Subscription: ...

    def status(self) -> dict[str, object]: ...

    async def close(self) -> None: ...


_REQUEST_PREFIX = uuid.uuid4().hex[:12]
_request_counter = itertools.count()


def new_request_id() -> str:
    """Unique across replicas and restarts: a random per-process prefix plus a counter."""
    return f"{_REQUEST_PREFIX}-{next(_request_counter)}"


class ReplicaCore:
    """State + lock + hub of one replica. Mutations come from one thread; reads from the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, history: int,
                 history_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.state = KVState()
        self.hub = WatchHub(current_revision=lambda: self.state.revision, history=history,
                            history_bytes=history_bytes)

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
                self.hub.publish(events)
            else:
                self.loop.call_soon_threadsafe(self.hub.publish, events)
        return result

    def get(self, key: str) -> Entry | None:
        with self.lock:
            return self.state.get(key)

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]:
        with self.lock:
            return self.state.revision, self.state.items_under(prefix)

    def count(self) -> int:
        with self.lock:
            return self.state.count()


class LocalReads:
    """The reads every replica serves from its own copy (a Raft replica after its read barrier)."""

    core: ReplicaCore

    def get(self, key: str) -> Entry | None:
        return self.core.get(key)

    def list(self, prefix: str) -> tuple[int, list[tuple[str, Entry]]]:
        return self.core.list(prefix)

    @property
    def revision(self) -> int:
        return self.core.state.revision

    def watch(self, prefix: str, after_revision: int) -> Subscription:
        return self.core.hub.subscribe(prefix, after_revision)


class LocalStore(LocalReads):
    """A single in-process replica without Raft: same semantics, no durability."""

    def __init__(self, *, history: int = 10_000, history_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        self.core = ReplicaCore(asyncio.get_running_loop(), history=history, history_bytes=history_bytes)

    async def apply(self, command: Command) -> Result:
        command.setdefault("request_id", new_request_id())
        result = self.core.apply_here(command, on_loop_thread=True)
        assert isinstance(result, Result)
        return result

    async def barrier(self) -> None:
        return None

    def status(self) -> dict[str, object]:
        return {"role": "leader", "leader": "local", "term": 0, "has_quorum": True}

    async def close(self) -> None:
        return None
