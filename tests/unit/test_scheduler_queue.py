"""The scheduling queue (order, parking, backoff) and the small pure rules of the scheduling loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minik8s.scheduler.queue import ACTIVE, BACKOFF, UNSCHEDULABLE, SchedulingQueue
from minik8s.scheduler.scheduler import needs_scheduling, unschedulable_condition, with_condition
from tests.unit.scheduler_builders import pod


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def pop_all(queue: SchedulingQueue, count: int) -> list[str]:
    return [await asyncio.wait_for(queue.pop(), 1) for _ in range(count)]


async def test_higher_priority_first_then_first_come() -> None:
    queue = SchedulingQueue()
    queue.add("low-1")
    queue.add("high", priority=100)
    queue.add("low-2")
    queue.add("low-1")  # already waiting: keeps its place
    assert await pop_all(queue, 3) == ["high", "low-1", "low-2"]


async def test_pop_waits_for_a_key() -> None:
    queue = SchedulingQueue()
    waiting = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.add("a")
    assert await asyncio.wait_for(waiting, 1) == "a"


async def test_a_parked_pod_waits_for_a_cluster_change_then_its_backoff() -> None:
    clock = Clock()
    queue = SchedulingQueue(initial_backoff=1.0, max_backoff=10.0, clock=clock)
    queue.park("p")
    assert queue.where("p") == UNSCHEDULABLE
    assert queue.move_to_active() == 1
    assert queue.where("p") == BACKOFF  # failed a moment ago: not straight back
    queue.park("p")
    clock.now += 5.0  # second failure backs off 2 s; 5 s have passed
    queue.move_to_active()
    assert queue.where("p") == ACTIVE
    assert await pop_all(queue, 1) == ["p"]


async def test_backoff_doubles_up_to_the_maximum() -> None:
    queue = SchedulingQueue(initial_backoff=1.0, max_backoff=10.0, clock=Clock())
    delays = []
    for _ in range(6):
        queue.park("p")
        delays.append(queue.backoff_of("p"))
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_a_backed_off_pod_comes_back_by_itself() -> None:
    queue = SchedulingQueue(initial_backoff=0.01, max_backoff=0.01)
    queue.retry_later("p")
    assert queue.where("p") == BACKOFF
    assert await pop_all(queue, 1) == ["p"]


async def test_move_to_active_can_pick_which_pods() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.park("a")
    queue.park("b")
    clock.now += 60
    assert queue.move_to_active(lambda key: key == "b") == 1
    assert (queue.where("a"), queue.where("b")) == (UNSCHEDULABLE, ACTIVE)


async def test_flush_retries_only_pods_parked_long_enough() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock=clock)
    queue.park("old")
    clock.now += 20
    queue.park("new")
    clock.now += 15
    assert queue.flush_parked(older_than=30) == 1
    assert (queue.where("old"), queue.where("new")) == (ACTIVE, UNSCHEDULABLE)


async def test_delete_removes_a_key_from_everywhere() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.add("active")
    queue.park("parked")
    queue.retry_later("backoff")
    for key in ("active", "parked", "backoff"):
        queue.delete(key)
    assert len(queue) == 0 and "active" not in queue
    queue.add("next")
    assert await pop_all(queue, 1) == ["next"]  # the deleted key's stale entry is skipped


async def test_adding_a_parked_pod_activates_it_at_once() -> None:
    queue = SchedulingQueue(clock=Clock())
    queue.park("p")
    queue.add("p")
    assert queue.where("p") == ACTIVE and len(queue) == 1


# -- rules of the loop ---------------------------------------------------------------------------------

def bound(obj: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["nodeName"] = "n1"
    return obj


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return obj


def finished(obj: dict[str, Any]) -> dict[str, Any]:
    obj["status"]["phase"] = "Succeeded"
    return obj


@pytest.mark.parametrize(("obj", "ours"), [
    (pod(), True),
    (pod(scheduler_name="default-scheduler"), True),
    (pod(scheduler_name="my-scheduler"), False),
    (bound(pod()), False),
    (deleting(pod()), False),
    (finished(pod()), False),
])
def test_which_pods_the_default_scheduler_takes(obj: dict[str, Any], ours: bool) -> None:
    assert needs_scheduling(obj, "default-scheduler") is ours


def test_another_scheduler_name_takes_only_its_own_pods() -> None:
    assert needs_scheduling(pod(scheduler_name="my-scheduler"), "my-scheduler")
    assert not needs_scheduling(pod(), "my-scheduler")


def test_the_unschedulable_condition_is_written_only_when_it_changes() -> None:
    message = "0/1 nodes are available: 1 Insufficient cpu."
    condition = unschedulable_condition(pod(), message, now="T1")
    assert condition == {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                         "lastProbeTime": None, "lastTransitionTime": "T1"}
    reported = with_condition(pod(), condition)
    assert unschedulable_condition(reported, message, now="T2") is None
    changed = unschedulable_condition(reported, "0/2 nodes are available: 2 Insufficient cpu.", now="T3")
    assert changed is not None and changed["lastTransitionTime"] == "T1"  # still False since T1


def test_with_condition_replaces_the_condition_of_its_type_in_a_copy() -> None:
    original = pod()
    original["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}, {"type": "Other"}]
    updated = with_condition(original, {"type": "PodScheduled", "status": "False"})
    assert updated["status"]["conditions"] == [{"type": "Other"}, {"type": "PodScheduled", "status": "False"}]
    assert original["status"]["conditions"][0] == {"type": "PodScheduled", "status": "True"}
