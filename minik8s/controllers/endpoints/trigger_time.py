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
from datetime import datetime
from typing import Any

from minik8s.api.meta import condition_of, metadata_of, name_of, parse_time

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
        name = name_of(pod)
        pod_times[name] = moment
        seen = previous.pod_times.get(name)
        if seen is None or moment > seen:
            earliest = moment if earliest is None else min(earliest, moment)
    created = parse_time(metadata_of(service).get("creationTimestamp"))
    if created is not None and (previous.service_time is None or created > previous.service_time):
        earliest = created if earliest is None else min(earliest, created)
    next_state = TriggerState(created, pod_times)
    if state is None:
        return created, next_state
    return earliest, next_state


def _pod_trigger_time(pod: Mapping[str, Any]) -> datetime | None:
    ready = condition_of(pod, "Ready")
    return parse_time(ready.get("lastTransitionTime")) if ready is not None else None

