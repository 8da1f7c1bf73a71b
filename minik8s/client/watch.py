"""Decoding Kubernetes' watch stream into events.

A watch answer is newline-delimited JSON, one `{"type": ..., "object": ...}` per line,
that lasts as long as the server keeps it open. ERROR events carry a Status (410 Expired
means the asked-for revision is gone: re-list). A connection that breaks midway is not an
error of the watch: like client-go's stream watcher, the stream just ends and the caller
resumes from the last revision it saw.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from minik8s.client.errors import error_from_status

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: `type` is ADDED, MODIFIED, DELETED or BOOKMARK; `object` the object."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str | None:
        metadata = self.object.get("metadata")
        if isinstance(metadata, dict):
            value = metadata.get("resourceVersion")
            return str(value) if value is not None else None
        return None


def decode_watch_line(line: str | bytes) -> WatchEvent | None:
    """The event on one line (None for a blank line); raises the typed error of an ERROR event.

    Raises ValueError for a line that is not a watch event.
    """
    if not line.strip():
        return None
    try:
        decoded = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"watch line is not JSON: {line[:200]!r}") from exc
    if not isinstance(decoded, dict):
        raise ValueError(f"watch line is not an object: {line[:200]!r}")
    event_type = decoded.get("type")
    obj = decoded.get("object")
    if event_type not in EVENT_TYPES or not isinstance(obj, dict):
        raise ValueError(f"not a watch event: {line[:200]!r}")
    if event_type == "ERROR":
        raise error_from_status(obj)
    return WatchEvent(event_type, obj)


async def read_watch_stream(response: httpx.Response, *, description: str) -> AsyncIterator[WatchEvent]:
    """Yield the events of an open watch response until it ends or breaks."""
    try:
        async for line in response.aiter_lines():
            try:
                event = decode_watch_line(line)
            except ValueError:
                logger.warning("watch %s: ending on an undecodable line", description, exc_info=True)
                return
            if event is not None:
                yield event
    except httpx.TransportError as exc:
        logger.info("watch %s: stream broke: %r", description, exc)
