"""WorkQueue semantics controllers rely on, and run_workers' treatment of reconcile outcomes."""

from __future__ import annotations

import asyncio

import pytest

from minik8s.client.controller import run_workers
from minik8s.client.errors import Conflict, NotFound
from minik8s.client.workqueue import QueueShutDown, WorkQueue
from tests.support.waiting import eventually


async def test_a_key_is_queued_at_most_once() -> None:
    queue = WorkQueue()
    for key in ["a", "b", "a", "a", "c", "b"]:
        queue.add(key)
    assert queue.len() == 3
    assert [await queue.get() for _ in range(3)] == ["a", "b", "c"]


async def test_a_key_in_processing_goes_to_no_second_worker_and_returns_on_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")  # changed while being processed: dirty, not handed out
    assert queue.len() == 0
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not second.done()
    queue.done("a")
    assert await asyncio.wait_for(second, 1.0) == "a"


async def test_done_without_new_add_does_not_requeue() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.done(await queue.get())
    assert queue.len() == 0


class LoopClock:
    """The running loop's clock, moved forward by hand: timers fire when it passes them, not in real time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.real, self.offset = loop, loop.time, 0.0

    def __call__(self) -> float:
        return self.real() + self.offset

    async def advance(self, seconds: float) -> None:
        """Move the clock on and return once every timer due by then has run."""
        self.offset += seconds
        passed = asyncio.Event()
        self.loop.call_at(self(), passed.set)  # due last: the timers before it run first
        await asyncio.wait_for(passed.wait(), 1.0)


async def test_add_after_delays_and_the_earliest_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    monkeypatch.setattr(loop, "time", clock)
    queue = WorkQueue()
    queue.add_after("a", 10.0)
    queue.add_after("a", 0.01)
    await clock.advance(0.005)
    assert queue.len() == 0
    await clock.advance(0.01)
    assert await asyncio.wait_for(queue.get(), 1.0) == "a"
    queue.done("a")
    await clock.advance(20.0)
    assert queue.len() == 0  # the cancelled 10 s timer never fires


def test_rate_limited_backoff_doubles_caps_and_resets_on_forget() -> None:
    queue = WorkQueue(base_delay=0.005, max_delay=0.03)
    assert [queue.when("a") for _ in range(5)] == [0.005, 0.01, 0.02, 0.03, 0.03]
    assert queue.num_requeues("a") == 5
    assert queue.when("b") == 0.005  # per key
    queue.forget("a")
    assert (queue.num_requeues("a"), queue.when("a")) == (0, 0.005)


async def test_add_rate_limited_requeues_after_backoff() -> None:
    queue = WorkQueue(base_delay=0.001, max_delay=0.01)
    queue.add_rate_limited("a")
    assert await asyncio.wait_for(queue.get(), 1.0) == "a"
    assert queue.num_requeues("a") == 1


async def test_shutdown_wakes_waiting_workers() -> None:
    queue = WorkQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shutdown()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(waiting, 1.0)
    queue.add("a")
    assert queue.len() == 0


async def test_a_cancelled_getter_does_not_swallow_a_key() -> None:
    queue = WorkQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add("a")
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert await asyncio.wait_for(second, 1.0) == "a"


async def test_workers_never_reconcile_one_key_concurrently() -> None:
    queue = WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    runs: list[str] = []

    async def reconcile(key: str) -> None:
        if key in active:
            overlaps.append(key)
        active.add(key)
        runs.append(key)
        await asyncio.sleep(0.005)
        if len(runs) < 3:
            queue.add(key)  # an event arrives while it is being reconciled
        active.discard(key)

    workers = asyncio.create_task(run_workers(queue, reconcile, workers=4, name="test"))
    queue.add("a")
    await eventually("three runs and an idle queue",
                     lambda: len(runs) >= 3 and queue.len() == 0 and not active, timeout=1.0)
    queue.shutdown()
    await asyncio.wait_for(workers, 1.0)
    assert overlaps == []
    assert runs == ["a", "a", "a"]


@pytest.mark.parametrize(
    ("failure", "requeues_expected"),
    [(Conflict(409, "Conflict", "stale"), 0), (NotFound(404, "NotFound", "gone"), 1), (RuntimeError("bug"), 1)],
)
async def test_failures_are_retried_conflicts_at_once_others_with_backoff(
    failure: Exception, requeues_expected: int
) -> None:
    queue = WorkQueue(base_delay=0.001)
    calls: list[int] = []

    async def reconcile(key: str) -> None:
        calls.append(queue.num_requeues(key))
        if len(calls) == 1:
            raise failure

    workers = asyncio.create_task(run_workers(queue, reconcile, workers=1, name="test"))
    queue.add("a")
    await eventually("two calls", lambda: len(calls) == 2, timeout=1.0)
    await eventually("the backoff to be forgotten",
                     lambda: queue.num_requeues("a") == 0, timeout=1.0)  # success forgets the backoff
    queue.shutdown()
    await asyncio.wait_for(workers, 1.0)
    assert calls == [0, requeues_expected]
