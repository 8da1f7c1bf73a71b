"""What a PodDisruptionBudget's status says, computed purely from its pods and their controllers' scales.

Kubernetes' disruption controller (pkg/controller/disruption/disruption.go), step by step:

- expected pods and desired healthy (getExpectedPodCount): an integer `minAvailable` is the desired
  count and the matching pods are the expected; a percentage `minAvailable`, or any `maxUnavailable`,
  is taken of the sum of the scales of the pods' controllers (each controller once), rounded up —
  desired = expected - maxUnavailable, never below 0. A pod without a controller is *unmanaged*
  (an event says the status cannot be right); a controller that cannot be found is an error.
- disrupted pods (buildDisruptedPodMap): an eviction records the pod it allowed; the record stays
  until the pod is seen being deleted or gone, or two minutes passed (then the pod gets a NotDeleted
  warning); the earliest expiry is when to look again.
- current healthy (countHealthyPods): Ready pods not being deleted and not just disrupted.
- disruptions allowed: current - desired, but 0 when negative or when no pods are expected (a budget
  whose pods have not appeared yet must stay safe).
- the DisruptionAllowed condition follows (SufficientPods / InsufficientPods); on an error the status is
  made safe instead (failSafe: 0 allowed, condition False, reason SyncFailed, the error as message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.disruption_budget import (
    DISRUPTION_TARGET,
    SYNC_FAILED,
    conditions_up_to_date,
    scaled_value,
    with_disruption_allowed_condition,
)
from minik8s.api.meta import (
    JsonObject,
    controller_ref_of,
    format_time,
    generation_of,
    is_condition_true,
    is_deleting,
    mapping_at,
    name_of,
    parse_time,
    spec_of,
    status_of,
)

DELETION_TIMEOUT = timedelta(minutes=2)
COUNTS = ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed")


class ExpectedCountError(Exception):
    """The budget's expected pods cannot be known (Kubernetes' CalculateExpectedPodCountFailed)."""


@dataclass(frozen=True)
class Expected:
    expected_pods: int
    desired_healthy: int
    unmanaged: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusPlan:
    status: JsonObject
    changed: bool  # whether the status must be written
    recheck_at: datetime | None = None  # when a disrupted pod's record expires
    not_deleted: tuple[str, ...] = ()  # pods an eviction allowed that were never deleted
    unmanaged: tuple[str, ...] = ()


def expected_count(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]],
                   scales: Mapping[str, int | None]) -> Expected:
    """getExpectedPodCount; `scales` maps each controller uid to its scale (None: no such controller)."""
    spec = spec_of(pdb)
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        expected, unmanaged = _expected_scale(pods, scales)
        desired = max(0, expected - _scaled(max_unavailable, expected))
        return Expected(expected, desired, unmanaged)
    if isinstance(min_available, int) and not isinstance(min_available, bool):
        return Expected(len(pods), min_available)
    if isinstance(min_available, str):
        expected, unmanaged = _expected_scale(pods, scales)
        return Expected(expected, _scaled(min_available, expected), unmanaged)
    return Expected(0, 0)


def _scaled(amount: Any, total: int) -> int:
    try:
        return scaled_value(amount, total)
    except (TypeError, ValueError) as error:
        raise ExpectedCountError(str(error)) from None


def _expected_scale(pods: Sequence[Mapping[str, Any]], scales: Mapping[str, int | None]) -> tuple[int, tuple[str, ...]]:
    """getExpectedScale: the sum of the scales of the pods' controllers, each counted once."""
    counted: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        reference = controller_ref_of(pod)
        if reference is None:
            unmanaged.append(name_of(pod))
            continue
        uid = str(reference.get("uid") or "")
        scale = scales.get(uid)
        if scale is None:
            raise ExpectedCountError(f'found no controllers for pod "{name_of(pod)}"')
        counted[uid] = scale
    return sum(counted.values()), tuple(unmanaged)


def disrupted_pods(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime
                   ) -> tuple[dict[str, str], datetime | None, tuple[str, ...]]:
    """buildDisruptedPodMap: (records kept, when the first expires, pods whose record expired undeleted)."""
    recorded = mapping_at(status_of(pdb), "disruptedPods")
    kept: dict[str, str] = {}
    recheck: datetime | None = None
    expired: list[str] = []
    for pod in pods:
        name = name_of(pod)
        disrupted_at = parse_time(recorded.get(name))
        if is_deleting(pod) or disrupted_at is None:
            continue
        expires = disrupted_at + DELETION_TIMEOUT
        if expires < now:
            expired.append(name)
            continue
        kept[name] = str(recorded[name])
        recheck = expires if recheck is None or expires < recheck else recheck
    return kept, recheck, tuple(expired)


def count_healthy(pods: Sequence[Mapping[str, Any]], disrupted: Mapping[str, str], now: datetime) -> int:
    """countHealthyPods: Ready, not being deleted, not disrupted within the deletion timeout."""
    healthy = 0
    for pod in pods:
        if is_deleting(pod):
            continue
        disrupted_at = parse_time(disrupted.get(name_of(pod)))
        if disrupted_at is not None and disrupted_at + DELETION_TIMEOUT > now:
            continue
        healthy += is_condition_true(pod, "Ready")
    return healthy


def plan_status(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], scales: Mapping[str, int | None],
                now: datetime) -> StatusPlan:
    """trySync + updatePdbStatus: the budget's new status, and whether it differs from the stored one.

    Raises ExpectedCountError when the expected count cannot be computed (the caller then fails safe)."""
    expected = expected_count(pdb, pods, scales)
    kept, recheck, expired = disrupted_pods(pdb, pods, now)
    healthy = count_healthy(pods, kept, now)
    allowed = healthy - expected.desired_healthy
    if expected.expected_pods <= 0 or allowed <= 0:
        allowed = 0
    status = status_of(pdb)
    counts = {"currentHealthy": healthy, "desiredHealthy": expected.desired_healthy,
              "expectedPods": expected.expected_pods, "disruptionsAllowed": allowed}
    unchanged = (all(status.get(name) == value for name, value in counts.items())
                 and dict(mapping_at(status, "disruptedPods")) == kept
                 and status.get("observedGeneration") == generation_of(pdb) and conditions_up_to_date(pdb))
    new: JsonObject = {**counts, "observedGeneration": generation_of(pdb),
                       "conditions": list(status.get("conditions") or [])}
    if kept:
        new["disruptedPods"] = kept
    new = with_disruption_allowed_condition(new, now=format_time(now))
    return StatusPlan(new, not unchanged, recheck, expired, expected.unmanaged)


def fail_safe_status(pdb: Mapping[str, Any], error: str, now: datetime) -> JsonObject:
    """failSafe: no disruption allowed, DisruptionAllowed False with reason SyncFailed and the error."""
    status = {**status_of(pdb), "disruptionsAllowed": 0}
    for count in COUNTS:
        status.setdefault(count, 0)
    return with_disruption_allowed_condition(status, now=format_time(now), reason=SYNC_FAILED, message=error)


@dataclass(frozen=True)
class ScaleNeeds:
    """The controllers whose scale a budget needs (uid → the pod's controller reference)."""

    references: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def scale_needs(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> ScaleNeeds:
    """Which controllers' scales `expected_count` will read: none for an integer minAvailable."""
    spec = spec_of(pdb)
    min_available = spec.get("minAvailable")
    if spec.get("maxUnavailable") is None and not isinstance(min_available, str):
        return ScaleNeeds()
    references: dict[str, Mapping[str, Any]] = {}
    for pod in pods:
        reference = controller_ref_of(pod)
        if reference is not None:
            references.setdefault(str(reference.get("uid") or ""), reference)
    return ScaleNeeds(references)


STALE_DISRUPTION_TIMEOUT = timedelta(minutes=2)


def stale_disruption_wait(pod: Mapping[str, Any], now: datetime) -> timedelta | None:
    """nonTerminatingPodHasStaleDisruptionCondition: None when the pod's DisruptionTarget can stay, else how
    long until it is stale (a pod marked by an eviction or a preemption that was never deleted)."""
    if is_deleting(pod) or status_of(pod).get("phase") in ("Succeeded", "Failed"):
        return None
    condition = next((c for c in status_of(pod).get("conditions") or []
                      if isinstance(c, Mapping) and c.get("type") == DISRUPTION_TARGET), None)
    if condition is None or condition.get("status") != "True" or condition.get("reason") == "TerminationByKubelet":
        return None
    since = parse_time(condition.get("lastTransitionTime")) or now
    return max(timedelta(0), STALE_DISRUPTION_TIMEOUT - (now - since))


def without_stale_disruption(pod: Mapping[str, Any], now: datetime) -> JsonObject:
    """The pod with its DisruptionTarget condition set to False (reason and message kept, as an apply leaves them)."""
    status = dict(status_of(pod))
    status["conditions"] = [
        {**c, "status": "False", "lastTransitionTime": format_time(now)}
        if isinstance(c, Mapping) and c.get("type") == DISRUPTION_TARGET else c
        for c in status.get("conditions") or []]
    return {**pod, "status": status}
