"""Failpoints: faults the fault-injection suite can switch on in a real replica through its environment.

`MINIK8S_FAILPOINTS` is read once, when a replica opens its store: a comma-separated list of
`name=value`. Unset or empty means no failpoint and no cost (one float compared with zero per sync).

  journal-sync-delay=SECONDS   sleep this long before every journal sync (a slow disk): every
                               acknowledgement waits for it, on the leader and on the followers,
                               and the Raft thread with it — a delay near the election timeout
                               (0.2-0.6 s) delays heartbeats enough for followers to elect anew.

An unknown name or a bad value stops the start with a clear error rather than being ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENVIRONMENT_VARIABLE = "MINIK8S_FAILPOINTS"


@dataclass(frozen=True)
class Failpoints:
    journal_sync_delay: float = 0.0  # seconds slept before each journal sync


NONE = Failpoints()


def parse_failpoints(text: str) -> Failpoints:
    """`journal-sync-delay=0.2` → Failpoints(journal_sync_delay=0.2); raises ValueError when malformed."""
    delay = 0.0
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, separator, value = item.partition("=")
        if name.strip() != "journal-sync-delay" or not separator:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: unknown failpoint {item!r} (known: journal-sync-delay=SECONDS)")
        try:
            delay = float(value)
        except ValueError:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: {item!r} needs a number of seconds") from None
        if not 0 <= delay < 3600:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: {item!r} is out of range")
    return Failpoints(journal_sync_delay=delay)


def failpoints_from_environment() -> Failpoints:
    return parse_failpoints(os.environ.get(ENVIRONMENT_VARIABLE, ""))
