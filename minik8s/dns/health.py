"""The DNS server's readiness check: `GET /healthz` answers 200 once the caches have synced.

`minik8s up` and `status` ask every component the same question over HTTP. The DNS server
has no HTTP API otherwise, so this is a deliberately tiny HTTP/1.1 responder on loopback (one
request per connection, bounded in size and time) rather than a web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz", "/ready")
_MAX_REQUEST_HEAD_BYTES = 8192
_REQUEST_SECONDS = 5.0
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def health_response(request_head: bytes, *, ready: bool) -> bytes:
    """The whole HTTP response to one request head (request line and headers)."""
    request_line = request_head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    method, target = (parts[0], parts[1]) if len(parts) == 3 else ("", "")
    path = target.split("?", 1)[0]
    if path not in HEALTH_PATHS:
        status, body = 404, "not found\n"
    elif method not in ("GET", "HEAD"):
        status, body = 405, "only GET\n"
    elif ready:
        status, body = 200, "ok\n"
    else:
        status, body = 503, "caches not synced\n"
    payload = body.encode() if method != "HEAD" else b""
    head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n")
    return head.encode() + payload


class HealthServer:
    """Serves `health_response` on `host:port` (port 0: any free port, see `port` after start)."""

    def __init__(self, ready: Callable[[], bool], *, host: str = "127.0.0.1", port: int) -> None:
        self._ready = ready
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=_MAX_REQUEST_HEAD_BYTES)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("health check on http://%s:%d/healthz", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_REQUEST_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(health_response(head, ready=self._ready()))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass  # a client that sends no proper request gets no answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
