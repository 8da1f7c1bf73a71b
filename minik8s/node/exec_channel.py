"""The Kubernetes WebSocket channel protocol of `kubectl exec`, and the bridge to a runtime exec session.

The protocol (`v5.channel.k8s.io`, also `v4.channel.k8s.io` and `v4.base64.channel.k8s.io`):
every frame starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 status (one JSON `Status`
when the command ends), 4 terminal resize (`{"Width":80,"Height":24}`); in v5 the frame `[255, 0]`
closes stdin. The base64 variant sends text frames: the channel as a digit, then base64 data.

The agent's HTTP server accepts the upgrade; from then on `ExecBridge` pumps the client's frames
into the runtime's `ExecSession` and its output back, and ends with the exit status worded as
the kubelet words it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from starlette.websockets import WebSocket

from minik8s.api.meta import JsonObject
from minik8s.client.errors import ApiError, InternalError
from minik8s.node.runtime import ExecSession, RuntimeFailure

log = logging.getLogger(__name__)

V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"
V4_BASE64_PROTOCOL = "v4.base64.channel.k8s.io"
STREAM_PROTOCOLS = (V5_PROTOCOL, V4_PROTOCOL, V4_BASE64_PROTOCOL)  # in order of preference

STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
CLOSE_SIGNAL = 255  # v5: [255, channel] closes that channel (the client's stdin)


@dataclass(frozen=True)
class ExecRequest:
    command: tuple[str, ...]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


@dataclass(frozen=True)
class ChannelCodec:
    """Frames of one negotiated subprotocol: binary with a channel byte, or base64 text."""

    protocol: str

    @property
    def closes_streams(self) -> bool:
        return self.protocol == V5_PROTOCOL

    def encode(self, channel: int, data: bytes) -> bytes | str:
        if self.protocol == V4_BASE64_PROTOCOL:
            return str(channel) + base64.b64encode(data).decode("ascii")
        return bytes([channel]) + data

    def decode(self, frame: bytes | str) -> tuple[int, bytes] | None:
        """(channel, data), or None for an empty or undecodable frame."""
        raw = frame.encode() if isinstance(frame, str) else frame
        if not raw:
            return None
        if self.protocol != V4_BASE64_PROTOCOL:
            return raw[0], raw[1:]
        try:
            return raw[0] - ord("0"), base64.b64decode(raw[1:], validate=True)
        except ValueError:
            log.debug("dropping an exec frame that is not base64")
            return None


def choose_protocol(offered: Sequence[str]) -> str | None:
    """The subprotocol to accept among those the client offered (v5 preferred)."""
    return next((protocol for protocol in STREAM_PROTOCOLS if protocol in offered), None)


def exit_status(exit_code: int, command: Sequence[str]) -> JsonObject:
    """The status-channel message for a finished command, as the kubelet words it."""
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
                   f"[{' '.join(command)}], exit code {exit_code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
    }


def failure_status(error: ApiError) -> JsonObject:
    return {"metadata": {}, "status": "Failure", "message": error.message, "reason": error.reason,
            "code": error.code}


async def send_frame(websocket: WebSocket, codec: ChannelCodec, channel: int, data: bytes) -> None:
    frame = codec.encode(channel, data)
    if isinstance(frame, str):
        await websocket.send_text(frame)
    else:
        await websocket.send_bytes(frame)


class ExecBridge:
    """Pumps one exec session to and from an accepted WebSocket, then reports the exit status."""

    def __init__(self, websocket: WebSocket, codec: ChannelCodec, session: ExecSession,
                 request: ExecRequest) -> None:
        self.websocket, self.codec, self.session, self.request = websocket, codec, session, request
        self.stdin_open = request.stdin

    async def send(self, channel: int, data: bytes) -> None:
        await send_frame(self.websocket, self.codec, channel, data)

    async def run(self) -> None:
        feeding = asyncio.create_task(self.feed_input())
        relaying = asyncio.create_task(self.relay_output())
        try:
            done, _ = await asyncio.wait({feeding, relaying}, return_when=asyncio.FIRST_COMPLETED)
            if relaying in done:  # the output ended (or broke); else the client went away
                await self.finish(relaying.exception())
        finally:
            for task in (feeding, relaying):
                task.cancel()
            await asyncio.gather(feeding, relaying, return_exceptions=True)
            await self.session.close()

    async def finish(self, failure: BaseException | None) -> None:
        """Send the exit status (or why there is none) and close the socket."""
        try:
            if failure is not None:
                raise failure
            status = exit_status(await self.session.wait(), self.request.command)
        except (RuntimeFailure, OSError) as error:
            status = failure_status(InternalError(500, "InternalError",
                                                  f"error executing command in container: {error}"))
        except Exception as error:  # e.g. the client left while we sent output
            log.info("exec %s ended early: %s", list(self.request.command), error)
            return
        try:
            await self.send(STATUS, orjson.dumps(status))
            await self.websocket.close(code=1000)
        except Exception as error:
            log.info("exec %s: the client left before its status: %s", list(self.request.command), error)

    async def relay_output(self) -> None:
        wanted = {STDOUT: self.request.stdout, STDERR: self.request.stderr}
        async for stream, data in self.session.output():
            if data and wanted.get(stream, False):
                await self.send(stream, data)

    async def feed_input(self) -> None:
        """Client frames until the client goes away: stdin data, stdin close, terminal resizes."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = self.codec.decode(message.get("bytes") or message.get("text") or b"")
            if frame is not None:
                await self.apply(*frame)

    async def apply(self, channel: int, data: bytes) -> None:
        try:
            if channel == STDIN and self.stdin_open and data:
                await self.session.write_stdin(data)
            elif channel == CLOSE_SIGNAL and self.codec.closes_streams and data[:1] == bytes([STDIN]):
                if self.stdin_open:
                    self.stdin_open = False
                    await self.session.close_stdin()
            elif channel == RESIZE and self.request.tty:
                size = orjson.loads(data)
                await self.session.resize(width=int(size["Width"]), height=int(size["Height"]))
        except (RuntimeFailure, OSError) as failure:
            log.info("exec stdin closed after a failed write: %s", failure)
            self.stdin_open = False
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.debug("ignoring a malformed resize frame %r", data)
