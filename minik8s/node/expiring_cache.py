"""A small cache whose entries expire: how a node agent remembers the apiserver's review answers.

Every request to the agent is authenticated and authorized by asking the apiserver (TokenReview,
SubjectAccessReview); asking again for each request of a `kubectl logs -f` or of a busy client would
put one API call in front of every one of them. Kubernetes' webhook authenticator and authorizer keep
answers for a while (their `--*-cache-ttl` flags); this is that cache: string keys, a time to live per
entry, at most `max_entries` (the oldest entry goes first), and a clock the tests can drive.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")
DEFAULT_MAX_ENTRIES = 4096


class ExpiringCache(Generic[Value]):
    """key → value until the entry's time to live has passed."""

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Value]] = OrderedDict()

    def get(self, key: str) -> Value | None:
        """The value kept under `key`, or None when there is none or it expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self.clock():
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: Value, ttl: float) -> None:
        """Keep `value` for `ttl` seconds (a ttl of 0 or less keeps nothing)."""
        self._entries.pop(key, None)
        if ttl <= 0:
            return
        self._entries[key] = (self.clock() + ttl, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
