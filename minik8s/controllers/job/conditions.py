"""Job conditions as the Job controller writes them: Suspended, SuccessCriteriaMet, Complete, FailureTarget,
Failed, each with Kubernetes' reasons and messages.

A Job finishes in two steps: first the interim SuccessCriteriaMet (or FailureTarget) is written, then,
once every pod has been counted and none is terminating, the terminal Complete (or Failed) with the
same reason and message — so a client never sees a Job Complete while its pods still run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, format_time

COMPLETIONS_REACHED = "CompletionsReached"
COMPLETIONS_REACHED_MESSAGE = "Reached expected number of succeeded pods"
BACKOFF_LIMIT_EXCEEDED = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("DeadlineExceeded", "Job was active longer than specified deadline")
MAX_FAILED_INDEXES_EXCEEDED = ("MaxFailedIndexesExceeded",
                               "Job has exceeded the specified maximal number of failed indexes")
FAILED_INDEXES = ("FailedIndexes", "Job has failed indexes")
POD_FAILURE_POLICY = "PodFailurePolicy"
SUCCESS_POLICY = "SuccessPolicy"


def new_condition(condition_type: str, status: str, reason: str, message: str, now: datetime) -> JsonObject:
    moment = format_time(now)
    condition: JsonObject = {"type": condition_type, "status": status, "lastProbeTime": moment,
                             "lastTransitionTime": moment}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def find(conditions: list[Any], condition_type: str) -> JsonObject | None:
    for condition in conditions:
        if isinstance(condition, dict) and condition.get("type") == condition_type:
            return condition
    return None


def is_true(conditions: list[Any], condition_type: str) -> bool:
    found = find(conditions, condition_type)
    return found is not None and found.get("status") == "True"


def ensure_status(conditions: list[Any], condition_type: str, status: str, reason: str, message: str,
                  now: datetime) -> bool:
    """ensureJobConditionStatus, in place: update the condition, or add it unless False; True when changed."""
    found = find(conditions, condition_type)
    if found is not None:
        if (found.get("status"), found.get("reason", ""), found.get("message", "")) != (status, reason, message):
            found.clear()
            found.update(new_condition(condition_type, status, reason, message, now))
            return True
        return False
    if status != "False":
        conditions.append(new_condition(condition_type, status, reason, message, now))
        return True
    return False


def is_finished(job: Mapping[str, Any]) -> bool:
    """IsJobFinished: Complete or Failed is True."""
    conditions = (job.get("status") or {}).get("conditions") or []
    return is_true(conditions, "Complete") or is_true(conditions, "Failed")


def finished_at(job: Mapping[str, Any]) -> str | None:
    """The lastTransitionTime of the True Complete or Failed condition (when the Job finished)."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if (isinstance(condition, Mapping) and condition.get("type") in ("Complete", "Failed")
                and condition.get("status") == "True"):
            value = condition.get("lastTransitionTime")
            return value if isinstance(value, str) else None
    return None
