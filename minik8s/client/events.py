"""Recording Kubernetes Events from any daemon, with repeats aggregated into a count.

`kubectl describe` shows what happened to an object through core/v1 Events whose
`involvedObject` points at it. A daemon that reports the same thing again (a crash-looping
container's BackOff, say) bumps the existing Event's `count` and `lastTimestamp` instead of
flooding the store, as the kubelet's event correlator does. Recording never raises: losing an
Event must not break the reconcile that reported it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from minik8s.api.kinds import EVENTS
from minik8s.api.meta import metadata_of, now_time
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound

log = logging.getLogger(__name__)

AGGREGATE_WINDOW_SECONDS = 600.0
_MEMORY = 4096


def involved_object(obj: dict[str, Any], *, field_path: str = "") -> dict[str, Any]:
    metadata = metadata_of(obj)
    reference = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""),
                 "name": metadata.get("name", ""), "namespace": metadata.get("namespace", ""),
                 "uid": metadata.get("uid", ""), "resourceVersion": metadata.get("resourceVersion", "")}
    if field_path:
        reference["fieldPath"] = field_path
    return {k: v for k, v in reference.items() if v}


class EventRecorder:
    def __init__(self, client: ApiClient, *, component: str, host: str = "") -> None:
        self.client, self.component, self.host = client, component, host
        # (uid, fieldPath, reason, message) -> (namespace, event name, count, monotonic time of last)
        self._recent: OrderedDict[tuple[str, str, str, str], tuple[str, str, int, float]] = OrderedDict()

    async def record(self, obj: dict[str, Any], event_type: str, reason: str, message: str, *,
                     field_path: str = "") -> None:
        reference = involved_object(obj, field_path=field_path)
        namespace = reference.get("namespace") or "default"
        key = (reference.get("uid", ""), field_path, reason, message)
        try:
            if not await self._bump(key):
                await self._create(key, namespace, reference, event_type, reason, message)
        except ApiError as error:
            log.warning("could not record event %s for %s/%s: %s", reason, namespace, reference.get("name"), error)
        except Exception:
            log.exception("could not record event %s", reason)

    async def _bump(self, key: tuple[str, str, str, str]) -> bool:
        seen = self._recent.get(key)
        if seen is None or time.monotonic() - seen[3] > AGGREGATE_WINDOW_SECONDS:
            return False
        namespace, name, count, _ = seen
        patch = {"count": count + 1, "lastTimestamp": now_time()}
        try:
            await self.client.patch(EVENTS, name, patch, namespace=namespace)
        except NotFound:
            return False
        self._remember(key, (namespace, name, count + 1, time.monotonic()))
        return True

    async def _create(self, key: tuple[str, str, str, str], namespace: str, reference: dict[str, Any],
                      event_type: str, reason: str, message: str) -> None:
        stamp = now_time()
        # Kubernetes' naming: the hex nanosecond timestamp makes names sort in creation order.
        name = f"{reference.get('name', 'object')}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": reference, "reason": reason, "message": message, "type": event_type,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host or self.component,
        }
        await self.client.create(EVENTS, event, namespace=namespace)
        self._remember(key, (namespace, name, 1, time.monotonic()))

    def _remember(self, key: tuple[str, str, str, str], value: tuple[str, str, int, float]) -> None:
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > _MEMORY:
            self._recent.popitem(last=False)
