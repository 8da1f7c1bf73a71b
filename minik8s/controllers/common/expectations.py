"""Creations and deletions a controller has asked for but not yet seen in its informer cache.

A ReplicaSet (or DaemonSet) that just created three pods must not create three more when it is
reconciled again before the watch has delivered them: its cache still shows too few pods. client-go's
ControllerExpectations solve this, and this is the same idea. Before writing, the controller
records how many creates and which deletes it expects; pod events lower the counts; the
controller only acts on a key whose expectations are met (or have expired after five minutes,
in case an event was lost). Deletions are tracked by pod (key or name), so a graceful deletion
(first a deletionTimestamp, then the DELETE event) is counted once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

EXPECTATIONS_TIMEOUT_SECONDS = 300.0


@dataclass
class _Expected:
    creations: int
    deletions: set[str] = field(default_factory=set)
    recorded_at: float = 0.0


class ControllerExpectations:
    """Per controller key: pending creations (a count) and deletions (pod keys); one event loop."""

    def __init__(self, *, timeout: float = EXPECTATIONS_TIMEOUT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._expected: dict[str, _Expected] = {}

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending for `key`, nothing was ever recorded, or it expired."""
        expected = self._expected.get(key)
        if expected is None:
            return True
        if expected.creations <= 0 and not expected.deletions:
            return True
        if self._clock() - expected.recorded_at > self._timeout:
            log.info("expectations of %s expired (%d creations, %d deletions pending)",
                     key, expected.creations, len(expected.deletions))
            return True
        return False

    def expect(self, key: str, *, creations: int, deletions: Iterable[str]) -> None:
        """Replace `key`'s expectations with `creations` creations and the deletion of these pods."""
        self._expected[key] = _Expected(creations=creations, deletions=set(deletions), recorded_at=self._clock())

    def expect_creations(self, key: str, count: int) -> None:
        self.expect(key, creations=count, deletions=())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self.expect(key, creations=0, deletions=pod_keys)

    def creation_observed(self, key: str, count: int = 1) -> None:
        expected = self._expected.get(key)
        if expected is not None:
            expected.creations -= count

    def deletion_observed(self, key: str, pod_key: str) -> None:
        expected = self._expected.get(key)
        if expected is not None:
            expected.deletions.discard(pod_key)

    def forget(self, key: str) -> None:
        """The controller object is gone: drop whatever was expected of it."""
        self._expected.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected; for logs and tests."""
        expected = self._expected.get(key)
        if expected is None:
            return 0, 0
        return max(expected.creations, 0), len(expected.deletions)
