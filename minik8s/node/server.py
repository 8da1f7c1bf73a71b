"""The node agent's own HTTP server: container logs and exec, the part of a kubelet the apiserver proxies to.

`kubectl logs` and `kubectl exec` reach the apiserver, which finds the pod's node and forwards the
request to that node's agent on the kubelet's paths (`/containerLogs/...`, `/exec/...`). This module
speaks only the wire protocols — chunked `text/plain` for logs, the Kubernetes WebSocket channel
protocol for exec — and leaves the decisions to the agent: `resolve` maps (namespace, pod, container,
previous) to a container id or refuses with a Status (`ApiError`); the `ContainerRuntime` does the work.

The channel protocol (`v5.channel.k8s.io`, also `v4.channel.k8s.io` and `v4.base64.channel.k8s.io`):
every frame starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 status (one JSON `Status`
when the command ends), 4 terminal resize (`{"Width":80,"Height":24}`); in v5 the frame `[255, 0]`
closes stdin. The base64 variant sends text frames: the channel as a digit, then base64 data.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.websockets import WebSocket

from minik8s.client.errors import ApiError, BadRequest, InternalError
from minik8s.node.runtime import ContainerRuntime, ExecSession, LogOptions, RuntimeFailure

log = logging.getLogger(__name__)

V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"
V4_BASE64_PROTOCOL = "v4.base64.channel.k8s.io"
STREAM_PROTOCOLS = (V5_PROTOCOL, V4_PROTOCOL, V4_BASE64_PROTOCOL)  # in order of preference

STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
CLOSE_SIGNAL = 255  # v5: [255, channel] closes that channel (the client's stdin)

# How long a follow request waits for the runtime's first bytes before answering 200, so a stream that
# fails at once still becomes an error Status, and a quiet container does not hold back the headers.
FIRST_CHUNK_GRACE_SECONDS = 0.2

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"", "0", "f", "F", "false", "FALSE", "False"})


@dataclass(frozen=True)
class ResolvedContainer:
    """The runtime's container behind a container name of a pod on this node."""

    container_id: str


Resolve = Callable[[str, str, str | None, bool], Awaitable[ResolvedContainer]]


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


def exit_status(exit_code: int, command: Sequence[str]) -> dict[str, Any]:
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


def failure_status(error: ApiError) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": error.message, "reason": error.reason,
            "code": error.code}


def status_response(error: ApiError) -> Response:
    return Response(orjson.dumps(error.status), status_code=error.code or 500, media_type="application/json")


def bad_request(message: str) -> BadRequest:
    return BadRequest(400, "BadRequest", message)


def query_bool(params: QueryParams, name: str) -> bool:
    value = params.get(name)
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise bad_request(f"invalid {name} {value!r}: must be true or false")


def query_int(params: QueryParams, name: str, *, minimum: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"invalid {name} {value!r}: must be an integer") from None
    if number < minimum:
        raise bad_request(f"invalid {name} {number}: must be at least {minimum}")
    return number


def parse_log_query(params: QueryParams) -> tuple[LogOptions, bool]:
    """The runtime's LogOptions and the `previous` flag from a containerLogs query."""
    options = LogOptions(
        follow=query_bool(params, "follow"),
        tail_lines=query_int(params, "tailLines", minimum=0),
        since_seconds=query_int(params, "sinceSeconds", minimum=1),
        timestamps=query_bool(params, "timestamps"),
        limit_bytes=query_int(params, "limitBytes", minimum=1),
    )
    return options, query_bool(params, "previous")


def parse_exec_query(params: QueryParams) -> ExecRequest:
    command = tuple(params.getlist("command"))
    if not command:
        raise bad_request("you must specify at least one command for the container")
    stdin, stdout, stderr = (query_bool(params, name) for name in ("stdin", "stdout", "stderr"))
    tty = query_bool(params, "tty")
    if not (stdin or stdout or stderr):
        raise bad_request("you must specify at least 1 of stdin, stdout, stderr")
    # With a terminal the process has one output stream; Kubernetes drops stderr.
    return ExecRequest(command, stdin, stdout, stderr and not tty, tty)


async def _close_iterator(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


async def limit_bytes(chunks: AsyncIterator[bytes], limit: int | None) -> AsyncIterator[bytes]:
    """At most `limit` bytes of the stream (the runtime is asked too; this makes it exact)."""
    remaining = limit
    try:
        async for chunk in chunks:
            if remaining is not None and len(chunk) >= remaining:
                yield chunk[:remaining]
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        await _close_iterator(chunks)


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


async def start_stream(chunks: AsyncIterator[bytes], *, follow: bool) -> AsyncIterator[bytes]:
    """Wait for the first chunk (when following, only briefly) so a stream that fails at once raises here."""
    first = asyncio.ensure_future(_next_chunk(chunks))
    done, _ = await asyncio.wait({first}, timeout=FIRST_CHUNK_GRACE_SECONDS if follow else None)
    if first in done:
        first.result()
    return _relay(first, chunks)


async def _relay(first: asyncio.Future[bytes | None], chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        chunk = await first
        if chunk is None:
            return
        yield chunk
        async for chunk in chunks:
            yield chunk
    except (RuntimeFailure, OSError) as failure:  # the headers are gone: end the stream, keep the cause
        log.warning("container log stream failed: %s", failure)
    finally:
        if first.done():
            await _close_iterator(chunks)
        else:
            first.cancel()


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


async def deny(websocket: WebSocket, error: ApiError) -> None:
    """Refuse the upgrade with an HTTP error carrying the Status (403 where the server cannot)."""
    try:
        await websocket.send_denial_response(status_response(error))
    except RuntimeError:
        await websocket.close(code=1008, reason=error.message[:120])


def _path_target(params: Mapping[str, Any]) -> tuple[str, str, str | None]:
    return str(params["namespace"]), str(params["pod"]), params.get("container")


class NodeEndpoints:
    """The request handlers, over the agent's `resolve` and the container runtime."""

    def __init__(self, *, resolve: Resolve, runtime: ContainerRuntime) -> None:
        self.resolve, self.runtime = resolve, runtime

    async def container_logs(self, request: Request) -> Response:
        namespace, pod, container = _path_target(request.path_params)
        options, previous = parse_log_query(request.query_params)
        resolved = await self.resolve(namespace, pod, container, previous)
        chunks = limit_bytes(self.runtime.logs(resolved.container_id, options), options.limit_bytes)
        body = await start_stream(chunks, follow=options.follow)
        return StreamingResponse(body, media_type="text/plain")

    async def exec_socket(self, websocket: WebSocket) -> None:
        namespace, pod, container = _path_target(websocket.path_params)
        try:
            request = parse_exec_query(websocket.query_params)
            offered = websocket.scope.get("subprotocols") or []
            protocol = choose_protocol(offered)
            if protocol is None:
                raise bad_request(f"requested protocol(s) are not supported: {offered}; "
                                  f"supports {list(STREAM_PROTOCOLS)}")
            resolved = await self.resolve(namespace, pod, container, False)
        except ApiError as error:
            await deny(websocket, error)
            return
        await websocket.accept(subprotocol=protocol)
        codec = ChannelCodec(protocol)
        # Like the kubelet: an empty frame on the lowest writable channel says the stream is up.
        await send_frame(websocket, codec, STDOUT if request.stdout else STDERR if request.stderr else STATUS, b"")
        try:
            session = await self.runtime.exec(resolved.container_id, request.command, stdin=request.stdin,
                                              tty=request.tty)
        except RuntimeFailure as failure:
            refusal = InternalError(500, "InternalError", f"error executing command in container: {failure}")
            await send_frame(websocket, codec, STATUS, orjson.dumps(failure_status(refusal)))
            await websocket.close(code=1000)
            return
        await ExecBridge(websocket, codec, session, request).run()


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


async def _api_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return status_response(error)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return status_response(InternalError(500, "InternalError",
                                         f"Internal error occurred: {type(error).__name__}: {error}"))


def create_node_app(*, resolve: Resolve, runtime: ContainerRuntime) -> FastAPI:
    """The agent's HTTP app: `/containerLogs/{ns}/{pod}/{container}`, WebSocket `/exec/{ns}/{pod}/{container}`.

    `resolve(namespace, pod, container or None, previous)` returns the container or raises an
    `ApiError` (e.g. `BadRequest` for a container that is waiting, `NotFound` for an unknown pod),
    which becomes the Status answered; the apiserver passes it on to the user.
    """
    endpoints = NodeEndpoints(resolve=resolve, runtime=runtime)
    app = FastAPI(title="minik8s node agent", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_route("/containerLogs/{namespace}/{pod}/{container}", endpoints.container_logs, methods=["GET"])
    app.add_route("/containerLogs/{namespace}/{pod}", endpoints.container_logs, methods=["GET"])
    app.router.add_websocket_route("/exec/{namespace}/{pod}/{container}", endpoints.exec_socket)
    app.router.add_websocket_route("/exec/{namespace}/{pod}", endpoints.exec_socket)
    app.add_route("/healthz", _healthz, methods=["GET"])
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Exception, _unexpected)
    return app
