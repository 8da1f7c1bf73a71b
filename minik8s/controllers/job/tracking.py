"""Counting finished pods exactly once, pure: trackJobStatusAndRemoveFinalizers' decisions (v1.32).

A finished pod keeps the `batch.kubernetes.io/job-tracking` finalizer until it is counted, in three
steps the controller carries out: (1) its uid is written to `status.uncountedTerminatedPods` (with the
interim SuccessCriteriaMet/FailureTarget condition, if any); (2) its finalizer is removed; (3) uids
whose pods lost their finalizer move into `succeeded`/`failed`. A crash between any two steps repeats
the step, never counts twice (a uid is in the list or its pod has the finalizer, not both) and never
loses a pod (it cannot disappear while it holds the finalizer). Indexed Jobs count by index instead.
Once nothing is uncounted and no pod is terminating, the terminal Complete or Failed is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minik8s.api import meta
from minik8s.api.job_indexes import format_indexes
from minik8s.api.meta import JsonObject, format_time
from minik8s.controllers.common.pods import phase_of
from minik8s.controllers.job import conditions
from minik8s.controllers.job.assess import SyncContext
from minik8s.controllers.job.failure_policy import match_pod_failure_policy
from minik8s.controllers.job.pod_facts import (
    UNKNOWN_INDEX,
    completion_index,
    has_tracking_finalizer,
    is_indexed,
    is_pod_failed,
    valid_index,
)

MAX_UNCOUNTED_PODS = 500


@dataclass
class TrackingPlan:
    remove_finalizers: list[JsonObject] = field(default_factory=list)
    uids_with_finalizer: set[str] = field(default_factory=set)
    needs_flush: bool = False
    reached_max: bool = False
    final_condition: JsonObject | None = None  # Complete or Failed, written once everything is counted


def plan_tracking(context: SyncContext, needs_flush: bool) -> TrackingPlan:
    """Steps (1) and the choice of pods for (2); edits the context's Job status."""
    plan = TrackingPlan(needs_flush=needs_flush)
    plan.uids_with_finalizer = {meta.uid_of(pod) for pod in context.pods
                                if has_tracking_finalizer(pod) and meta.uid_of(pod) not in context.expected_removals}
    if clean_uncounted(context.status, plan.uids_with_finalizer):
        plan.needs_flush = True
    new_indexes = _collect_finished(context, plan)
    if is_indexed(context.job):
        _write_indexes(context, plan, new_indexes)
    plan.final_condition = _interim_condition(context, plan)
    return plan


def _collect_finished(context: SyncContext, plan: TrackingPlan) -> list[int]:
    uncounted = context.status.setdefault("uncountedTerminatedPods", {})
    pods = sorted(context.pods, key=completion_index) if is_indexed(context.job) else context.pods
    new_indexes: list[int] = []
    for pod in pods:
        uid = meta.uid_of(pod)
        if not has_tracking_finalizer(pod) or uid in context.expected_removals:
            continue
        failed = is_pod_failed(pod, context.job)
        if not can_remove_finalizer(context, pod, failed):
            continue
        plan.remove_finalizers.append(pod)
        if phase_of(pod) == "Succeeded" and uid not in context.uncounted_failed:
            if is_indexed(context.job):
                index = valid_index(pod, context.job)
                if index != UNKNOWN_INDEX and index not in context.previous_succeeded_indexes:
                    new_indexes.append(index)
                    plan.needs_flush = True
            elif uid not in context.uncounted_succeeded:
                uncounted.setdefault("succeeded", []).append(uid)
                plan.needs_flush = True
        elif (failed or _finishing_in_failure(context)) and _counts_as_failed(context, pod):
            uncounted.setdefault("failed", []).append(uid)
            plan.needs_flush = True
        if len(new_indexes) + len(uncounted.get("succeeded") or []) + len(uncounted.get("failed") or []) \
                >= MAX_UNCOUNTED_PODS:
            plan.reached_max = True
            break
    return new_indexes


def _finishing_in_failure(context: SyncContext) -> bool:
    """When the Job is finishing, but not successfully, every pod not succeeded counts as failed."""
    condition = context.finished_condition
    return condition is not None and condition.get("type") != "SuccessCriteriaMet"


def _counts_as_failed(context: SyncContext, pod: JsonObject) -> bool:
    uid = meta.uid_of(pod)
    listed = (context.status.get("uncountedTerminatedPods") or {}).get("failed") or []
    if uid in context.uncounted_failed or uid in listed:
        return False
    if is_indexed(context.job) and valid_index(pod, context.job) == UNKNOWN_INDEX:
        return False
    policy = context.spec.get("podFailurePolicy")
    return policy is None or match_pod_failure_policy(policy, pod).count_failed


def can_remove_finalizer(context: SyncContext, pod: JsonObject, failed: bool) -> bool:
    """Removable when the Job is being deleted or finishing, the pod succeeded, or it failed and is not the
    failed pod an index keeps until its replacement exists."""
    if meta.is_deleting(context.job) or context.finished_condition is not None or phase_of(pod) == "Succeeded":
        return True
    if not failed:
        return False
    if context.spec.get("backoffLimitPerIndex") is not None:
        kept = context.delayed_deletion.get(completion_index(pod))
        if kept is not None and meta.uid_of(kept) == meta.uid_of(pod):
            return False
    return True


def _write_indexes(context: SyncContext, plan: TrackingPlan, new_indexes: list[int]) -> None:
    context.succeeded_indexes = context.succeeded_indexes | set(new_indexes)
    text = format_indexes(context.succeeded_indexes)
    status = context.status
    if text != (status.get("completedIndexes") or ""):
        plan.needs_flush = True
    status["succeeded"] = len(context.succeeded_indexes)
    status["completedIndexes"] = text
    failed_text = format_indexes(context.failed_indexes) if context.failed_indexes is not None else None
    if failed_text != status.get("failedIndexes"):
        if failed_text is None:
            status.pop("failedIndexes", None)
        else:
            status["failedIndexes"] = failed_text
        plan.needs_flush = True


def _interim_condition(context: SyncContext, plan: TrackingPlan) -> JsonObject | None:
    """Write FailureTarget/SuccessCriteriaMet now; return the Failed/Complete to write once all is counted."""
    condition = context.finished_condition
    if condition is None:
        return None
    condition_list = context.status.setdefault("conditions", [])
    reason, message = str(condition.get("reason") or ""), str(condition.get("message") or "")
    if condition.get("type") == "FailureTarget":
        condition_list.append(condition)
        plan.needs_flush = True
        return conditions.new_condition("Failed", "True", reason, message, context.now)
    if condition.get("type") == "SuccessCriteriaMet":
        if not conditions.is_true(condition_list, "SuccessCriteriaMet"):
            condition_list.append(condition)
            plan.needs_flush = True
        return conditions.new_condition("Complete", "True", reason, message, context.now)
    return condition


def clean_uncounted(status: JsonObject, uids_with_finalizer: set[str]) -> bool:
    """cleanUncountedPodsWithoutFinalizers: step (3); True when the status changed."""
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for field_name, counter in (("succeeded", "succeeded"), ("failed", "failed")):
        listed = [str(uid) for uid in uncounted.get(field_name) or []]
        kept = [uid for uid in listed if uid in uids_with_finalizer]
        if len(kept) != len(listed):
            status[counter] = int(status.get(counter) or 0) + len(listed) - len(kept)
            changed = True
        if kept:
            uncounted[field_name] = kept
        else:
            uncounted.pop(field_name, None)
    return changed


def enact_finished(context: SyncContext, final: JsonObject | None) -> bool:
    """enactJobFinished: the terminal condition, once nothing is uncounted and no pod is terminating."""
    if final is None:
        return False
    uncounted = context.status.get("uncountedTerminatedPods") or {}
    if uncounted.get("succeeded") or uncounted.get("failed") or context.terminating > 0:
        return False
    condition_list = context.status.setdefault("conditions", [])
    conditions.ensure_status(condition_list, str(final["type"]), "True", str(final.get("reason") or ""),
                             str(final.get("message") or ""), context.now)
    if final["type"] == "Complete":
        context.status["completionTime"] = format_time(context.now)
    return True
