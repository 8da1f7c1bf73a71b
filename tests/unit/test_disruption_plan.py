"""The disruption controller's status calculation, case by case as Kubernetes' disruption_test.go covers it:
integer and percentage minAvailable, maxUnavailable over controllers' scales, unready, deleting and
just-evicted pods, budgets whose pods have not appeared, unmanaged pods, a missing controller (fail-safe),
expiring eviction records, and the stale DisruptionTarget condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.meta import format_time
from minik8s.controllers.disruption.plan import (
    ExpectedCountError,
    count_healthy,
    disrupted_pods,
    expected_count,
    fail_safe_status,
    plan_status,
    scale_needs,
    stale_disruption_wait,
    without_stale_disruption,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def budget(*, min_available: int | str | None = None, max_unavailable: int | str | None = None,
           status: dict[str, Any] | None = None, generation: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default", "generation": generation}, "spec": spec,
            "status": status or {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                 "expectedPods": 0}}


def pod(name: str, *, ready: bool = True, owner: str | None = "rs-1", deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "labels": {"app": "web"}}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs",
                                        "uid": owner, "controller": True}]
    if deleting:
        metadata["deletionTimestamp"] = format_time(NOW)
    return {"metadata": metadata, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pods(ready: int, unready: int = 0, **options: Any) -> list[dict[str, Any]]:
    return ([pod(f"r{index}", **options) for index in range(ready)]
            + [pod(f"u{index}", ready=False, **options) for index in range(unready)])


# (case, budget, pods, scales, expected (currentHealthy, desiredHealthy, expectedPods, disruptionsAllowed))
STATUS_CASES = [
    ("minAvailable 2 of 3 ready", budget(min_available=2), pods(3), {}, (3, 2, 3, 1)),
    ("minAvailable 3 of 3 ready: none allowed", budget(min_available=3), pods(3), {}, (3, 3, 3, 0)),
    ("minAvailable 2, one unready", budget(min_available=2), pods(2, 1), {}, (2, 2, 3, 0)),
    ("minAvailable 0 allows every healthy pod", budget(min_available=0), pods(3), {}, (3, 0, 3, 3)),
    ("minAvailable 50% of a scale of 5 rounds up to 3", budget(min_available="50%"), pods(5), {"rs-1": 5},
     (5, 3, 5, 2)),
    ("minAvailable 100% of the scale", budget(min_available="100%"), pods(3), {"rs-1": 3}, (3, 3, 3, 0)),
    ("minAvailable % counts the scale, not the pods", budget(min_available="50%"), pods(2), {"rs-1": 4},
     (2, 2, 4, 0)),
    ("maxUnavailable 1 of a scale of 3", budget(max_unavailable=1), pods(3), {"rs-1": 3}, (3, 2, 3, 1)),
    ("maxUnavailable 1, one already unready", budget(max_unavailable=1), pods(2, 1), {"rs-1": 3}, (2, 2, 3, 0)),
    ("maxUnavailable 30% of 10 rounds up to 3", budget(max_unavailable="30%"), pods(10), {"rs-1": 10},
     (10, 7, 10, 3)),
    ("maxUnavailable above the scale: desired never below 0", budget(max_unavailable=5), pods(2), {"rs-1": 2},
     (2, 0, 2, 2)),
    ("no pods yet: nothing allowed", budget(min_available=0), [], {}, (0, 0, 0, 0)),
    ("deleting pods are not healthy", budget(min_available=1), pods(2, deleting=True), {}, (0, 1, 2, 0)),
    ("neither minAvailable nor maxUnavailable", budget(), pods(3), {}, (3, 0, 0, 0)),
]


@pytest.mark.parametrize(("case", "pdb", "the_pods", "scales", "expected"), STATUS_CASES,
                         ids=[case[0] for case in STATUS_CASES])
def test_status(case: str, pdb: dict[str, Any], the_pods: list[dict[str, Any]], scales: dict[str, int],
                expected: tuple[int, int, int, int]) -> None:
    plan = plan_status(pdb, the_pods, scales, NOW)
    status = plan.status
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"],
            status["disruptionsAllowed"]) == expected
    assert status["observedGeneration"] == 1
    condition = status["conditions"][0]
    allowed = expected[3] > 0
    assert condition | {"lastTransitionTime": None} == {
        "type": "DisruptionAllowed", "status": "True" if allowed else "False",
        "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "", "observedGeneration": 1,
        "lastTransitionTime": None}
    assert condition["lastTransitionTime"] == format_time(NOW)
    assert plan.changed


def test_a_status_already_true_is_not_written_again_and_keeps_its_transition_time() -> None:
    first = plan_status(budget(min_available=2), pods(3), {}, NOW)
    stored = budget(min_available=2, status=first.status)
    again = plan_status(stored, pods(3), {}, NOW + timedelta(minutes=5))
    assert not again.changed
    assert again.status["conditions"] == first.status["conditions"]
    # a new generation (the spec changed) must be observed even when the counts do not move
    assert plan_status(budget(min_available=2, status=first.status, generation=2), pods(3), {}, NOW).changed


def test_the_condition_moves_its_transition_time_only_when_its_status_changes() -> None:
    allowed = plan_status(budget(min_available=2), pods(3), {}, NOW).status
    later = NOW + timedelta(minutes=1)
    refused = plan_status(budget(min_available=2, status=allowed), pods(2), {}, later).status
    assert (refused["conditions"][0]["status"], refused["conditions"][0]["lastTransitionTime"]) == (
        "False", format_time(later))


def test_pods_without_a_controller_are_unmanaged_and_a_missing_controller_is_an_error() -> None:
    the_pods = [*pods(2), pod("bare", owner=None)]
    plan = plan_status(budget(max_unavailable=1), the_pods, {"rs-1": 2}, NOW)
    assert plan.unmanaged == ("bare",)
    assert (plan.status["expectedPods"], plan.status["desiredHealthy"]) == (2, 1)
    # an integer minAvailable needs no controller at all
    assert scale_needs(budget(min_available=1), the_pods).references == {}
    assert set(scale_needs(budget(min_available="10%"), the_pods).references) == {"rs-1"}
    with pytest.raises(ExpectedCountError, match='found no controllers for pod "r0"'):
        expected_count(budget(max_unavailable=1), pods(2), {"rs-1": None})


def test_each_controller_is_counted_once_however_many_pods_it_has() -> None:
    the_pods = [*pods(3), pod("other", owner="rs-2")]
    assert expected_count(budget(min_available="50%"), the_pods, {"rs-1": 3, "rs-2": 1}).expected_pods == 4


def test_the_fail_safe_status_allows_nothing_and_says_why() -> None:
    good = plan_status(budget(min_available=1), pods(3), {}, NOW).status
    safe = fail_safe_status(budget(min_available=1, status=good), 'found no controllers for pod "x"', NOW)
    assert safe["disruptionsAllowed"] == 0 and safe["currentHealthy"] == 3
    assert safe["conditions"][0] | {"lastTransitionTime": None} == {
        "type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed",
        "message": 'found no controllers for pod "x"', "observedGeneration": 1, "lastTransitionTime": None}


def test_an_evicted_pod_stops_counting_until_it_is_deleted_or_its_record_expires() -> None:
    evicted_at = NOW - timedelta(seconds=30)
    status = {"disruptionsAllowed": 0, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
              "disruptedPods": {"r0": format_time(evicted_at), "gone": format_time(evicted_at)}}
    pdb = budget(min_available=2, status=status)
    plan = plan_status(pdb, pods(3), {}, NOW)
    assert plan.status["disruptedPods"] == {"r0": format_time(evicted_at)}  # a pod no longer there is dropped
    assert (plan.status["currentHealthy"], plan.status["disruptionsAllowed"]) == (2, 0)
    assert plan.recheck_at == evicted_at + timedelta(minutes=2)
    # once the pod is being deleted its record is no longer needed
    the_pods = [pod("r0", deleting=True), pod("r1"), pod("r2")]
    kept, recheck, expired = disrupted_pods(pdb, the_pods, NOW)
    assert (kept, recheck, expired) == ({}, None, ())
    # two minutes on, a pod that was never deleted counts again and is reported
    kept, _, expired = disrupted_pods(pdb, pods(3), NOW + timedelta(minutes=3))
    assert (kept, expired) == ({}, ("r0",))
    assert count_healthy(pods(3), {"r0": format_time(evicted_at)}, NOW + timedelta(minutes=3)) == 3


def test_a_disruption_target_left_on_a_pod_nobody_deleted_goes_false_after_two_minutes() -> None:
    marked = pod("r0")
    marked["status"]["conditions"].append({"type": "DisruptionTarget", "status": "True",
                                           "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting",
                                           "lastTransitionTime": format_time(NOW - timedelta(seconds=90))})
    assert stale_disruption_wait(marked, NOW) == timedelta(seconds=30)
    assert stale_disruption_wait(marked, NOW + timedelta(minutes=5)) == timedelta(0)
    cleared = without_stale_disruption(marked, NOW)
    condition = cleared["status"]["conditions"][1]
    assert (condition["status"], condition["reason"], condition["lastTransitionTime"]) == (
        "False", "EvictionByEvictionAPI", format_time(NOW))
    assert stale_disruption_wait(cleared, NOW) is None
    marked["metadata"]["deletionTimestamp"] = format_time(NOW)  # being deleted: the condition is right
    assert stale_disruption_wait(marked, NOW) is None
