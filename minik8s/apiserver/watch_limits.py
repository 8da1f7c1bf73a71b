"""Open watches counted per user and in all, so no client can hold the apiserver's memory.

A watch is long-running, so the in-flight budget does not count it (as in Kubernetes); each costs
about 35 KB here (its coroutine frames through every middleware, its subscription, its
connection), and 10,000 from one client took the apiserver from 58 to 405 MB. A watch past
`--max-watches-per-user` (the authenticated user's name; all anonymous callers share one) or
`--max-watches` is refused with 429 and `Retry-After: 1` before its stream starts; 0 is no limit.

The count is released when the response ends however it ends (the client went away, the timeout,
an error), so closed watches never stay counted. Their memory is returned to the allocator; the
process's RSS keeps the freed pages for the next watches rather than giving them back to the
system (CPython's arenas and glibc's heap, fragmented by long-lived objects made meanwhile), so
the bound on open watches is what bounds the peak. Like Kubernetes, a watch that names no
`timeoutSeconds` ends after a random time between `--min-request-timeout` and twice that, so a
connection whose peer vanished without closing is let go too.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import StreamingResponse

from minik8s.apiserver import errors


@dataclass
class WatchLease:
    """One open watch, counted until `release` (idempotent)."""

    registry: WatchRegistry
    user: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.registry._release(self.user)


class WatchRegistry:
    def __init__(self, *, total: int, per_user: int) -> None:
        self.total, self.per_user = total, per_user
        self.by_user: Counter[str] = Counter()
        self.open = 0

    def acquire(self, user: str) -> WatchLease:
        """Count one more watch for `user`, or raise the 429 that says which limit it would pass."""
        if self.per_user and self.by_user[user] >= self.per_user:
            raise errors.too_many_requests(f"Too many requests: {user} has {self.by_user[user]} watches open, "
                                           f"the limit per user is {self.per_user}")
        if self.total and self.open >= self.total:
            raise errors.too_many_requests(f"Too many requests: {self.open} watches are open, "
                                           f"the limit is {self.total}")
        self.by_user[user] += 1
        self.open += 1
        return WatchLease(self, user)

    def _release(self, user: str) -> None:
        self.open -= 1
        self.by_user[user] -= 1
        if not self.by_user[user]:
            del self.by_user[user]


class WatchResponse(StreamingResponse):
    """A watch stream that gives its lease back, and runs `on_end` (the stream leaves the watch hub), when the
    response ends, whatever ended it: the stream subscribed before the response began, and a body that never
    started to run would not close its subscription itself."""

    def __init__(self, content: Any, lease: WatchLease, *, on_end: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.lease = lease
        self.on_end = on_end

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_end()
            self.lease.release()


def watch_timeout(requested: float | None, min_request_timeout: float,
                  chance: Callable[[], float] = random.random) -> float | None:
    """How long a watch may run: `timeoutSeconds` when given, else upstream's randomized default."""
    if requested:
        return requested
    if min_request_timeout > 0:
        return min_request_timeout * (1 + chance())
    return None
