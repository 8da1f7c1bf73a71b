"""The completion indexes of an Indexed Job: which succeeded, which failed, which to run next.

Kubernetes' indexed_job_utils.go, over sets of ints: the succeeded indexes are those already in
`status.completedIndexes` plus those of succeeded pods still carrying the tracking finalizer; an
index fails (with backoffLimitPerIndex) when a FailIndex rule matched, or when its pod failed with
the index's failure count already at the limit. New pods go to the lowest indexes that are neither
succeeded, failed nor running; a failed pod of a pending index is kept (its finalizer stays) until
its replacement exists, so the replacement can carry the index's failure count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from minik8s.api import meta
from minik8s.api.job_indexes import lenient_indexes
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.pods import phase_of
from minik8s.controllers.job.failure_policy import match_pod_failure_policy
from minik8s.controllers.job.pod_facts import (
    UNKNOWN_INDEX,
    completion_index,
    completions_of,
    finished_time,
    has_tracking_finalizer,
    index_failure_count,
    index_ignored_failure_count,
    is_pod_failed,
    is_terminating,
    only_replace_failed_pods,
    valid_index,
)
from minik8s.controllers.replicaset.pods import pods_to_delete


def previous_succeeded(job: Mapping[str, Any]) -> set[int]:
    return lenient_indexes(str(meta.status_of(job).get("completedIndexes") or ""), completions_of(job) or 0)


def succeeded_indexes(job: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> set[int]:
    """calculateSucceededIndexes: the status' indexes plus those of uncounted succeeded pods."""
    found = previous_succeeded(job)
    for pod in pods:
        index = valid_index(pod, job)
        if phase_of(pod) == "Succeeded" and index != UNKNOWN_INDEX and has_tracking_finalizer(pod):
            found.add(index)
    return found


def index_failed(job: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """isIndexFailed: a FailIndex rule matched, or a counted failure with the index's count at the limit."""
    if not is_pod_failed(pod, job):
        return False
    policy = meta.spec_of(job).get("podFailurePolicy")
    match = match_pod_failure_policy(policy, pod)
    if match.action == "FailIndex":
        return True
    limit = meta.spec_of(job).get("backoffLimitPerIndex")
    return match.count_failed and isinstance(limit, int) and index_failure_count(pod) >= limit


def failed_indexes(job: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> set[int]:
    """calculateFailedIndexes: the status' failed indexes plus those of pods whose index just failed."""
    completions = completions_of(job) or 0
    found = lenient_indexes(str(meta.status_of(job).get("failedIndexes") or ""), completions)
    for pod in pods:
        index = valid_index(pod, job)
        if index != UNKNOWN_INDEX and index_failed(job, pod):
            found.add(index)
    return found


def absolute_failures(pod: Mapping[str, Any]) -> int:
    return index_failure_count(pod) + index_ignored_failure_count(pod)


def pods_with_delayed_deletion(job: Mapping[str, Any], pods: Sequence[JsonObject], active: Sequence[JsonObject],
                               succeeded: set[int], failed: set[int], uncounted_failed: set[str],
                               expected_removals: frozenset[str]) -> dict[int, JsonObject]:
    """getPodsWithDelayedDeletionPerIndex: per pending index, its latest failed pod still being tracked."""
    busy = {completion_index(pod) for pod in active}
    kept: dict[int, JsonObject] = {}
    for pod in pods:
        uid = meta.uid_of(pod)
        if not has_tracking_finalizer(pod) or uid in uncounted_failed or uid in expected_removals:
            continue
        index = valid_index(pod, job)
        if index == UNKNOWN_INDEX or not is_pod_failed(pod, job) or index in succeeded | failed | busy:
            continue
        previous = kept.get(index)
        if previous is None or (absolute_failures(previous) <= absolute_failures(pod)
                                and not finished_time(pod) < finished_time(previous)):
            kept[index] = pod
    return kept


def first_pending(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], active: Sequence[Mapping[str, Any]],
                  succeeded: set[int], failed: set[int] | None, count: int) -> list[int]:
    """firstPendingIndexes: the `count` lowest indexes nobody has finished or is running."""
    completions = completions_of(job) or 0
    taken = set(succeeded) | {completion_index(pod) for pod in active} | (failed or set())
    if only_replace_failed_pods(job):
        taken |= {completion_index(pod) for pod in pods if is_terminating(pod)}
    pending: list[int] = []
    for index in range(completions):
        if len(pending) >= count:
            break
        if index not in taken:
            pending.append(index)
    return pending


def duplicated_for_removal(active: Sequence[JsonObject], completions: int) -> tuple[list[JsonObject], list[JsonObject]]:
    """appendDuplicatedIndexPodsForRemoval: pods without a valid index, and all but the most advanced pod of a
    repeated index, go; returns (to remove, kept)."""
    remove: list[JsonObject] = []
    by_index: dict[int, list[JsonObject]] = defaultdict(list)
    for pod in active:
        index = completion_index(pod)
        if index == UNKNOWN_INDEX or index >= completions:
            remove.append(pod)
        else:
            by_index[index].append(pod)
    kept: list[JsonObject] = []
    for index in sorted(by_index):
        group = by_index[index]
        extra = pods_to_delete(group, len(group) - 1) if len(group) > 1 else []
        remove.extend(extra)
        kept.extend(pod for pod in group if all(pod is not other for other in extra))
    return remove, kept
