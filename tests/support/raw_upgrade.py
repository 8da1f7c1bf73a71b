"""A WebSocket upgrade request written by hand, with any `Host` and `Origin`, read back as status and body.

WebSocket client libraries derive `Host` from the URL; a DNS-rebinding page's upgrade carries the
attacker's name instead, so the tests that refuse it write the request themselves.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

WAIT = 5.0


async def raw_upgrade(address: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    """Send a `GET path` WebSocket upgrade (v5.channel.k8s.io) to `host:port`; the answer's status and JSON body."""
    host, port = address.rsplit(":", 1)
    fields = {"Host": address, "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
              "Sec-WebSocket-Protocol": "v5.channel.k8s.io", **headers}
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    async with asyncio.timeout(WAIT):
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(request.encode())
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status = int(head.split(" ", 2)[1])
            if status == 101:
                return status, None
            lengths = [line.split(":", 1)[1] for line in head.split("\r\n") if line.lower().startswith("content-length")]
            body = await reader.readexactly(int(lengths[0])) if lengths else b""
            return status, json.loads(body) if body else None
        finally:
            writer.close()
