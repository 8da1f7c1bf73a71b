"""The first half of a Job sync, pure: what the pods say, and whether the Job has reached an end.

`assess` is syncJob up to the point where it acts (pkg/controller/job/job_controller.go, v1.32): it
splits the pods into active, terminating and newly finished ones (a finished pod still carrying the
tracking finalizer and not yet in `status.uncountedTerminatedPods`), adds them to the counters, folds
them into the backoff record, and picks the condition the Job is heading for — FailureTarget
(PodFailurePolicy, BackoffLimitExceeded, DeadlineExceeded, MaxFailedIndexesExceeded, FailedIndexes)
or SuccessCriteriaMet (SuccessPolicy) — checked in Kubernetes' order. The SyncContext it returns is
then carried, and updated, through the rest of the sync (manage.py, tracking.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from minik8s.api import meta
from minik8s.api.job_indexes import lenient_indexes
from minik8s.api.meta import JsonObject, format_time
from minik8s.controllers.common.pods import is_active, phase_of
from minik8s.controllers.job import conditions
from minik8s.controllers.job.backoff import BackoffRecord, BackoffSettings, next_record
from minik8s.controllers.job.failure_policy import match_pod_failure_policy
from minik8s.controllers.job.indexes import failed_indexes, pods_with_delayed_deletion, succeeded_indexes
from minik8s.controllers.job.pod_facts import (
    UNKNOWN_INDEX,
    count_ready,
    has_tracking_finalizer,
    is_indexed,
    is_pod_failed,
    is_terminating,
    valid_index,
)


@dataclass
class SyncContext:
    """syncJobCtx: the Job (a copy whose status the sync edits) and what the sync learned of its pods."""

    job: JsonObject
    pods: list[JsonObject]
    active: list[JsonObject]
    ready: int
    terminating: int
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    expected_removals: frozenset[str]
    now: datetime
    settings: BackoffSettings
    succeeded: int = 0
    failed: int = 0
    backoff: BackoffRecord = field(default_factory=BackoffRecord)
    finished_condition: JsonObject | None = None
    previous_succeeded_indexes: set[int] = field(default_factory=set)
    succeeded_indexes: set[int] = field(default_factory=set)
    failed_indexes: set[int] | None = None
    delayed_deletion: dict[int, JsonObject] = field(default_factory=dict)
    requeue_after: float | None = None

    @property
    def status(self) -> JsonObject:
        status: JsonObject = self.job["status"]
        return status

    @property
    def spec(self) -> Mapping[str, Any]:
        return meta.spec_of(self.job)


def is_suspended(job: Mapping[str, Any]) -> bool:
    return meta.spec_of(job).get("suspend") is True


def assess(job: Mapping[str, Any], pods: Sequence[JsonObject], *, now: datetime, record: BackoffRecord,
           expected_removals: frozenset[str], settings: BackoffSettings) -> SyncContext:
    working = copy.deepcopy(dict(job))
    status = working.setdefault("status", {})
    uncounted = status.get("uncountedTerminatedPods")
    if not isinstance(uncounted, dict):
        uncounted = status["uncountedTerminatedPods"] = {}
    active = [pod for pod in pods if is_active(pod)]
    context = SyncContext(
        job=working, pods=list(pods), active=active, ready=count_ready(active),
        terminating=sum(1 for pod in pods if is_terminating(pod)),
        uncounted_succeeded={str(uid) for uid in uncounted.get("succeeded") or []},
        uncounted_failed={str(uid) for uid in uncounted.get("failed") or []},
        expected_removals=expected_removals, now=now, settings=settings)
    new_succeeded, new_failed = new_finished_pods(context)
    context.succeeded = int(status.get("succeeded") or 0) + len(new_succeeded) + len(context.uncounted_succeeded)
    context.failed = (int(status.get("failed") or 0) + counted_failures(working, new_failed)
                      + len(context.uncounted_failed))
    if not status.get("startTime") and not is_suspended(working):
        status["startTime"] = format_time(now)
    context.backoff = next_record(record, new_succeeded, new_failed)
    context.finished_condition = _heading_for(context)
    if is_indexed(working):
        _assess_indexes(context)
    return context


def new_finished_pods(context: SyncContext) -> tuple[list[JsonObject], list[JsonObject]]:
    """getNewFinishedPods: tracked pods not counted yet (with a valid index, for Indexed Jobs)."""
    succeeded: list[JsonObject] = []
    failed: list[JsonObject] = []
    indexed = is_indexed(context.job)
    for pod in context.pods:
        uid = meta.uid_of(pod)
        if not has_tracking_finalizer(pod) or uid in context.expected_removals:
            continue
        if indexed and valid_index(pod, context.job) == UNKNOWN_INDEX:
            continue
        if phase_of(pod) == "Succeeded" and uid not in context.uncounted_succeeded:
            succeeded.append(pod)
        elif is_pod_failed(pod, context.job) and uid not in context.uncounted_failed:
            failed.append(pod)
    return succeeded, failed


def counted_failures(job: Mapping[str, Any], failed: Sequence[JsonObject]) -> int:
    """nonIgnoredFailedPodsCount: failures an Ignore rule of the pod failure policy does not forgive."""
    policy = meta.spec_of(job).get("podFailurePolicy")
    if policy is None:
        return len(failed)
    return sum(1 for pod in failed if match_pod_failure_policy(policy, pod).count_failed)


def _heading_for(context: SyncContext) -> JsonObject | None:
    """The condition the Job's failures (or an earlier success) point to, in Kubernetes' order."""
    conditions_list = context.status.setdefault("conditions", [])
    met = conditions.find(conditions_list, "SuccessCriteriaMet")
    if met is not None and met.get("status") == "True":
        return copy.deepcopy(met)
    target = conditions.find(conditions_list, "FailureTarget")
    if target is not None and target.get("status") == "True":
        return conditions.new_condition("Failed", "True", str(target.get("reason") or ""),
                                        str(target.get("message") or ""), context.now)
    message = fail_job_message(context.job, context.pods)
    if message is not None:
        return conditions.new_condition("FailureTarget", "True", conditions.POD_FAILURE_POLICY, message, context.now)
    backoff_limit = int(context.spec.get("backoffLimit") or 0)
    if context.failed > backoff_limit or past_backoff_limit_on_failure(context.job, context.pods):
        return _failure(conditions.BACKOFF_LIMIT_EXCEEDED, context.now)
    deadline = context.spec.get("activeDeadlineSeconds")
    started = meta.parse_time(context.status.get("startTime"))
    if isinstance(deadline, int) and started is not None and not is_suspended(context.job):
        remaining = (started + timedelta(seconds=deadline) - context.now).total_seconds()
        if remaining <= 0:
            return _failure(conditions.DEADLINE_EXCEEDED, context.now)
        context.requeue_after = remaining
    return None


def _failure(reason_message: tuple[str, str], now: datetime) -> JsonObject:
    return conditions.new_condition("FailureTarget", "True", reason_message[0], reason_message[1], now)


def fail_job_message(job: Mapping[str, Any], pods: Sequence[JsonObject]) -> str | None:
    """getFailJobMessage: the message of the first failed pod a FailJob rule matches."""
    policy = meta.spec_of(job).get("podFailurePolicy")
    if policy is None:
        return None
    for pod in pods:
        if is_pod_failed(pod, job):
            message = match_pod_failure_policy(policy, pod).fail_job_message
            if message is not None:
                return message
    return None


def past_backoff_limit_on_failure(job: Mapping[str, Any], pods: Sequence[JsonObject]) -> bool:
    """With restartPolicy OnFailure, the restarts of the running and pending pods' containers count."""
    template_spec = meta.spec_of(meta.spec_of(job).get("template") or {})
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if phase_of(pod) in ("Running", "Pending"):
            for field_name in ("initContainerStatuses", "containerStatuses"):
                restarts += sum(int(s.get("restartCount") or 0) for s in meta.status_of(pod).get(field_name) or []
                                if isinstance(s, Mapping))
    limit = int(meta.spec_of(job).get("backoffLimit") or 0)
    return restarts > 0 if limit == 0 else restarts >= limit


def _assess_indexes(context: SyncContext) -> None:
    job = context.job
    context.previous_succeeded_indexes = lenient_indexes(str(context.status.get("completedIndexes") or ""),
                                                         int(context.spec.get("completions") or 0))
    context.succeeded_indexes = succeeded_indexes(job, context.pods)
    context.succeeded = len(context.succeeded_indexes)
    completions = int(context.spec.get("completions") or 0)
    if context.spec.get("backoffLimitPerIndex") is not None:
        context.failed_indexes = failed_indexes(job, context.pods)
        if context.finished_condition is None:
            max_failed = context.spec.get("maxFailedIndexes")
            failed_count = len(context.failed_indexes)
            if isinstance(max_failed, int) and failed_count > max_failed:
                context.finished_condition = _failure(conditions.MAX_FAILED_INDEXES_EXCEEDED, context.now)
            elif failed_count > 0 and failed_count + len(context.succeeded_indexes) >= completions:
                context.finished_condition = _failure(conditions.FAILED_INDEXES, context.now)
        context.delayed_deletion = pods_with_delayed_deletion(
            job, context.pods, context.active, context.succeeded_indexes, context.failed_indexes,
            context.uncounted_failed, context.expected_removals)
    if context.finished_condition is None:
        message = match_success_policy(context.spec.get("successPolicy"), completions, context.succeeded_indexes)
        if message is not None:
            context.finished_condition = conditions.new_condition(
                "SuccessCriteriaMet", "True", conditions.SUCCESS_POLICY, message, context.now)


def match_success_policy(policy: Any, completions: int, succeeded: set[int]) -> str | None:
    """matchSuccessPolicy: the first rule whose indexes (or count of them) have succeeded."""
    rules = policy.get("rules") if isinstance(policy, Mapping) else None
    for position, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, Mapping):
            continue
        indexes_text, count = rule.get("succeededIndexes"), rule.get("succeededCount")
        wanted = lenient_indexes(indexes_text, completions) if isinstance(indexes_text, str) else None
        done = len(succeeded & wanted) if wanted is not None else len(succeeded)
        if (isinstance(count, int) and done >= count) or (count is None and wanted is not None and wanted <= succeeded):
            return f"Matched rules at index {position}"
    return None
