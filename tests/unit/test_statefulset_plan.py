"""The StatefulSet decision, table by table: ordered and parallel creation and deletion, rolling updates
with a partition or maxUnavailable, OnDelete, failed pods, and the status `kubectl get sts` shows."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.controllers.statefulset.plan import CreatePod, Phase, plan_stateful_set
from tests.unit.statefulset_builders import inputs, pod, revision, stateful_set, summary

ONE = stateful_set()
REV1 = revision(ONE, 1)
TWO = stateful_set(image="web:2")
REV2 = revision(TWO, 2)
R1 = REV1["metadata"]["name"]
R2 = REV2["metadata"]["name"]


def pods_of(ready: dict[int, str], *, revision_name: str = R1, **overrides: Any) -> list[dict[str, Any]]:
    """Pods by ordinal: "ready", "pending" (created, not running), "unready" (running, not ready),
    "terminating", "failed"."""
    states: dict[str, dict[str, Any]] = {"ready": {}, "pending": {"phase": "Pending", "ready": False}, "unready": {"ready": False},
              "terminating": {"deleting": True}, "failed": {"phase": "Failed", "ready": False}}
    return [pod(overrides.get("set", ONE), ordinal, revision_name, **states[state])
            for ordinal, state in ready.items()]


@pytest.mark.parametrize(("case", "existing", "expected"), [
    ("nothing yet: only web-0 is made", {}, [("create", "web-0")]),
    ("web-0 pending: wait for it", {0: "pending"}, []),
    ("web-0 running but not ready: wait", {0: "unready"}, []),
    ("web-0 ready: web-1 next", {0: "ready"}, [("create", "web-1")]),
    ("web-1 missing below a ready web-2: web-1 comes back first", {0: "ready", 2: "ready"}, [("create", "web-1")]),
    ("all ready: nothing to do", {0: "ready", 1: "ready", 2: "ready"}, []),
    ("a terminating web-0 blocks the rest", {0: "terminating"}, []),
])
def test_ordered_ready_creates_one_pod_at_a_time_in_order(case: str, existing: dict[int, str],
                                                           expected: list[tuple[str, ...]]) -> None:
    plan = plan_stateful_set(inputs(ONE, pods_of(existing), update=REV1))
    assert summary(plan) == expected, case


def test_parallel_creates_every_missing_pod_at_once_in_slow_start_batches() -> None:
    parallel = stateful_set(policy="Parallel")
    plan = plan_stateful_set(inputs(parallel, [], update=revision(parallel)))
    assert summary(plan) == [("create", "web-0"), ("create", "web-1"), ("create", "web-2")]
    assert [phase.burst for phase in plan.phases] == [True]


def test_parallel_does_not_wait_for_an_unready_pod() -> None:
    parallel = stateful_set(policy="Parallel")
    plan = plan_stateful_set(inputs(parallel, pods_of({0: "pending"}, set=parallel), update=revision(parallel)))
    assert summary(plan) == [("create", "web-1"), ("create", "web-2")]


@pytest.mark.parametrize(("case", "policy", "existing", "expected"), [
    ("scale 3 to 1: the highest ordinal goes first", "OrderedReady", {0: "ready", 1: "ready", 2: "ready"},
     [("delete", "web-2")]),
    ("web-2 terminating: wait for it before web-1", "OrderedReady", {0: "ready", 1: "ready", 2: "terminating"}, []),
    ("web-2 gone: then web-1", "OrderedReady", {0: "ready", 1: "ready"}, [("delete", "web-1")]),
    ("an unready replica blocks the scale down", "OrderedReady", {0: "unready", 1: "ready", 2: "ready"}, []),
    ("the first unhealthy pod may go itself", "OrderedReady", {0: "ready", 1: "ready", 2: "unready"},
     [("delete", "web-2")]),
    ("Parallel: every condemned pod at once", "Parallel", {0: "ready", 1: "ready", 2: "ready"},
     [("delete", "web-2"), ("delete", "web-1")]),
])
def test_scale_down_goes_from_the_highest_ordinal(case: str, policy: str, existing: dict[int, str],
                                                  expected: list[tuple[str, ...]]) -> None:
    one = stateful_set(replicas=1, policy=policy)
    plan = plan_stateful_set(inputs(one, pods_of(existing, set=one), update=revision(one)))
    assert summary(plan) == expected, case


@pytest.mark.parametrize(("case", "partition", "existing", "expected"), [
    ("no partition: the highest outdated pod first", 0, {0: R1, 1: R1, 2: R1}, [("delete", "web-2")]),
    ("web-2 updated and ready: web-1 next", 0, {0: R1, 1: R1, 2: R2}, [("delete", "web-1")]),
    ("partition 2: only web-2 is rolled", 2, {0: R1, 1: R1, 2: R1}, [("delete", "web-2")]),
    ("partition 2, web-2 updated: the rest stays on the old revision", 2, {0: R1, 1: R1, 2: R2}, []),
    ("partition 3: nothing is rolled", 3, {0: R1, 1: R1, 2: R1}, []),
])
def test_rolling_update_respects_the_partition(case: str, partition: int, existing: dict[int, str],
                                               expected: list[tuple[str, ...]]) -> None:
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}
    updated = stateful_set(image="web:2", strategy=rolling)
    pods = [pod(updated, ordinal, name) for ordinal, name in existing.items()]
    plan = plan_stateful_set(inputs(updated, pods, current=REV1, update=REV2))
    assert summary(plan) == expected, case


def test_rolling_update_waits_while_an_updated_pod_is_unavailable() -> None:
    updated = stateful_set(image="web:2")
    pods = [pod(updated, 0, R1), pod(updated, 1, R1), pod(updated, 2, R2, ready=False)]
    assert summary(plan_stateful_set(inputs(updated, pods, current=REV1, update=REV2))) == []


def test_a_missing_pod_below_the_partition_comes_back_at_the_current_revision() -> None:
    partitioned = stateful_set(image="web:2", strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    pods = [pod(partitioned, 0, R1), pod(partitioned, 2, R2)]
    plan = plan_stateful_set(inputs(partitioned, pods, current=REV1, update=REV2))
    created = plan.phases[0].works[0][0]
    assert isinstance(created, CreatePod)
    assert created.pod["metadata"]["labels"]["controller-revision-hash"] == R1
    assert created.pod["spec"]["containers"][0]["image"] == "web:1"


@pytest.mark.parametrize("policy", ["OrderedReady", "Parallel"])
def test_max_unavailable_rolls_several_pods_at_once_from_the_top(policy: str) -> None:
    wide = stateful_set(image="web:2", replicas=4, policy=policy,
                        strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 2}})
    pods = [pod(wide, ordinal, R1) for ordinal in range(4)]
    assert summary(plan_stateful_set(inputs(wide, pods, current=REV1, update=REV2))) == [
        ("delete", "web-3"), ("delete", "web-2")]
    pods[3] = pod(wide, 3, R2, ready=False)
    # OrderedReady waits for the unready web-3 before anything else; Parallel rolls one more within the budget
    expected = [("delete", "web-2")] if policy == "Parallel" else []
    assert summary(plan_stateful_set(inputs(wide, pods, current=REV1, update=REV2))) == expected


def test_on_delete_replaces_nothing_until_a_pod_is_deleted_and_then_uses_the_new_template() -> None:
    on_delete = stateful_set(image="web:2", strategy={"type": "OnDelete"})
    pods = [pod(on_delete, ordinal, R1) for ordinal in range(3)]
    assert summary(plan_stateful_set(inputs(on_delete, pods, current=REV1, update=REV2))) == []
    plan = plan_stateful_set(inputs(on_delete, [pods[0], pods[2]], current=REV1, update=REV2))
    created = plan.phases[0].works[0][0]
    assert isinstance(created, CreatePod) and created.pod["metadata"]["name"] == "web-1"
    assert created.pod["metadata"]["labels"]["controller-revision-hash"] == R2


def test_a_failed_pod_is_deleted_and_nothing_else_happens_until_it_is_gone() -> None:
    assert summary(plan_stateful_set(inputs(ONE, pods_of({0: "failed"}), update=REV1))) == [("delete", "web-0")]
    gone_soon = pod(ONE, 0, R1, phase="Failed", ready=False, deleting=True)
    assert summary(plan_stateful_set(inputs(ONE, [gone_soon], update=REV1))) == []


def test_a_deleted_stateful_set_only_reports_its_status() -> None:
    deleting = stateful_set(deleting=True)
    plan = plan_stateful_set(inputs(deleting, pods_of({0: "ready"}, set=deleting), update=revision(deleting)))
    assert plan.phases == [] and plan.status["replicas"] == 1


def test_status_counts_and_completes_a_rolling_update() -> None:
    updated = stateful_set(image="web:2", generation=2)
    halfway = [pod(updated, 0, R1), pod(updated, 1, R2, ready=False), pod(updated, 2, R2)]
    status = plan_stateful_set(inputs(updated, halfway, current=REV1, update=REV2)).status
    assert status == {"observedGeneration": 2, "replicas": 3, "readyReplicas": 2, "currentReplicas": 1,
                      "updatedReplicas": 2, "currentRevision": R1, "updateRevision": R2, "collisionCount": 0,
                      "availableReplicas": 2}
    done = [pod(updated, ordinal, R2) for ordinal in range(3)]
    status = plan_stateful_set(inputs(updated, done, current=REV1, update=REV2)).status
    assert status["currentRevision"] == R2 and status["currentReplicas"] == 3


def test_status_of_an_empty_set_keeps_the_fields_kubernetes_always_writes() -> None:
    empty = stateful_set(replicas=0)
    status = plan_stateful_set(inputs(empty, [], update=revision(empty))).status
    assert status == {"observedGeneration": 1, "replicas": 0, "currentRevision": revision(empty)["metadata"]["name"],
                      "updateRevision": revision(empty)["metadata"]["name"], "collisionCount": 0,
                      "availableReplicas": 0}


def test_a_rolling_update_deletion_is_counted_off_the_current_replicas_at_once() -> None:
    updated = stateful_set(image="web:2")
    pods = [pod(updated, ordinal, R1) for ordinal in range(3)]
    status = plan_stateful_set(inputs(updated, pods, current=REV1, update=REV2)).status
    assert status["currentReplicas"] == 2


def test_min_ready_seconds_holds_the_next_pod_and_asks_to_look_again() -> None:
    slow = stateful_set(min_ready=30)
    just_ready = [pod(slow, 0, R1, ready_for=5)]
    plan = plan_stateful_set(inputs(slow, just_ready, update=revision(slow)))
    assert summary(plan) == [] and plan.requeue_after == 30.0
    assert plan.status["readyReplicas"] == 1 and plan.status["availableReplicas"] == 0


def test_ordinals_start_numbers_the_pods_from_it() -> None:
    numbered = stateful_set(replicas=2, start=5, policy="Parallel")
    plan = plan_stateful_set(inputs(numbered, [pod(numbered, 0, R1)], update=revision(numbered)))
    assert summary(plan) == [("create", "web-5"), ("create", "web-6"), ("delete", "web-0")]
    assert all(isinstance(phase, Phase) for phase in plan.phases)
