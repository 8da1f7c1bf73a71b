"""The delay before a Job creates a replacement for failed pods: 10 s, doubled per failure, at most 6 min.

Kubernetes' Job controller keeps, per Job, how many pods failed since the last success and when the
last one failed (pkg/controller/job/backoff_utils.go, an in-memory store: a restarted controller
starts over). Each sync folds the newly finished pods into that record; no pod is created until
`base * 2^(failures-1)` (capped) has passed since the last failure. With backoffLimitPerIndex the
delay is per index, from the failure count annotation of the index's last failed pod. The base is
the controller-manager's `--job-backoff-base` (10 s, Kubernetes' DefaultJobPodFailureBackOff) so
tests need not wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.controllers.job.pod_facts import finished_time, index_failure_count, index_ignored_failure_count

DEFAULT_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 360.0


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: datetime | None = None


@dataclass(frozen=True)
class BackoffSettings:
    base: float = DEFAULT_BACKOFF_SECONDS
    cap: float = MAX_BACKOFF_SECONDS


def next_record(record: BackoffRecord, new_succeeded: Sequence[Any], new_failed: Sequence[Any]) -> BackoffRecord:
    """newBackoffRecord: a success resets the count to the failures that came after it."""
    failed_times = sorted(finished_time(pod) for pod in new_failed)
    if not new_succeeded:
        if not failed_times:
            return record
        return BackoffRecord(record.failures_after_last_success + len(failed_times), failed_times[-1])
    last_success = max(finished_time(pod) for pod in new_succeeded)
    later = [moment for moment in failed_times if moment > last_success]
    return BackoffRecord(len(later), later[-1] if later else None)


def remaining_seconds(failures: int, last_failure: datetime | None, now: datetime,
                      settings: BackoffSettings) -> float:
    """getRemainingTimeForFailuresCount: how long creations must still wait (0: not at all)."""
    if failures <= 0 or last_failure is None:
        return 0.0
    delay = settings.base
    for _ in range(1, failures):
        delay *= 2
        if delay >= settings.cap:
            delay = settings.cap
            break
    elapsed = (now - last_failure).total_seconds()
    return 0.0 if delay < elapsed else delay - elapsed


def record_remaining(record: BackoffRecord, now: datetime, settings: BackoffSettings) -> float:
    return remaining_seconds(record.failures_after_last_success, record.last_failure_time, now, settings)


def index_remaining(last_failed_pod: Any, now: datetime, settings: BackoffSettings) -> float:
    """getRemainingTimePerIndex: from the failure counts the index's last failed pod carries, plus its own."""
    if last_failed_pod is None:
        return 0.0
    failures = index_failure_count(last_failed_pod) + index_ignored_failure_count(last_failed_pod) + 1
    return remaining_seconds(failures, finished_time(last_failed_pod), now, settings)
