"""The fault suite's watch checker on known-good and known-bad watch logs."""

from __future__ import annotations

from tests.faults.history import Operation
from tests.faults.watch_check import Segment, Session, WatcherLog, WatchEvent, check_watches, resumptions


def write(op_id: int, key: str, value: str, rv: int) -> Operation:
    return Operation(op_id, "c", "update", key, 0.0, value=value, completed=1.0, outcome="ok",
                     result_value=value, result_rv=rv)


WRITES = [write(0, "a", "a1", 11), write(1, "b", "b1", 12), write(2, "a", "a2", 14)]
EVENTS = [WatchEvent(11, "ADDED", "a", "a1"), WatchEvent(12, "ADDED", "b", "b1"),
          WatchEvent(13, "DELETED", "b", "b1"), WatchEvent(14, "MODIFIED", "a", "a2")]


def watcher(name: str, *segments: tuple[str, int, list[WatchEvent]], start: int = 10) -> WatcherLog:
    session = Session(start, [Segment(replica, start_rv, list(events)) for replica, start_rv, events in segments])
    return WatcherLog(name, [session])


def kinds(watchers: list[WatcherLog], writes: list[Operation] = WRITES) -> list[str]:
    return [anomaly.kind for anomaly in check_watches(watchers, writes)]


def test_a_stream_resumed_on_another_replica_without_loss_passes() -> None:
    resumed = watcher("w1", ("r1", 10, EVENTS[:2]), ("r2", 12, EVENTS[2:]))
    whole = watcher("w2", ("r3", 10, EVENTS))
    assert kinds([resumed, whole]) == []
    assert resumptions([resumed, whole]) == 1


def test_an_event_lost_across_a_resumption_is_a_gap() -> None:
    lost = watcher("w1", ("r1", 10, EVENTS[:1]), ("r2", 12, EVENTS[2:]))
    assert kinds([lost, watcher("w2", ("r3", 10, EVENTS))]) == ["watch gap"]


def test_an_acknowledged_write_no_watcher_saw_is_a_gap() -> None:
    skipped = [event for event in EVENTS if event.rv != 11]
    assert kinds([watcher("w1", ("r1", 10, skipped))]) == ["watch gap"]


def test_an_event_delivered_twice_after_resuming_is_a_duplicate() -> None:
    twice = watcher("w1", ("r1", 10, EVENTS[:2]), ("r2", 11, EVENTS[1:]))
    assert kinds([twice]) == ["watch duplicate"]


def test_events_out_of_order_are_refused() -> None:
    swapped = watcher("w1", ("r1", 10, [EVENTS[1], EVENTS[0], *EVENTS[2:]]))
    assert "watch out of order" in kinds([swapped])


def test_watchers_disagreeing_on_a_revision_are_refused() -> None:
    other = [*EVENTS[:3], WatchEvent(14, "MODIFIED", "a", "a1")]
    assert "watch events disagree" in kinds([watcher("w1", ("r1", 10, EVENTS)), watcher("w2", ("r2", 10, other))])


def test_a_watcher_that_never_caught_up_has_stalled() -> None:
    assert kinds([watcher("w1", ("r1", 10, EVENTS)), watcher("w2", ("r2", 10, EVENTS[:3]))]) == ["watch stalled"]


def test_a_modification_of_an_absent_key_breaks_the_chain() -> None:
    events = [WatchEvent(11, "MODIFIED", "a", "a1"), *EVENTS[1:]]
    assert "watch chain broken" in kinds([watcher("w1", ("r1", 10, events))])


def test_410_is_right_only_below_the_compacted_revision() -> None:
    def expired(oldest_kept: int) -> WatcherLog:
        log = watcher("w1", ("r1", 10, EVENTS[:2]))
        log.sessions[0].segments.append(Segment("r2", 12, [], "expired at start", oldest_kept))
        log.sessions.append(Session(13, [Segment("r2", 13, EVENTS[3:])]))
        return log

    assert kinds([expired(13)]) == []
    assert kinds([expired(12)]) == ["410 above the compacted revision"]
