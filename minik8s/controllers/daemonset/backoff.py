"""How long a node waits before its DaemonSet replaces a failed pod again: per-node exponential backoff.

A pod the node keeps rejecting (a bad image, a port already taken) fails again at once; without
a pause the DaemonSet would delete and recreate it in a hot loop. As Kubernetes' daemon
controller does, each replacement on a node doubles that node's wait, from one second up to
fifteen minutes, and a node quiet for twice the maximum starts again from one second.
"""

from __future__ import annotations

import time

FAILED_POD_BACKOFF_INITIAL = 1.0
FAILED_POD_BACKOFF_MAX = 900.0


class FailedPodBackoff:
    """Exponential delay (1 s doubling to 15 min) between replacements of failed pods on one node."""

    def __init__(self, *, initial: float = FAILED_POD_BACKOFF_INITIAL, maximum: float = FAILED_POD_BACKOFF_MAX) -> None:
        self._entries: dict[tuple[str, str], tuple[float, float]] = {}  # -> (delay, monotonic last update)
        self._initial, self._maximum = initial, maximum

    def remaining(self, key: str) -> dict[str, float]:
        """Node name -> seconds still to wait, for the nodes of this DaemonSet in backoff."""
        now = time.monotonic()
        return {node: delay - (now - last) for (owner, node), (delay, last) in self._entries.items()
                if owner == key and now - last < delay}

    def step(self, key: str, node_name: str) -> None:
        now = time.monotonic()
        entry = self._entries.get((key, node_name))
        expired = entry is None or now - entry[1] > 2 * self._maximum
        delay = self._initial if expired or entry is None else min(entry[0] * 2, self._maximum)
        self._entries[(key, node_name)] = (delay, now)

    def forget(self, key: str) -> None:
        for entry_key in [k for k in self._entries if k[0] == key]:
            del self._entries[entry_key]
