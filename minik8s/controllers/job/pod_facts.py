"""What the Job controller reads off a pod: its completion index, when it finished, whether it failed.

Kubernetes' Job controller (pkg/controller/job, v1.32) keeps its facts about pods in a few small
helpers that every part of the sync shares: the `batch.kubernetes.io/job-tracking` finalizer (a pod
carrying it is not counted yet), the completion index annotation of Indexed Jobs, the per-index
failure counts, when a pod finished (its last container's finish, else the Ready=False condition,
else its deletion), and whether a pod counts as failed — phase Failed, or, unless the Job replaces
only failed pods, being deleted before it succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.controllers.common.pods import is_ready, phase_of

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
UNKNOWN_INDEX = -1


def has_tracking_finalizer(pod: Mapping[str, Any]) -> bool:
    finalizers = meta.metadata_of(pod).get("finalizers")
    return isinstance(finalizers, list) and TRACKING_FINALIZER in finalizers


def is_indexed(job: Mapping[str, Any]) -> bool:
    return meta.spec_of(job).get("completionMode") == "Indexed"


def completions_of(job: Mapping[str, Any]) -> int | None:
    value = meta.spec_of(job).get("completions")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def completion_index(pod: Mapping[str, Any]) -> int:
    """The pod's index from its annotation, or UNKNOWN_INDEX when absent or not a plain number."""
    text = meta.annotations_of(pod).get(COMPLETION_INDEX_ANNOTATION, "")
    return int(text) if text.isdigit() and (text == "0" or not text.startswith("0")) else UNKNOWN_INDEX


def valid_index(pod: Mapping[str, Any], job: Mapping[str, Any]) -> int:
    """The pod's index when it is within the Job's completions, else UNKNOWN_INDEX."""
    index, completions = completion_index(pod), completions_of(job)
    return index if completions is not None and 0 <= index < completions else UNKNOWN_INDEX


def _annotation_count(pod: Mapping[str, Any], key: str) -> int:
    text = meta.annotations_of(pod).get(key, "")
    return int(text) if text.isdigit() else 0


def index_failure_count(pod: Mapping[str, Any]) -> int:
    return _annotation_count(pod, INDEX_FAILURE_COUNT_ANNOTATION)


def index_ignored_failure_count(pod: Mapping[str, Any]) -> int:
    return _annotation_count(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)


def only_replace_failed_pods(job: Mapping[str, Any]) -> bool:
    """podReplacementPolicy Failed, which a pod failure policy implies."""
    spec = meta.spec_of(job)
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def is_pod_failed(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """isPodFailed: Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    if phase_of(pod) == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return meta.is_deleting(pod) and phase_of(pod) != "Succeeded"


def is_terminating(pod: Mapping[str, Any]) -> bool:
    """Being deleted and not finished yet (CountTerminatingPods)."""
    return meta.is_deleting(pod) and phase_of(pod) not in ("Succeeded", "Failed")


def count_ready(pods: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 for pod in pods if is_ready(pod))


def finished_time(pod: Mapping[str, Any]) -> datetime:
    """getFinishedTime: when its last container finished (all did), else Ready=False's transition, else the deletion, else creation."""
    finish = _containers_finish(meta.status_of(pod).get("containerStatuses"))
    if finish is not None:
        return finish
    ready = meta.condition_of(pod, "Ready")
    if ready is not None and ready.get("status") == "False":
        moment = meta.parse_time(ready.get("lastTransitionTime"))
        if moment is not None:
            return moment
    deleted = meta.parse_time(meta.metadata_of(pod).get("deletionTimestamp"))
    return deleted or meta.parse_time(meta.metadata_of(pod).get("creationTimestamp")) or meta.EPOCH


def _containers_finish(statuses: Any) -> datetime | None:
    """The latest finish of the containers, or None while one of them has not terminated."""
    latest: datetime | None = None
    for status in statuses if isinstance(statuses, list) else []:
        terminated = ((status.get("state") or {}).get("terminated") or {}) if isinstance(status, Mapping) else {}
        moment = meta.parse_time(terminated.get("finishedAt"))
        if moment is None:
            return None
        latest = moment if latest is None or moment > latest else latest
    return latest
