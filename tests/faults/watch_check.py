"""The watch checker: etcd's watch guarantees, verified on what the fault suite's watchers received.

A watcher lists, then watches from the list's resourceVersion; when its stream breaks (a replica
killed, paused or cut off) it resumes from the last resourceVersion it saw, on another replica. Such a
chain of streams is one *session*; only a 410 ends it (the watcher lists again and starts a new one).
The guarantees checked:

- ordered, no duplicates: within a session, (resourceVersion, key) only grows, across resumptions too;
- no gaps: every event any watcher saw, and every acknowledged write (its resourceVersion is in the
  answer), that falls in the range a session covered appears in that session; events on one revision
  agree everywhere, and each key's events form a valid chain (ADDED when absent, MODIFIED or DELETED
  of the current value); no event carries a value nobody wrote;
- caught up: at the end every watcher reached the newest revision any watcher or writer saw;
- 410 only below the compacted revision: a stream refused as too old must have asked for a revision
  below the oldest one the replica still keeps (`oldest_watch_revision` of /debug/raft, asked at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.faults.history import Operation
from tests.faults.linearizability import Anomaly


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: str
    value: str | None


@dataclass
class Segment:
    """One watch request on one replica, from `start_rv` on."""

    replica: str
    start_rv: int
    events: list[WatchEvent] = field(default_factory=list)
    ended: str = ""  # how it ended: closed, broken (why), expired, expired at start
    oldest_kept: int | None = None  # after a 410 at start: the replica's oldest watch revision (None: unknown)


@dataclass
class Session:
    start_rv: int  # the resourceVersion of the list it started from
    segments: list[Segment] = field(default_factory=list)

    def events(self) -> list[WatchEvent]:
        return [event for segment in self.segments for event in segment.events]

    def reached(self) -> int:
        """The newest revision this session has seen through (its start when it saw nothing)."""
        events = self.events()
        return events[-1].rv if events else self.start_rv


@dataclass
class WatcherLog:
    name: str
    sessions: list[Session] = field(default_factory=list)


def _order_anomalies(watcher: WatcherLog) -> list[Anomaly]:
    anomalies = []
    for session in watcher.sessions:
        last = (session.start_rv, "\uffff")  # the first event must come after the start revision
        for segment in session.segments:
            for event in segment.events:
                position = (event.rv, event.key)
                if position <= last:
                    kind = "watch duplicate" if position == last else "watch out of order"
                    anomalies.append(Anomaly(kind, event.key, f"{watcher.name} on {segment.replica} (from "
                                             f"{segment.start_rv}): {event.type} at {event.rv} after {last[0]}"))
                last = max(last, position)
    return anomalies


def _truth(watchers: list[WatcherLog], operations: list[Operation]) -> tuple[dict[tuple[int, str], WatchEvent],
                                                                              list[Anomaly]]:
    """Every event any watcher saw plus every acknowledged write, by (revision, key); disagreements."""
    truth: dict[tuple[int, str], WatchEvent] = {}
    anomalies = []
    for watcher in watchers:
        for session in watcher.sessions:
            for event in session.events():
                known = truth.setdefault((event.rv, event.key), event)
                if known != event:
                    anomalies.append(Anomaly("watch events disagree", event.key,
                                             f"at {event.rv}: {known} and {event} ({watcher.name})"))
    for op in operations:
        if op.is_write and op.outcome == "ok" and op.result_rv is not None:
            seen = truth.get((op.result_rv, op.key))
            if seen is None:
                truth[(op.result_rv, op.key)] = WatchEvent(op.result_rv, "", op.key, op.result_value)
            elif seen.value != op.result_value or seen.type == "DELETED":
                anomalies.append(Anomaly("watch events disagree", op.key,
                                         f"write #{op.id} stored {op.result_value} at {op.result_rv}; watch saw {seen}"))
    return truth, anomalies


def _chain_anomalies(truth: dict[tuple[int, str], WatchEvent], operations: list[Operation]) -> list[Anomaly]:
    """Each key's events in revision order form a valid life: created, modified, deleted, created again."""
    written = {op.value for op in operations if op.is_write and op.outcome != "fail" and op.value is not None}
    current: dict[str, str | None] = {}
    anomalies = []
    for (rv, key), event in sorted(truth.items()):
        present = current.get(key) is not None
        if event.value is not None and event.value not in written:
            anomalies.append(Anomaly("watch phantom value", key, f"{event} carries a value nobody wrote"))
        wrong = {"ADDED": present, "MODIFIED": not present,
                 "DELETED": not present or current.get(key) != event.value}.get(event.type, False)
        if wrong:
            anomalies.append(Anomaly("watch chain broken", key, f"{event.type} at {rv} when the key held "
                                     f"{current.get(key)!r}"))
        current[key] = None if event.type == "DELETED" else event.value
    return anomalies


def _gap_anomalies(watcher: WatcherLog, truth: dict[tuple[int, str], WatchEvent], newest: int) -> list[Anomaly]:
    anomalies = []
    for index, session in enumerate(watcher.sessions):
        seen = {(event.rv, event.key) for event in session.events()}
        end = session.reached()
        missing = sorted(position for position in truth if session.start_rv < position[0] <= end
                         and position not in seen)
        for rv, key in missing[:20]:
            anomalies.append(Anomaly("watch gap", key, f"{watcher.name} session from {session.start_rv} (through "
                                     f"{end}, {len(session.segments)} streams) missed {truth[(rv, key)]}"))
        if index == len(watcher.sessions) - 1 and end < newest:
            anomalies.append(Anomaly("watch stalled", "", f"{watcher.name} reached {end}, the newest is {newest}"))
    return anomalies


def _expiry_anomalies(watcher: WatcherLog) -> list[Anomaly]:
    return [Anomaly("410 above the compacted revision", "", f"{watcher.name}: {segment.replica} refused a watch "
                    f"from {segment.start_rv}, yet keeps events after {segment.oldest_kept}")
            for session in watcher.sessions for segment in session.segments
            if segment.ended == "expired at start" and segment.oldest_kept is not None
            and segment.start_rv >= segment.oldest_kept]


def check_watches(watchers: list[WatcherLog], operations: list[Operation]) -> list[Anomaly]:
    truth, anomalies = _truth(watchers, operations)
    newest = max((rv for rv, _ in truth), default=0)
    anomalies += _chain_anomalies(truth, operations)
    for watcher in watchers:
        anomalies += _order_anomalies(watcher) + _gap_anomalies(watcher, truth, newest) + _expiry_anomalies(watcher)
    return anomalies


def resumptions(watchers: list[WatcherLog]) -> int:
    """How many times a stream was resumed on a replica after another broke (for the table)."""
    return sum(max(0, len(session.segments) - 1) for watcher in watchers for session in watcher.sessions)
