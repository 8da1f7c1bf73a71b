"""The proxy's health endpoint: `GET /healthz` on 127.0.0.1:10256, as kube-proxy serves it.

The proxy serves nothing else, so a full web framework would be dead weight in a root process: a
few lines of asyncio answer one GET. `minik8s up` probes it to know the rules are in place: 200
once the first sync succeeded (and syncs keep succeeding), 503 before that or while they fail.
The body is kube-proxy's: `{"lastUpdated": ..., "currentTime": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from minik8s.api.meta import format_micro_time

logger = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/livez")
_MAX_HEADER_LINES = 100


@dataclass(frozen=True)
class Health:
    healthy: bool
    last_updated: datetime | None


HealthCheck = Callable[[], Health]


def _timestamp(moment: datetime | None) -> str | None:
    return format_micro_time(moment) if moment else None


def answer(request_line: str, health: Health) -> bytes:
    """The whole HTTP response to one request line."""
    parts = request_line.split()
    path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
    if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
        status, body = "405 Method Not Allowed", b""
    elif path not in HEALTH_PATHS:
        status, body = "404 Not Found", b"404 page not found\n"
    else:
        status = "200 OK" if health.healthy else "503 Service Unavailable"
        body = json.dumps({"lastUpdated": _timestamp(health.last_updated),
                           "currentTime": _timestamp(datetime.now(UTC))}).encode()
    kind = "application/json" if body.startswith(b"{") else "text/plain; charset=utf-8"
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n")
    return head.encode() + (body if parts[:1] != ["HEAD"] else b"")


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, check: HealthCheck) -> None:
    try:
        async with asyncio.timeout(5.0):
            request_line = (await reader.readline()).decode("latin-1")
            for _ in range(_MAX_HEADER_LINES):
                if (await reader.readline()) in (b"\r\n", b"\n", b""):
                    break
        writer.write(answer(request_line, check()))
        await writer.drain()
    except (TimeoutError, ConnectionError) as error:
        logger.debug("health request dropped: %r", error)
    finally:
        writer.close()


async def serve_health(check: HealthCheck, *, host: str = "127.0.0.1", port: int = 10256) -> asyncio.Server:
    """Start answering health probes; the caller closes the returned server."""
    server = await asyncio.start_server(lambda reader, writer: _serve_one(reader, writer, check), host, port)
    logger.info("health endpoint on http://%s:%d/healthz", host, port)
    return server
