"""Leader election over a Lease: one leader at a time, takeover after expiry, races lost by stale writes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from minik8s.api.registry import ResourceKind
from minik8s.client.errors import AlreadyExists, Conflict, NotFound, ServerUnreachable
from minik8s.client.leader import LeaderElector, LeaseApi
from tests.support.waiting import eventually

RETRY = 0.003


class FakeLeaseStore:
    """The apiserver's view of Leases: create-if-absent and update-if-resourceVersion-matches."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.revision = 0

    def lease(self, name: str = "lock", namespace: str = "kube-system") -> dict[str, Any]:
        return self.leases[(namespace, name)]

    def store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.revision += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.revision)
        self.leases[(stored["metadata"]["namespace"], stored["metadata"]["name"])] = stored
        return copy.deepcopy(stored)


class FakeLeaseApi:
    """One elector's connection to the store; `cut` makes every call fail like a partition."""

    def __init__(self, store: FakeLeaseStore) -> None:
        self.store = store
        self.cut = False
        self.before_update: Callable[[], Any] | None = None
        self.calls = 0  # every request, answered or not: how many rounds this elector has tried

    def _check(self) -> None:
        self.calls += 1
        if self.cut:
            raise ServerUnreachable("partitioned")

    async def get(self, kind: ResourceKind, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        self._check()
        found = self.store.leases.get((namespace or "", name))
        if found is None:
            raise NotFound(404, "NotFound", f'leases "{name}" not found')
        return copy.deepcopy(found)

    async def create(self, kind: ResourceKind, obj: dict[str, Any], *,
                     namespace: str | None = None) -> dict[str, Any]:
        self._check()
        if (namespace, obj["metadata"]["name"]) in self.store.leases:
            raise AlreadyExists(409, "AlreadyExists", "exists")
        return self.store.store({**obj, "metadata": {**obj["metadata"], "namespace": namespace}})

    async def update(self, kind: ResourceKind, obj: dict[str, Any]) -> dict[str, Any]:
        self._check()
        if self.before_update is not None:
            await self.before_update()
        current = self.store.leases[(obj["metadata"]["namespace"], obj["metadata"]["name"])]
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        return self.store.store(obj)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def elector(api: FakeLeaseApi, identity: str, clock: FakeClock, **options: Any) -> LeaderElector:
    typed_api: LeaseApi = api
    return LeaderElector(typed_api, lease_name="lock", identity=identity, lease_duration=0.5,
                         renew_deadline=0.2, retry_period=RETRY, clock=clock, **options)


class Leading:
    """A lead() that records who is leading right now."""

    def __init__(self) -> None:
        self.current: set[str] = set()
        self.max_concurrent = 0
        self.started: list[str] = []
        self.cancelled: list[str] = []

    def for_(self, identity: str) -> Callable[[], Any]:
        async def lead() -> None:
            self.current.add(identity)
            self.started.append(identity)
            self.max_concurrent = max(self.max_concurrent, len(self.current))
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(identity)
                raise
            finally:
                self.current.discard(identity)
        return lead


async def rounds(*apis: FakeLeaseApi, count: int) -> None:
    """Wait until each elector has made `count` more requests: that many retry or renew rounds have run."""
    targets = [(api, api.calls + count) for api in apis]
    await eventually(f"{count} more requests of each elector",
                     lambda: all(api.calls >= target for api, target in targets), timeout=1.0)


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_only_one_of_two_leads() -> None:
    store, clock, leading = FakeLeaseStore(), FakeClock(), Leading()
    first_api, second_api = FakeLeaseApi(store), FakeLeaseApi(store)
    first, second = elector(first_api, "a", clock), elector(second_api, "b", clock)
    tasks = [asyncio.create_task(e.run(leading.for_(e.identity))) for e in (first, second)]
    await eventually("one elector to lead", lambda: len(leading.started) == 1, timeout=1.0)
    await rounds(first_api, second_api, count=10)  # several renew/retry rounds of both
    assert leading.max_concurrent == 1 and len(leading.started) == 1
    assert [first.is_leader, second.is_leader].count(True) == 1
    spec = store.lease()["spec"]
    assert spec["holderIdentity"] == leading.started[0]
    assert spec["leaseDurationSeconds"] == 1 and spec["leaseTransitions"] == 0
    assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == len("2006-01-02T15:04:05.000000Z")
    await stop(*tasks)


async def test_the_other_takes_over_only_after_the_lease_expires() -> None:
    store, clock, leading = FakeLeaseStore(), FakeClock(), Leading()
    second_api = FakeLeaseApi(store)
    first = elector(FakeLeaseApi(store), "a", clock, release_on_cancel=False)
    second = elector(second_api, "b", clock)
    first_task = asyncio.create_task(first.run(leading.for_("a")))
    await eventually("a to lead", lambda: first.is_leader, timeout=1.0)
    await stop(first_task)  # "a" dies without releasing
    second_task = asyncio.create_task(second.run(leading.for_("b")))
    await rounds(second_api, count=10)  # b has looked at the lease again and again
    assert not second.is_leader  # the lease has not expired by b's own observation
    clock.now += 1.01  # leaseDurationSeconds (1) after b last saw the lease change
    await eventually("b to lead", lambda: second.is_leader, timeout=1.0)
    assert store.lease()["spec"]["holderIdentity"] == "b"
    assert store.lease()["spec"]["leaseTransitions"] == 1
    await stop(second_task)


async def test_release_on_cancel_lets_a_standby_take_over_at_once() -> None:
    store, clock, leading = FakeLeaseStore(), FakeClock(), Leading()
    second_api = FakeLeaseApi(store)
    first, second = elector(FakeLeaseApi(store), "a", clock), elector(second_api, "b", clock)
    first_task = asyncio.create_task(first.run(leading.for_("a")))
    await eventually("a to lead", lambda: first.is_leader, timeout=1.0)
    second_task = asyncio.create_task(second.run(leading.for_("b")))
    await rounds(second_api, count=5)  # b is standing by, seeing a's lease held
    await stop(first_task)
    assert leading.cancelled == ["a"]
    await eventually("b to lead", lambda: second.is_leader, timeout=1.0)  # no clock advance needed
    await stop(second_task)


async def test_a_leader_that_cannot_renew_stops_leading() -> None:
    store, clock, leading = FakeLeaseStore(), FakeClock(), Leading()
    api = FakeLeaseApi(store)
    only = elector(api, "a", clock)
    task = asyncio.create_task(only.run(leading.for_("a")))
    await eventually("a to lead", lambda: only.is_leader and leading.current == {"a"}, timeout=1.0)
    api.cut = True
    clock.now += 0.25  # past renew_deadline (0.2) without a successful renewal
    await eventually("a to stop leading",
                     lambda: not only.is_leader and leading.cancelled == ["a"], timeout=1.0)
    api.cut = False
    await eventually("a to lead",
                     lambda: only.is_leader and leading.current == {"a"}, timeout=1.0)  # it tries again
    await stop(task)


async def test_a_write_with_a_stale_resource_version_loses() -> None:
    store, clock = FakeLeaseStore(), FakeClock()
    store.store({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "lock", "namespace": "kube-system"},
                 "spec": {"holderIdentity": "gone", "leaseDurationSeconds": 1}})
    apis = [FakeLeaseApi(store), FakeLeaseApi(store)]
    both_read = asyncio.Barrier(2)
    for api in apis:
        api.before_update = both_read.wait  # both have read the same resourceVersion before writing
    electors = [elector(apis[0], "a", clock), elector(apis[1], "b", clock)]
    for candidate in electors:  # each must first see the lease unchanged for its duration
        assert not await candidate.try_acquire_or_renew()
    clock.now += 1.01
    results = await asyncio.gather(*(candidate.try_acquire_or_renew() for candidate in electors))
    assert sorted(results) == [False, True]
    winner = "a" if results[0] else "b"
    assert store.lease()["spec"]["holderIdentity"] == winner


async def test_run_returns_and_releases_when_lead_finishes() -> None:
    store, clock = FakeLeaseStore(), FakeClock()
    only = elector(FakeLeaseApi(store), "a", clock)
    done = []

    async def lead() -> None:
        done.append(True)

    await asyncio.wait_for(only.run(lead), 1.0)
    assert done == [True]
    assert store.lease()["spec"]["holderIdentity"] == ""
    assert not only.is_leader
