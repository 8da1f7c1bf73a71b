"""A Deployment's status and conditions, computed exactly as `kubectl rollout status` reads them.

`rollout status` waits for observedGeneration to catch up, for updatedReplicas, replicas and
availableReplicas to reach spec.replicas, and fails on a Progressing condition with reason
ProgressDeadlineExceeded; `kubectl describe` shows the Available and Progressing conditions
with their reasons. These functions are Kubernetes' calculateStatus, syncRolloutStatus and
the deployment util's condition helpers over plain JSON, with the clock passed in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.meta import JsonObject, find_condition, format_time, integer, parse_time, spec_of, status_of
from minik8s.controllers.deployment.spec import DeploymentSpec

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
# Reasons (pkg/controller/deployment/util).
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET_CREATED = "NewReplicaSetCreated"
FOUND_NEW_REPLICA_SET = "FoundNewReplicaSet"
NEW_REPLICA_SET_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"

_COUNT_FIELDS = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                 "unavailableReplicas")


@dataclass(frozen=True)
class ReplicaCounts:
    """What the Deployment's status sums over a ReplicaSet: its (planned) size and its status."""

    desired: int  # spec.replicas, after this sync's scaling
    current: int  # status.replicas
    ready: int
    available: int


def counts_of(replica_set: Mapping[str, Any], *, desired: int | None = None) -> ReplicaCounts:
    status = status_of(replica_set)
    return ReplicaCounts(
        desired=desired if desired is not None else integer(spec_of(replica_set).get("replicas"), default=1),
        current=integer(status.get("replicas"), default=0),
        ready=integer(status.get("readyReplicas"), default=0),
        available=integer(status.get("availableReplicas"), default=0),
    )


# -- conditions -------------------------------------------------------------------------------


def new_condition(condition_type: str, status: str, reason: str, message: str, *, now: datetime) -> JsonObject:
    stamp = format_time(now)
    return {"type": condition_type, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def remove_condition(status: JsonObject, condition_type: str) -> None:
    kept = [c for c in status.get("conditions") or [] if not (isinstance(c, Mapping) and c.get("type") == condition_type)]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def set_condition(status: JsonObject, condition: JsonObject) -> None:
    """SetDeploymentCondition: same status and reason → untouched; same status → keep transition time."""
    current = find_condition(status.get("conditions"), condition["type"])
    if current is not None and current.get("status") == condition["status"] \
            and current.get("reason") == condition["reason"]:
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, condition["type"])
    status["conditions"] = [*(status.get("conditions") or []), condition]


# -- status -----------------------------------------------------------------------------------


def calculate_status(
    *, generation: int, spec: DeploymentSpec, base_status: Mapping[str, Any],
    all_replica_sets: Sequence[ReplicaCounts], new_replica_set: ReplicaCounts | None, now: datetime,
) -> JsonObject:
    """calculateStatus: sums over the ReplicaSets, the Available condition; zero counts omitted.

    `base_status` is the Deployment's status as this sync has amended it so far (its
    conditions and collisionCount carry over).
    """
    available = sum(rs.available for rs in all_replica_sets)
    counts = {
        "observedGeneration": generation,
        "replicas": sum(rs.current for rs in all_replica_sets),
        "updatedReplicas": new_replica_set.current if new_replica_set is not None else 0,
        "readyReplicas": sum(rs.ready for rs in all_replica_sets),
        "availableReplicas": available,
        "unavailableReplicas": max(sum(rs.desired for rs in all_replica_sets) - available, 0),
    }
    status: JsonObject = {name: value for name, value in counts.items() if value}
    if base_status.get("conditions"):
        status["conditions"] = copy.deepcopy(list(base_status["conditions"]))
    if base_status.get("collisionCount") is not None:
        status["collisionCount"] = base_status["collisionCount"]
    if available >= spec.replicas - spec.max_unavailable:
        condition = new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE,
                                  "Deployment has minimum availability.", now=now)
    else:
        condition = new_condition(AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE,
                                  "Deployment does not have minimum availability.", now=now)
    set_condition(status, condition)
    return status


def _count(status: Mapping[str, Any], name: str) -> int:
    return integer(status.get(name), default=0)


def deployment_complete(spec: DeploymentSpec, generation: int, status: Mapping[str, Any]) -> bool:
    """DeploymentComplete: every desired replica updated and available, no others, spec observed."""
    return (_count(status, "updatedReplicas") == spec.replicas and _count(status, "replicas") == spec.replicas
            and _count(status, "availableReplicas") == spec.replicas
            and _count(status, "observedGeneration") >= generation)


def deployment_progressing(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """DeploymentProgressing: more updated, fewer old, more ready or more available replicas."""
    old_old = _count(old, "replicas") - _count(old, "updatedReplicas")
    new_old = _count(new, "replicas") - _count(new, "updatedReplicas")
    return (_count(new, "updatedReplicas") > _count(old, "updatedReplicas") or new_old < old_old
            or _count(new, "readyReplicas") > _count(old, "readyReplicas")
            or _count(new, "availableReplicas") > _count(old, "availableReplicas"))


def deployment_timed_out(spec: DeploymentSpec, status: Mapping[str, Any], *, now: datetime) -> bool:
    """DeploymentTimedOut: the Progressing condition was last updated longer than the deadline ago."""
    if not spec.has_progress_deadline:
        return False
    condition = find_condition(status.get("conditions"), PROGRESSING)
    if condition is None or condition.get("reason") == NEW_REPLICA_SET_AVAILABLE:
        return False
    if condition.get("reason") == TIMED_OUT:
        return True
    since = parse_time(condition.get("lastUpdateTime"))
    assert spec.progress_deadline_seconds is not None
    return since is not None and since + timedelta(seconds=spec.progress_deadline_seconds) < now


def rollout_status(
    *, name: str, generation: int, spec: DeploymentSpec, old_status: Mapping[str, Any], status: JsonObject,
    new_replica_set_name: str | None, replica_failures: Sequence[JsonObject], now: datetime,
) -> JsonObject:
    """syncRolloutStatus on top of calculateStatus: the Progressing and ReplicaFailure conditions."""
    if not spec.has_progress_deadline:
        remove_condition(status, PROGRESSING)
    current = find_condition(old_status.get("conditions"), PROGRESSING)
    complete_before = (_count(status, "replicas") == _count(status, "updatedReplicas") and current is not None
                       and current.get("reason") == NEW_REPLICA_SET_AVAILABLE)
    subject = f'ReplicaSet "{new_replica_set_name}"' if new_replica_set_name else f'Deployment "{name}"'
    if spec.has_progress_deadline and not complete_before:
        if deployment_complete(spec, generation, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_REPLICA_SET_AVAILABLE,
                                                f"{subject} has successfully progressed.", now=now))
        elif deployment_progressing(old_status, status):
            condition = new_condition(PROGRESSING, "True", REPLICA_SET_UPDATED, f"{subject} is progressing.", now=now)
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, condition)
        elif deployment_timed_out(spec, status, now=now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{subject} has timed out progressing.", now=now))
    if replica_failures:
        set_condition(status, copy.deepcopy(replica_failures[0]))
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failures(new_replica_set: Mapping[str, Any] | None,
                     all_replica_sets: Iterable[Mapping[str, Any]]) -> list[JsonObject]:
    """getReplicaFailures: ReplicaFailure conditions of the new ReplicaSet, else of any, as Deployment ones."""
    def converted(replica_sets: Iterable[Mapping[str, Any]]) -> list[JsonObject]:
        return [
            {"type": REPLICA_FAILURE, "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
             "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"), "message": c.get("message")}
            for rs in replica_sets for c in status_of(rs).get("conditions") or []
            if isinstance(c, Mapping) and c.get("type") == REPLICA_FAILURE
        ]
    failures = converted([new_replica_set]) if new_replica_set is not None else []
    return failures or converted(all_replica_sets)


def same_status(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """reflect.DeepEqual of two statuses, where an absent count equals zero."""
    if any(_count(old, name) != _count(new, name) for name in _COUNT_FIELDS):
        return False
    if (old.get("collisionCount") or 0) != (new.get("collisionCount") or 0):
        return False
    return list(old.get("conditions") or []) == list(new.get("conditions") or [])


def stuck_check_after(spec: DeploymentSpec, generation: int, old_status: Mapping[str, Any],
                      new_status: Mapping[str, Any], *, now: datetime) -> float | None:
    """requeueStuckDeployment: seconds until the progress deadline could pass; None if moot."""
    current = find_condition(old_status.get("conditions"), PROGRESSING)
    if not spec.has_progress_deadline or current is None:
        return None
    if deployment_complete(spec, generation, new_status) or current.get("reason") == TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    assert spec.progress_deadline_seconds is not None
    after = (since + timedelta(seconds=spec.progress_deadline_seconds) - now).total_seconds()
    return max(after, 0.0) + 1.0  # a second more, so the deadline has surely passed
