"""The scheduler cache: bound and assumed pods counted once, assumptions confirmed, forgotten or expired."""

from __future__ import annotations

import copy
from typing import Any

from minik8s.scheduler.cache import SchedulerCache
from minik8s.scheduler.decision import Scheduled, Unschedulable, schedule_pod
from minik8s.scheduler.spread import spread_filter_state
from tests.unit.scheduler_builders import facts, node, pod, spread_constraint


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def bound(obj: dict[str, Any], node_name: str) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["spec"]["nodeName"] = node_name
    return obj


def requested_cpu(cache: SchedulerCache, node_name: str) -> int:
    node_info = cache.node_info(node_name)
    return node_info.requested_cpu if node_info is not None else 0


def test_an_assumed_pod_takes_the_last_slot_so_the_next_pod_does_not_get_it() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1", cpu="1"))
    first, second = facts("a", cpu="1"), facts("b", cpu="1")
    decision = schedule_pod(first, cache.view())
    assert decision == Scheduled("n1", 0, 1)
    cache.assume(first, "n1")
    assert schedule_pod(second, cache.view()) == Unschedulable(
        "0/1 nodes are available: 1 Insufficient cpu.", {"n1": ("Insufficient cpu",)})


def test_the_informer_confirming_a_bind_replaces_the_assumption_without_counting_twice() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1"))
    cache.assume(facts("a", cpu="1"), "n1")
    assert cache.add_or_update_pod(pod("a", cpu="1")) is None  # the informer is behind: still unbound
    assert cache.is_assumed("default/a")
    cache.add_or_update_pod(bound(pod("a", cpu="1"), "n1"))
    assert not cache.is_assumed("default/a")
    assert requested_cpu(cache, "n1") == 1000


def test_a_pod_bound_elsewhere_moves_from_its_assumed_node() -> None:
    cache = SchedulerCache()
    for name in ("n1", "n2"):
        cache.add_or_update_node(node(name))
    cache.assume(facts("a", cpu="1"), "n1")
    cache.add_or_update_pod(bound(pod("a", cpu="1"), "n2"))
    assert (requested_cpu(cache, "n1"), requested_cpu(cache, "n2")) == (0, 1000)


def test_a_failed_bind_forgets_the_assumption() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1"))
    cache.assume(facts("a", cpu="1"), "n1")
    cache.forget("default/a")
    assert requested_cpu(cache, "n1") == 0 and cache.node_of("default/a") is None


def test_forget_does_not_touch_a_pod_the_informer_already_confirmed() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1"))
    cache.assume(facts("a", cpu="1"), "n1")
    cache.add_or_update_pod(bound(pod("a", cpu="1"), "n1"))
    cache.forget("default/a")
    assert requested_cpu(cache, "n1") == 1000


def test_an_assumption_never_confirmed_expires_after_the_ttl_counted_from_the_end_of_binding() -> None:
    clock = Clock()
    cache = SchedulerCache(assume_ttl=30.0, clock=clock)
    cache.add_or_update_node(node("n1"))
    cache.assume(facts("a", cpu="1"), "n1")
    clock.now = 100.0
    assert cache.expire() == []  # the bind is still in flight
    cache.finish_binding("default/a")
    clock.now = 129.0
    assert cache.expire() == []
    clock.now = 130.0
    assert cache.expire() == ["default/a"]
    assert requested_cpu(cache, "n1") == 0


def test_finished_and_deleted_pods_stop_counting() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1"))
    cache.add_or_update_pod(bound(pod("a", cpu="1"), "n1"))
    cache.add_or_update_pod(bound(pod("b", cpu="1"), "n1"))
    done = bound(pod("a", cpu="1"), "n1")
    done["status"]["phase"] = "Succeeded"
    assert cache.add_or_update_pod(done) is None
    assert cache.remove_pod("default/b")
    assert requested_cpu(cache, "n1") == 0
    assert not cache.remove_pod("default/b")


def test_terminating_pods_still_hold_resources_but_no_longer_count_for_spreading() -> None:
    cache = SchedulerCache()
    cache.add_or_update_node(node("n1"))
    running = bound(pod("a", cpu="1", labels={"app": "web"}), "n1")
    cache.add_or_update_pod(running)
    spreading = facts("b", labels={"app": "web"}, spread=[spread_constraint(1, "kubernetes.io/hostname")])
    state = spread_filter_state(spreading, cache.view())
    assert state is not None and state.counts == ({"n1": 1},)
    terminating = copy.deepcopy(running)
    terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    cache.add_or_update_pod(terminating)
    node_info = cache.node_info("n1")
    assert node_info is not None and node_info.requested_cpu == 1000
    state = spread_filter_state(spreading, cache.view())
    assert state is not None and state.counts == ({"n1": 0},)


def test_pods_on_an_unknown_node_are_kept_until_the_node_arrives() -> None:
    cache = SchedulerCache()
    cache.add_or_update_pod(bound(pod("a", cpu="1"), "late"))
    assert cache.view().nodes == []
    cache.add_or_update_node(node("late"))
    assert [(n.name, n.requested_cpu) for n in cache.view().nodes] == [("late", 1000)]
    cache.remove_node("late")
    assert cache.view().nodes == [] and requested_cpu(cache, "late") == 1000


def test_only_scheduling_relevant_node_changes_count_as_changes() -> None:
    cache = SchedulerCache()
    original = node("n1")
    assert cache.add_or_update_node(original)
    heartbeat = copy.deepcopy(original)
    heartbeat["status"]["conditions"][0]["lastHeartbeatTime"] = "2024-01-01T00:00:10Z"
    assert not cache.add_or_update_node(heartbeat)
    for change in ({"labels": {"disk": "ssd"}}, {"unschedulable": True}, {"ready": "False"}, {"cpu": "8"},
                   {"taints": [{"key": "k", "value": "", "effect": "NoSchedule"}]}):
        assert cache.add_or_update_node(node("n1", **change)), change
        cache.add_or_update_node(original)


def test_image_spread_counts_the_nodes_holding_each_image() -> None:
    cache = SchedulerCache()
    images = [{"names": ["nginx:1.25"], "sizeBytes": 1}]
    cache.add_or_update_node(node("n1", images=images))
    cache.add_or_update_node(node("n2", images=images))
    cache.add_or_update_node(node("n3"))
    assert cache.view().image_nodes == {"nginx:1.25": 2}
    cache.remove_node("n2")
    assert cache.view().image_nodes == {"nginx:1.25": 1}


def test_namespace_labels_follow_the_namespaces() -> None:
    cache = SchedulerCache()
    cache.set_namespace({"metadata": {"name": "team", "labels": {"tier": "gold"}}})
    assert cache.view().namespace_labels == {"team": {"tier": "gold"}}
    cache.remove_namespace("team")
    assert cache.view().namespace_labels == {}
