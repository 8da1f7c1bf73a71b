"""When a finished Job's time to live runs out, pure (pkg/controller/ttlafterfinished, v1.32).

A Job with `ttlSecondsAfterFinished` is deleted that many seconds after it finished — after the
lastTransitionTime of its Complete or Failed condition. A Job without the field, or not finished,
never expires; one whose finish time is in the future (clock skew) waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from minik8s.api import meta


def needs_cleanup(job: Mapping[str, Any]) -> bool:
    """A TTL is set and the Job is finished."""
    return isinstance(meta.spec_of(job).get("ttlSecondsAfterFinished"), int) and finish_time(job) is not None


def finish_time(job: Mapping[str, Any]) -> datetime | None:
    for condition in meta.status_of(job).get("conditions") or []:
        if (isinstance(condition, Mapping) and condition.get("type") in ("Complete", "Failed")
                and condition.get("status") == "True"):
            return meta.parse_time(condition.get("lastTransitionTime"))
    return None


def seconds_left(job: Mapping[str, Any], now: datetime) -> float | None:
    """timeLeft: seconds until the Job expires (<= 0: now), or None when it never does."""
    ttl = meta.spec_of(job).get("ttlSecondsAfterFinished")
    finished = finish_time(job)
    if not isinstance(ttl, int) or finished is None:
        return None
    return (finished + timedelta(seconds=ttl) - now).total_seconds()
