"""Watches counted per user and in all; how long a watch without timeoutSeconds may run."""

from __future__ import annotations

import pytest

from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.watch import DecodedEvents
from minik8s.apiserver.watch_limits import WatchRegistry, watch_timeout
from minik8s.store.state import StoreEvent


def test_a_user_past_the_per_user_limit_is_refused_with_429() -> None:
    registry = WatchRegistry(total=10, per_user=2)
    registry.acquire("alice"), registry.acquire("alice")
    with pytest.raises(StatusError) as refused:
        registry.acquire("alice")
    assert refused.value.code == 429 and refused.value.reason == "TooManyRequests"
    assert refused.value.retry_after == 1.0 and "alice" in refused.value.message
    registry.acquire("bob")
    assert registry.open == 3 and registry.by_user == {"alice": 2, "bob": 1}


def test_past_the_total_limit_everyone_is_refused() -> None:
    registry = WatchRegistry(total=2, per_user=5)
    registry.acquire("alice"), registry.acquire("bob")
    with pytest.raises(StatusError, match="2 watches are open"):
        registry.acquire("carol")


def test_a_released_lease_frees_its_place_once() -> None:
    registry = WatchRegistry(total=1, per_user=1)
    lease = registry.acquire("alice")
    lease.release()
    lease.release()
    assert registry.open == 0 and not registry.by_user
    registry.acquire("alice")


def test_zero_is_no_limit() -> None:
    registry = WatchRegistry(total=0, per_user=0)
    for _ in range(100):
        registry.acquire("alice")
    assert registry.open == 100


@pytest.mark.parametrize(("requested", "minimum", "chance", "expected"), [
    (5.0, 1800, 0.5, 5.0),  # the client's timeoutSeconds wins
    (None, 1800, 0.0, 1800.0),  # otherwise between the minimum and twice it, as Kubernetes
    (None, 1800, 0.5, 2700.0),
    (0.0, 1800, 0.25, 2250.0),  # timeoutSeconds=0 means none given
    (None, 0, 0.5, None),  # no minimum: the watch runs until the client leaves
])
def test_watch_timeout(requested: float | None, minimum: int, chance: float, expected: float | None) -> None:
    assert watch_timeout(requested, minimum, lambda: chance) == expected


def test_the_decoded_event_cache_is_bounded_in_bytes() -> None:
    decoded = DecodedEvents(size=2048, max_bytes=4 * 1024 * 1024)
    value = b'{"metadata":{"name":"big"},"data":{"blob":"' + b"x" * 900_000 + b'"}}'
    for revision in range(1, 41):
        decoded.get(StoreEvent(revision, "MODIFIED", "/registry/configmaps/default/big", value, value))
    assert decoded.cached_bytes <= 4 * 1024 * 1024
    newest = decoded.get(StoreEvent(40, "MODIFIED", "/registry/configmaps/default/big", value, value))
    assert newest[0]["metadata"]["resourceVersion"] == "40"
