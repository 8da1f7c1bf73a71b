"""The watch hub's memory and fan-out: history bounded in bytes as well as events, laggards cut off, watchers
woken a slice at a time.

Before, only the number of events was bounded: 400 writes of a 900 KB ConfigMap held 2 GB (each
event keeps the new and the previous value), and a watcher that stopped reading kept up to
10,000 events alive after the history had let them go.
"""

from __future__ import annotations

import asyncio

import pytest

from minik8s.store.state import StoreEvent
from minik8s.store.watch import FAN_OUT_SLICE, WatchExpired, WatchHub

KEY = "/registry/configmaps/default/big"
VALUE_BYTES = 900 * 1024
MiB = 1024 * 1024


def big_event(revision: int) -> StoreEvent:
    """A MODIFIED event of a 900 KB object: new and previous values are distinct buffers, as the store makes."""
    return StoreEvent(revision, "MODIFIED", KEY, bytes(VALUE_BYTES), bytes(VALUE_BYTES))


def test_400_writes_of_a_900_kb_object_stay_within_the_history_bytes() -> None:
    hub = WatchHub(history=10_000, history_bytes=64 * MiB)
    for revision in range(1, 401):
        hub.publish([big_event(revision)])
    assert hub.history_size_bytes <= 64 * MiB
    assert hub.history_size_bytes >= 64 * MiB - 2 * (VALUE_BYTES + len(KEY)) - 1  # the newest events are kept
    assert hub.oldest_available() > 300


def test_a_resume_from_a_revision_dropped_for_size_is_expired() -> None:
    hub = WatchHub(history=10_000, history_bytes=8 * MiB)
    for revision in range(1, 21):
        hub.publish([big_event(revision)])
    with pytest.raises(WatchExpired):
        hub.subscribe("/registry/", 1)
    recent = hub.subscribe("/registry/", 18)
    assert [event.revision for event in recent.drain()] == [19, 20]


def test_the_event_count_bound_still_holds() -> None:
    hub = WatchHub(history=5, history_bytes=64 * MiB)
    for revision in range(1, 11):
        hub.publish([StoreEvent(revision, "ADDED", KEY, b"v", None)])
    assert hub.oldest_available() == 5


def test_one_event_larger_than_the_history_bytes_is_still_delivered_to_followers() -> None:
    hub = WatchHub(history=100, history_bytes=MiB)
    follower = hub.subscribe("/registry/", 0)
    hub.publish([big_event(1), big_event(2)])
    assert [event.revision for event in follower.drain()] == [1, 2]


async def test_a_watcher_that_falls_out_of_the_history_is_cut_off_and_its_backlog_released() -> None:
    hub = WatchHub(history=10_000, history_bytes=8 * MiB)
    stalled = hub.subscribe("/registry/", 0)
    reading = hub.subscribe("/registry/", 0)
    for revision in range(1, 41):
        hub.publish([big_event(revision)])
        assert [event.revision for event in reading.drain()] == [revision]
    assert stalled.pending_bytes == 0  # nothing kept alive for a watcher that will only hear "expired"
    with pytest.raises(WatchExpired):
        await stalled.next(timeout=1)
    assert hub.subscriber_count == 1


async def test_a_watcher_within_the_history_keeps_its_backlog() -> None:
    hub = WatchHub(history=10_000, history_bytes=64 * MiB)
    behind = hub.subscribe("/registry/", 0)
    for revision in range(1, 11):
        hub.publish([big_event(revision)])
    assert behind.pending_bytes == 10 * (2 * VALUE_BYTES + len(KEY))
    assert [event.revision for event in behind.drain()] == list(range(1, 11))


async def test_many_watchers_are_woken_a_slice_per_loop_iteration_and_see_every_event_in_order() -> None:
    hub = WatchHub()
    watchers = [hub.subscribe("/registry/", 0) for _ in range(3 * FAN_OUT_SLICE)]
    waiting = [asyncio.ensure_future(watcher.next(timeout=5)) for watcher in watchers]
    await asyncio.sleep(0)  # every watcher now waits
    hub.publish([StoreEvent(1, "ADDED", KEY, b"v", None)])
    hub.publish([StoreEvent(2, "MODIFIED", KEY, b"w", b"v")])
    await asyncio.sleep(0)
    assert sum(task.done() for task in waiting) == FAN_OUT_SLICE  # the rest wait for the next iterations
    first = await asyncio.gather(*waiting)
    assert [event.revision for event in first if event] == [1] * len(watchers)
    assert all([event.revision for event in watcher.drain()] == [2] for watcher in watchers)
