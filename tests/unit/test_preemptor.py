"""Preemption carried out: the victims marked DisruptionTarget then deleted with their grace period, the Preempted
event, the nomination written with the pod's condition, lower-priority nominations dropped, and nominated pods
holding their node's room against lower-priority pods only."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from minik8s.scheduler.decision import Unschedulable, schedule_pod
from minik8s.scheduler.pod_facts import pod_facts
from minik8s.scheduler.scheduler import Scheduler
from tests.unit.scheduler_builders import node, pod


class FakeClient:
    """Pods by name; records status writes and deletes."""

    def __init__(self, *pods: dict[str, Any]) -> None:
        self.pods = {p["metadata"]["name"]: copy.deepcopy(p) for p in pods}
        self.status_updates: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, str | None]] = []

    async def get(self, kind: Any, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self.pods[name])

    async def update_status(self, kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        self.status_updates.append(copy.deepcopy(obj))
        self.pods[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return obj

    async def delete(self, kind: Any, name: str, *, namespace: str | None = None,
                     preconditions_uid: str | None = None) -> dict[str, Any]:
        self.deleted.append((name, preconditions_uid))
        return {}


def with_priority(obj: dict[str, Any], priority: int, **spec: Any) -> dict[str, Any]:
    obj["spec"].update(priority=priority, **spec)
    return obj


def scheduler_with(client: FakeClient, *placed: dict[str, Any]) -> Scheduler:
    scheduler = Scheduler(client, max_binds_in_flight=1)  # type: ignore[arg-type]
    scheduler.cache.add_or_update_node(node("n1", cpu="2"))
    for obj in placed:
        scheduler.pods._cache[f"default/{obj['metadata']['name']}"] = obj
        scheduler.cache.add_or_update_pod(obj)
    return scheduler


async def drain(scheduler: Scheduler) -> None:
    while scheduler._background:
        await asyncio.gather(*list(scheduler._background))


async def test_victims_are_marked_then_deleted_and_the_pod_is_nominated() -> None:
    victim = with_priority(pod("low", cpu="2", node_name="n1"), 0)
    client = FakeClient(victim)
    scheduler = scheduler_with(client, victim)
    urgent = with_priority(pod("urgent", cpu="2"), 100)
    facts = pod_facts(urgent)
    decision = schedule_pod(facts, scheduler.cache.view())
    assert isinstance(decision, Unschedulable)

    outcome = scheduler.preemptor.preempt(urgent, facts, decision, scheduler.cache.view())
    assert (outcome.message, outcome.nominated) == ("0/1 nodes are available: 1 Insufficient cpu.", "n1")
    await drain(scheduler)
    [marked] = client.status_updates
    condition = marked["status"]["conditions"][-1]
    assert condition | {"lastTransitionTime": None} == {
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod", "lastProbeTime": None,
        "lastTransitionTime": None}
    assert client.deleted == [("low", "uid-low")]  # no grace given: the pod's own applies

    await scheduler._report_unschedulable(urgent, outcome.message, nominated=outcome.nominated)
    assert client.status_updates[-1]["status"]["nominatedNodeName"] == "n1"
    assert scheduler.preemptor.nominations["default/urgent"][0] == "n1"


async def test_a_nominated_pod_holds_its_room_against_lower_priority_pods_only() -> None:
    scheduler = scheduler_with(FakeClient())
    nominated = with_priority(pod("urgent", cpu="2"), 100)
    nominated["status"] = {"phase": "Pending", "nominatedNodeName": "n1"}
    scheduler.preemptor.track(nominated)
    view = scheduler.cache.view()
    low, high = pod_facts(with_priority(pod("low", cpu="1"), 0)), pod_facts(with_priority(pod("vip", cpu="1"), 500))
    with scheduler.preemptor.reserved(low, view):
        assert isinstance(schedule_pod(low, view), Unschedulable)
    assert view.nodes[0].requested_cpu == 0  # the reservation is gone once the decision is made
    with scheduler.preemptor.reserved(high, view):
        assert schedule_pod(high, view).node_name == "n1"  # type: ignore[union-attr]
    bound = copy.deepcopy(nominated)
    bound["spec"]["nodeName"] = "n1"
    scheduler.preemptor.track(bound)
    assert scheduler.preemptor.nominations == {}


async def test_lower_priority_nominations_on_the_chosen_node_are_dropped() -> None:
    victim = with_priority(pod("low", cpu="2", node_name="n1"), 0)
    waiting = with_priority(pod("middle", cpu="1"), 50)
    waiting["status"] = {"phase": "Pending", "nominatedNodeName": "n1"}
    client = FakeClient(victim, waiting)
    scheduler = scheduler_with(client, victim)
    scheduler.preemptor.track(waiting)
    urgent = with_priority(pod("urgent", cpu="2"), 100)
    facts = pod_facts(urgent)
    view = scheduler.cache.view()
    with scheduler.preemptor.reserved(facts, view):
        decision = schedule_pod(facts, view)
        assert isinstance(decision, Unschedulable)
        scheduler.preemptor.preempt(urgent, facts, decision, view)
    await drain(scheduler)
    assert set(scheduler.preemptor.nominations) == {"default/urgent"}
    cleared = [u for u in client.status_updates if u["metadata"]["name"] == "middle"]
    assert cleared and "nominatedNodeName" not in cleared[-1]["status"]
