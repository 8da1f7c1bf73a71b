"""The scheduling loop's reactions: to informer events, to each answer to a bind, to a pod that fits nowhere."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from minik8s.client.errors import ApiError, Conflict, InternalError, NotFound
from minik8s.scheduler.pod_facts import pod_facts
from minik8s.scheduler.queue import ACTIVE, BACKOFF, UNSCHEDULABLE, SchedulingQueue
from minik8s.scheduler.scheduler import Scheduler, with_condition
from tests.unit.scheduler_builders import node, pod


class FakeClient:
    """Answers bind with `bind_error` (or success) and records status updates."""

    def __init__(self, bind_error: ApiError | None = None) -> None:
        self.bind_error = bind_error
        self.binds: list[tuple[str, str, str]] = []
        self.status_updates: list[dict[str, Any]] = []

    async def bind(self, namespace: str, pod_name: str, node_name: str) -> dict[str, Any]:
        self.binds.append((namespace, pod_name, node_name))
        if self.bind_error is not None:
            raise self.bind_error
        return {}

    async def update_status(self, kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        self.status_updates.append(obj)
        return obj


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scheduler_with(client: FakeClient, clock: Clock | None = None) -> Scheduler:
    scheduler = Scheduler(client, max_binds_in_flight=1)  # type: ignore[arg-type]
    scheduler.queue = SchedulingQueue(clock=clock or Clock())
    scheduler.cache.add_or_update_node(node("n1"))
    return scheduler


async def bind(scheduler: Scheduler, name: str = "web") -> None:
    obj = pod(name, cpu="1")
    facts = pod_facts(obj)
    scheduler.cache.assume(facts, "n1")
    await scheduler._bind_slots.acquire()
    scheduler._binds_in_flight += 1
    await scheduler._bind(obj, facts, "n1")


def requested_cpu(scheduler: Scheduler) -> int:
    node_info = scheduler.cache.node_info("n1")
    return node_info.requested_cpu if node_info is not None else 0


async def test_an_accepted_bind_keeps_the_assumption_until_the_informer_confirms() -> None:
    client = FakeClient()
    scheduler = scheduler_with(client)
    await bind(scheduler)
    assert client.binds == [("default", "web", "n1")]
    assert scheduler.cache.is_assumed("default/web") and requested_cpu(scheduler) == 1000
    assert "default/web" not in scheduler.queue
    assert scheduler._events.get_nowait()[2:] == ("Normal", "Scheduled", "Successfully assigned default/web to n1")


@pytest.mark.parametrize("error", [
    Conflict(409, "Conflict", 'pod web is already assigned to node "n2"'),
    InternalError(500, "InternalError", "boom"),
])
async def test_a_refused_bind_forgets_the_assumption_and_retries_after_backoff(error: ApiError) -> None:
    scheduler = scheduler_with(FakeClient(error))
    await bind(scheduler)
    assert not scheduler.cache.is_assumed("default/web") and requested_cpu(scheduler) == 0
    assert scheduler.queue.where("default/web") == BACKOFF


async def test_a_bind_for_a_pod_that_is_gone_forgets_it_entirely() -> None:
    scheduler = scheduler_with(FakeClient(NotFound(404, "NotFound", 'pods "web" not found')))
    await bind(scheduler)
    assert requested_cpu(scheduler) == 0 and "default/web" not in scheduler.queue


async def test_the_condition_is_written_once_per_message_and_the_event_every_time() -> None:
    client = FakeClient()
    scheduler = scheduler_with(client)
    message = "0/1 nodes are available: 1 Insufficient cpu."
    await scheduler._report_unschedulable(pod("huge"), message)
    written = client.status_updates[-1]
    assert written["status"]["conditions"][-1]["message"] == message
    await scheduler._report_unschedulable(written, message)
    assert len(client.status_updates) == 1
    events = [scheduler._events.get_nowait()[2:] for _ in range(2)]
    assert events == [("Warning", "FailedScheduling", message)] * 2
    await scheduler._report_unschedulable(with_condition(written, written["status"]["conditions"][-1]),
                                          "0/2 nodes are available: 2 Insufficient cpu.")
    assert len(client.status_updates) == 2


# -- informer events ---------------------------------------------------------------------------------

def bound(obj: dict[str, Any]) -> dict[str, Any]:
    placed = copy.deepcopy(obj)
    placed["spec"]["nodeName"] = "n1"
    return placed


def test_a_new_unbound_pod_of_ours_is_queued_and_others_are_not() -> None:
    scheduler = scheduler_with(FakeClient())
    scheduler._on_pod_added(pod("ours"))
    scheduler._on_pod_added(pod("theirs", scheduler_name="my-scheduler"))
    assert (scheduler.queue.where("default/ours"), scheduler.queue.where("default/theirs")) == (ACTIVE, None)


async def test_a_waiting_pod_is_retried_when_its_spec_or_labels_change_not_its_status() -> None:
    scheduler = scheduler_with(FakeClient())
    waiting = pod("huge", cpu="100")
    scheduler.queue.park("default/huge")
    status_only = with_condition(waiting, {"type": "PodScheduled", "status": "False"})
    scheduler._on_pod_updated(waiting, status_only)
    assert scheduler.queue.where("default/huge") == UNSCHEDULABLE
    relabelled = copy.deepcopy(status_only)
    relabelled["metadata"]["labels"] = {"tier": "small"}
    scheduler._on_pod_updated(status_only, relabelled)
    assert scheduler.queue.where("default/huge") == ACTIVE


async def test_a_bound_pod_leaves_the_queue_and_is_counted_on_its_node() -> None:
    scheduler = scheduler_with(FakeClient())
    waiting = pod("web", cpu="1")
    scheduler._on_pod_added(waiting)
    scheduler._on_pod_updated(waiting, bound(waiting))
    assert "default/web" not in scheduler.queue and requested_cpu(scheduler) == 1000


async def test_a_pod_deleted_from_a_node_lets_waiting_pods_try_again() -> None:
    clock = Clock()
    scheduler = scheduler_with(FakeClient(), clock)
    running = bound(pod("web", cpu="1"))
    scheduler._on_pod_added(running)
    scheduler.queue.park("default/huge")
    clock.now += 60  # its backoff is long over
    scheduler._on_pod_deleted(running)
    assert requested_cpu(scheduler) == 0 and scheduler.queue.where("default/huge") == ACTIVE


async def test_only_a_node_change_that_matters_retries_waiting_pods() -> None:
    clock = Clock()
    scheduler = scheduler_with(FakeClient(), clock)
    scheduler.queue.park("default/huge")
    clock.now += 60
    heartbeat = node("n1")
    heartbeat["status"]["conditions"][0]["lastHeartbeatTime"] = "2024-01-01T00:00:10Z"
    scheduler._on_node_updated(node("n1"), heartbeat)
    assert scheduler.queue.where("default/huge") == UNSCHEDULABLE
    scheduler._on_node_updated(heartbeat, node("n1", cpu="128"))
    assert scheduler.queue.where("default/huge") == ACTIVE
