"""manageJob, pure: which pods a running Job deletes or creates this sync, and the pods it creates.

As Kubernetes decides (v1.32): a suspended Job deletes its active pods; otherwise the Job wants
min(parallelism, completions - succeeded) pods active (parallelism, for a work queue without
completions, until one pod succeeds). Surplus pods go, the least advanced first — and for an Indexed
Job every pod without a valid index and every duplicate of an index. Missing pods are created,
at most 500 a sync, after the Job's backoff (or, with backoffLimitPerIndex, each index's) has passed;
pods still terminating count as present when only failed pods are replaced. An Indexed Job's pods go
to the lowest pending indexes, named `<job>-<index>-<random>`, with hostname `<job>-<index>`, the
index in an annotation, a label and the JOB_COMPLETION_INDEX variable. Every pod carries the
`batch.kubernetes.io/job-tracking` finalizer, so it is counted before it can disappear.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.controllers.job.assess import SyncContext, is_suspended
from minik8s.controllers.job.backoff import index_remaining, record_remaining
from minik8s.controllers.job.failure_policy import match_pod_failure_policy
from minik8s.controllers.job.indexes import duplicated_for_removal, first_pending
from minik8s.controllers.job.pod_facts import (
    COMPLETION_INDEX_ANNOTATION,
    COMPLETION_INDEX_ENV,
    INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
    TRACKING_FINALIZER,
    index_failure_count,
    index_ignored_failure_count,
    is_indexed,
    only_replace_failed_pods,
)
from minik8s.controllers.replicaset.pods import pod_from_template, pods_to_delete

MAX_POD_CREATE_DELETE_PER_SYNC = 500
MAX_GENERATED_NAME_LENGTH = 58  # 63 minus the 5 random characters


@dataclass
class ManagePlan:
    """Delete these pods, or create pods for these indexes (None: a NonIndexed pod); or wait."""

    delete: list[JsonObject] = field(default_factory=list)
    create: list[int | None] = field(default_factory=list)
    requeue_after: float | None = None


def plan_manage(context: SyncContext) -> ManagePlan:
    job, active = context.job, context.active
    if is_suspended(job):
        return ManagePlan(delete=pods_for_removal(job, active, len(active)))
    parallelism = int(context.spec.get("parallelism") or 0)
    completions = context.spec.get("completions")
    if completions is None:
        wanted = len(active) if context.succeeded > 0 else parallelism
    else:
        wanted = max(0, min(int(completions) - context.succeeded, parallelism))
    surplus = pods_for_removal(job, active, max(0, len(active) - wanted))
    if surplus:
        return ManagePlan(delete=surplus[:MAX_POD_CREATE_DELETE_PER_SYNC])
    terminating = context.terminating if only_replace_failed_pods(job) else 0
    missing = wanted - terminating - len(active)
    if missing <= 0:
        return ManagePlan()
    per_index = context.spec.get("backoffLimitPerIndex") is not None
    if not per_index:
        wait = record_remaining(context.backoff, context.now, context.settings)
        if wait > 0:
            return ManagePlan(requeue_after=wait)
    missing = min(missing, MAX_POD_CREATE_DELETE_PER_SYNC)
    if not is_indexed(job):
        return ManagePlan(create=[None] * missing)
    indexes = first_pending(job, context.pods, active, context.succeeded_indexes, context.failed_indexes, missing)
    if per_index:
        return _after_index_backoff(context, indexes)
    return ManagePlan(create=list(indexes))


def _after_index_backoff(context: SyncContext, indexes: list[int]) -> ManagePlan:
    """getPodCreationInfoForIndependentIndexes: the indexes past their backoff, else the shortest wait."""
    ready: list[int | None] = []
    waits: list[float] = []
    for index in indexes:
        wait = index_remaining(context.delayed_deletion.get(index), context.now, context.settings)
        if wait == 0:
            ready.append(index)
        else:
            waits.append(wait)
    if ready:
        return ManagePlan(create=ready)
    return ManagePlan(requeue_after=min(waits) if waits else None)


def pods_for_removal(job: Mapping[str, Any], active: list[JsonObject], at_least: int) -> list[JsonObject]:
    """activePodsForRemoval: an Indexed Job's invalid and duplicate pods, then the least advanced."""
    remove: list[JsonObject] = []
    left = active
    if is_indexed(job):
        remove, left = duplicated_for_removal(active, int(meta.spec_of(job).get("completions") or 0))
    if len(remove) < at_least:
        remove.extend(pods_to_delete(left, at_least - len(remove)))
    return remove


def build_pod(job: Mapping[str, Any], index: int | None, owner_reference: Mapping[str, Any],
              replaced: Mapping[str, Any] | None) -> JsonObject:
    """The pod a Job creates (GetPodFromTemplate plus the Job's finalizer and index)."""
    pod = pod_from_template(job, owner_reference=owner_reference)
    metadata = pod["metadata"]
    finalizers = list(metadata.get("finalizers") or [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    metadata["finalizers"] = finalizers
    if index is None:
        return pod
    name = meta.name_of(job)
    annotations = metadata.setdefault("annotations", {})
    annotations[COMPLETION_INDEX_ANNOTATION] = str(index)
    metadata.setdefault("labels", {})[COMPLETION_INDEX_ANNOTATION] = str(index)
    metadata["generateName"] = generate_name_with_index(name, index)
    pod["spec"]["hostname"] = f"{name}-{index}"
    _add_index_env(pod["spec"])
    if meta.spec_of(job).get("backoffLimitPerIndex") is not None:
        failures, ignored = new_index_failure_counts(job, replaced)
        annotations[INDEX_FAILURE_COUNT_ANNOTATION] = str(failures)
        if ignored > 0:
            annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
    return pod


def generate_name_with_index(job_name: str, index: int) -> str:
    """podGenerateNameWithIndex: `<job>-<index>-`, the job name cut so the whole fits a generated name."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[:MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    return prefix


def new_index_failure_counts(job: Mapping[str, Any], replaced: Mapping[str, Any] | None) -> tuple[int, int]:
    """getNewIndexFailureCounts: the replaced pod's counts, plus its own failure (counted or ignored)."""
    if replaced is None:
        return 0, 0
    failures, ignored = index_failure_count(replaced), index_ignored_failure_count(replaced)
    policy = meta.spec_of(job).get("podFailurePolicy")
    if policy is not None and not match_pod_failure_policy(policy, replaced).count_failed:
        return failures, ignored + 1
    return failures + 1, ignored


def _add_index_env(spec: JsonObject) -> None:
    """addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX from the index annotation, unless set."""
    variable = {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"}}}
    for field_name in ("initContainers", "containers"):
        for container in spec.get(field_name) or []:
            if not isinstance(container, dict):
                continue
            env = container.setdefault("env", [])
            if isinstance(env, list) and all(not isinstance(v, dict) or v.get("name") != COMPLETION_INDEX_ENV
                                             for v in env):
                env.append(copy.deepcopy(variable))
