"""When did the change that an Endpoints write reflects happen? (`last-change-trigger-time`)

Kubernetes annotates each Endpoints write with the time of the earliest pod or Service change
not yet reflected, so latency from "pod turned Ready" to "endpoint programmed" can be measured
(the figure issue 5 asks for). Kubernetes' TriggerTimeTracker remembers, per Service, the pod
trigger times (each pod's Ready condition lastTransitionTime) and the Service's creation time
seen at the previous sync; the annotation is the earliest of those that moved since, or the
Service's creation time for a Service seen for the first time. This is that tracker, as a pure
function from the previous state to the annotation value and the next state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


@dataclass(frozen=True)
class TriggerState:
    service_time: datetime | None = None
    pod_times: Mapping[str, datetime] = field(default_factory=dict)


def compute_trigger_time(state: TriggerState | None, service: Mapping[str, Any],
                         pods: Sequence[Mapping[str, Any]]) -> tuple[datetime | None, TriggerState]:
    """(annotation time or None, state to remember) for this sync of `service` with `pods`."""
    previous = state or TriggerState()
    earliest: datetime | None = None
    pod_times: dict[str, datetime] = {}
    for pod in pods:
        moment = _pod_trigger_time(pod)
        if moment is None:
            continue
        name = str((pod.get("metadata") or {}).get("name") or "")
        pod_times[name] = moment
        seen = previous.pod_times.get(name)
        if seen is None or moment > seen:
            earliest = moment if earliest is None else min(earliest, moment)
    created = parse_time((service.get("metadata") or {}).get("creationTimestamp"))
    if created is not None and (previous.service_time is None or created > previous.service_time):
        earliest = created if earliest is None else min(earliest, created)
    next_state = TriggerState(created, pod_times)
    if state is None:
        return created, next_state
    return earliest, next_state


def _pod_trigger_time(pod: Mapping[str, Any]) -> datetime | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return parse_time(condition.get("lastTransitionTime"))
    return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_trigger_time(moment: datetime) -> str:
    """RFC 3339 with nanosecond precision and trailing zeros dropped, as Go's RFC3339Nano."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
