"""An Event a pure plan asks for, and recording a plan's Events in order.

Plans decide without side effects, yet some decisions are worth telling the user about
(`ScalingReplicaSet`, `FailedDaemonPod`, `SelectingAll`, ...). A plan lists them as
`PlannedEvent`s; the controller records them on the object once it carries the plan out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from minik8s.api.meta import JsonObject
from minik8s.client.events import EventRecorder


@dataclass(frozen=True)
class PlannedEvent:
    type: str  # Normal or Warning
    reason: str
    message: str


async def record_planned(recorder: EventRecorder, obj: JsonObject, events: Iterable[PlannedEvent]) -> None:
    """Record each planned Event on `obj`, in the plan's order."""
    for event in events:
        await recorder.record(obj, event.type, event.reason, event.message)
