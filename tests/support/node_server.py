"""The node agent's logs and exec server over a test runtime, and a client of its exec WebSocket.

`node_server` serves the agent's app on loopback; `run_exec` opens an exec stream in any of the
channel subprotocols kubectl speaks, sends stdin and a resize, and collects what comes back. The
node server's own tests and the apiserver's proxy tests both drive an agent this way.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from minik8s.daemon.tls import ServerTls
from minik8s.node.access import AgentAccess
from minik8s.node.runtime import ContainerRuntime
from minik8s.node.server import Resolve, create_node_app
from tests.support.fake_runtime import FakeRuntime
from tests.support.serving import https_serving, serving

V5, V4, V4_BASE64 = "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io"
EXEC_SECONDS = 5.0  # the bound of one exec session, connect to close


@asynccontextmanager
async def node_server(runtime: FakeRuntime, resolve: Resolve) -> AsyncIterator[str]:
    """The node agent's server over `runtime`, on a free loopback port; yields `127.0.0.1:PORT`."""
    app = create_node_app(resolve=resolve, runtime=cast(ContainerRuntime, runtime))
    async with serving(app, lifespan="off", graceful_seconds=1) as port:
        yield f"127.0.0.1:{port}"


@asynccontextmanager
async def https_node_server(runtime: FakeRuntime, resolve: Resolve, *, tls: ServerTls,
                            access: AgentAccess | None) -> AsyncIterator[str]:
    """The agent's server over `runtime` as `minik8s-node` serves it with TLS flags: HTTPS with `tls`,
    behind `access`; yields `127.0.0.1:PORT` once it listens."""
    app = create_node_app(resolve=resolve, runtime=cast(ContainerRuntime, runtime), access=access)
    async with https_serving(app, tls) as port:
        yield f"127.0.0.1:{port}"


@dataclass
class ExecResult:
    protocol: str | None
    stdout: bytes = b""
    stderr: bytes = b""
    status: dict[str, Any] | None = None
    frames: list[tuple[int, bytes]] = field(default_factory=list)


def decode(message: str | bytes) -> tuple[int, bytes]:
    if isinstance(message, str):
        return int(message[0]), base64.b64decode(message[1:])
    return message[0], message[1:]


async def run_exec(url: str, *, protocol: str = V5, stdin: bytes | None = None,
                   resize: tuple[int, int] | None = None, headers: dict[str, str] | None = None,
                   tls: ssl.SSLContext | None = None) -> ExecResult:
    """Open an exec WebSocket (with extra `headers`, e.g. Origin; over `tls` for wss://), optionally send stdin
    (then close it) and a resize, collect until closed."""
    async with asyncio.timeout(EXEC_SECONDS), connect(url, subprotocols=[Subprotocol(protocol)], proxy=None,
                                                      additional_headers=headers, ssl=tls) as socket:
        result = ExecResult(socket.subprotocol)

        def frame(channel: int, data: bytes) -> bytes | str:
            if protocol == V4_BASE64:
                return str(channel) + base64.b64encode(data).decode()
            return bytes([channel]) + data

        if stdin is not None:
            await socket.send(frame(0, stdin))
            await socket.send(bytes([255, 0]))
        if resize is not None:
            await socket.send(frame(4, json.dumps({"Width": resize[0], "Height": resize[1]}).encode()))
        async for message in socket:
            channel, data = decode(message)
            result.frames.append((channel, data))
            if channel == 1:
                result.stdout += data
            elif channel == 2:
                result.stderr += data
            elif channel == 3:
                result.status = json.loads(data)
    return result
