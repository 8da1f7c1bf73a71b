"""The store's state machine against a plain dict model, and its watch hub."""

from __future__ import annotations

import asyncio

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from minik8s.store.state import KVState, StoreEvent
from minik8s.store.watch import WatchExpired, WatchHub

KEYS = st.sampled_from([f"/registry/things/ns{n % 2}/k{n}" for n in range(6)])
VALUES = st.binary(min_size=1, max_size=8)


class StoreAgainstDict(RuleBasedStateMachine):
    """Every command applied to KVState and to a dict model must agree, revision by revision."""

    def __init__(self) -> None:
        super().__init__()
        self.state = KVState()
        self.model: dict[str, tuple[bytes, int, int]] = {}
        self.revision = 0
        self.events: list[StoreEvent] = []
        self.requests = 0

    def _apply(self, command: dict[str, object]) -> str:
        result, events = self.state.apply(command)
        self.events.extend(events)
        return result.status

    @rule(key=KEYS, value=VALUES)
    def create(self, key: str, value: bytes) -> None:
        status = self._apply({"op": "create", "key": key, "value": value})
        if key in self.model:
            assert status == "exists"
        else:
            assert status == "ok"
            self.revision += 1
            self.model[key] = (value, self.revision, self.revision)

    @rule(key=KEYS, value=VALUES, stale=st.booleans())
    def update(self, key: str, value: bytes, stale: bool) -> None:
        current = self.model.get(key)
        guard = (current[2] if current else 1) - (1 if stale else 0)
        status = self._apply({"op": "update", "key": key, "value": value, "mod_revision": guard})
        if current is None:
            assert status == "not_found"
        elif stale:
            assert status == "conflict"
        else:
            assert status == "ok"
            self.revision += 1
            self.model[key] = (value, current[1], self.revision)

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        status = self._apply({"op": "delete", "key": key, "mod_revision": None})
        if key not in self.model:
            assert status == "not_found"
        else:
            assert status == "ok"
            self.revision += 1
            del self.model[key]

    @precondition(lambda self: len(self.model) >= 1)
    @rule(key=KEYS, value=VALUES)
    def txn_all_or_nothing(self, key: str, value: bytes) -> None:
        existing = sorted(self.model)[0]
        ops = [{"op": "update", "key": existing, "value": value, "mod_revision": self.model[existing][2]},
               {"op": "create", "key": key, "value": value}]
        if key == existing:
            return
        status = self._apply({"op": "txn", "ops": ops})
        if key in self.model:
            assert status == "exists"  # the update must not have happened either
        else:
            assert status == "ok"
            self.revision += 1
            self.model[existing] = (value, self.model[existing][1], self.revision)
            self.model[key] = (value, self.revision, self.revision)

    @rule(key=KEYS, value=VALUES)
    def retried_request_applies_once(self, key: str, value: bytes) -> None:
        self.requests += 1
        command = {"op": "create", "key": key + "-once", "value": value, "request_id": f"r{self.requests}"}
        first = self.state.apply(dict(command))[0]
        second, events = self.state.apply(dict(command))
        assert second == first and events == []
        assert first.status == ("exists" if key + "-once" in self.model else "ok")
        if first.status == "ok":
            self.revision += 1
            self.model[key + "-once"] = (value, self.revision, self.revision)

    @rule(op=st.sampled_from(["bogus", None, "txn"]))
    def bad_commands_never_raise(self, op: str | None) -> None:
        result, events = self.state.apply({"op": op, "ops": "not-a-list"})
        assert result.status == "error" and events == []

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.state.revision == self.revision
        stored = {key: tuple(entry) for key, entry in self.state.items_under("/")}
        assert stored == self.model

    @invariant()
    def events_are_in_revision_order(self) -> None:
        revisions = [e.revision for e in self.events]
        assert revisions == sorted(revisions)


TestStoreAgainstDict = StoreAgainstDict.TestCase
TestStoreAgainstDict.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_list_reads_one_namespace_bucket() -> None:
    state = KVState()
    for key in ("/registry/pods/a/x", "/registry/pods/b/y", "/registry/podsx/a/z"):
        state.apply({"op": "create", "key": key, "value": b"1"})
    assert [k for k, _ in state.items_under("/registry/pods/a/")] == ["/registry/pods/a/x"]
    assert sorted(k for k, _ in state.items_under("/registry/pods/")) == ["/registry/pods/a/x", "/registry/pods/b/y"]


def _event(revision: int, key: str = "/registry/things/a") -> StoreEvent:
    return StoreEvent(revision, "ADDED", key, b"v", None)


async def test_hub_replays_history_then_follows_without_gaps_or_doubles() -> None:
    hub = WatchHub(history=100)
    for revision in range(1, 6):
        hub.publish([_event(revision)])
    subscription = hub.subscribe("/registry/things/", 2)
    hub.publish([_event(6)])
    seen = [await subscription.next(timeout=1) for _ in range(4)]
    assert [e.revision for e in seen if e] == [3, 4, 5, 6]
    assert await subscription.next(timeout=0.01) is None


async def test_hub_answers_expired_for_a_revision_older_than_its_history() -> None:
    hub = WatchHub(history=3)
    for revision in range(1, 11):
        hub.publish([_event(revision)])
    with pytest.raises(WatchExpired):
        hub.subscribe("/", 5)
    subscription = hub.subscribe("/", 7)
    assert [e.revision for e in subscription.drain()] == [8, 9, 10]


async def test_hub_cuts_off_a_slow_subscriber_instead_of_buffering_forever() -> None:
    hub = WatchHub(history=100, subscriber_buffer=2)
    subscription = hub.subscribe("/", 0)
    for revision in range(1, 5):
        hub.publish([_event(revision)])
    with pytest.raises(WatchExpired):
        await asyncio.wait_for(subscription.next(), 1)


async def test_a_watch_may_start_at_a_revision_still_on_its_way_to_the_hub() -> None:
    """The state runs ahead of the hub by the events not yet handed to the loop: a watch starting at the
    state's revision is not refused (it was with an empty history), and gets everything after it."""
    hub = WatchHub(history=100)
    subscription = hub.subscribe("/", 3)  # the state has applied revisions 1-3; the hub has none of them yet
    hub.publish([_event(revision) for revision in range(1, 6)])
    assert [e.revision for e in subscription.drain()] == [4, 5]


async def test_after_a_state_is_installed_watches_start_no_lower_than_it() -> None:
    hub = WatchHub(history=100)
    hub.publish([_event(revision) for revision in range(1, 4)])
    earlier = hub.subscribe("/", 3)
    hub.reset(10)  # a snapshot at revision 10 replaced the state: revisions 4-10 are never published
    with pytest.raises(WatchExpired):
        earlier.drain()
    with pytest.raises(WatchExpired):
        hub.subscribe("/", 5)
    subscription = hub.subscribe("/", 10)
    hub.publish([_event(11)])
    assert [e.revision for e in subscription.drain()] == [11]


async def test_hub_filters_by_prefix() -> None:
    hub = WatchHub()
    subscription = hub.subscribe("/registry/pods/a/", 0)
    hub.publish([_event(1, "/registry/pods/b/x"), _event(2, "/registry/pods/a/y")])
    assert [e.key for e in subscription.drain()] == ["/registry/pods/a/y"]


def test_a_batch_applies_each_command_with_its_own_outcome_and_revision() -> None:
    state = KVState()
    state.apply({"op": "create", "key": "/registry/things/a", "value": b"1"})
    results, events = state.apply_batch([
        {"op": "create", "key": "/registry/things/b", "value": b"2", "request_id": "b"},
        {"op": "create", "key": "/registry/things/a", "value": b"x"},  # exists: fails alone
        {"op": "update", "key": "/registry/things/a", "value": b"3", "mod_revision": 1},
    ])
    assert [r.status for r in results] == ["ok", "exists", "ok"]
    assert [(e.revision, e.key) for e in events] == [(2, "/registry/things/b"), (3, "/registry/things/a")]
    again, replayed = state.apply_batch([{"op": "create", "key": "/registry/things/b", "value": b"2",
                                          "request_id": "b"}])
    assert again[0] == results[0] and replayed == []
