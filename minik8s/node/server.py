"""The node agent's own HTTP server: container logs and exec, the part of a kubelet the apiserver proxies to.

`kubectl logs` and `kubectl exec` reach the apiserver, which finds the pod's node and forwards the
request to that node's agent on the kubelet's paths (`/containerLogs/...`, `/exec/...`). This module
speaks only the wire protocols — chunked `text/plain` for logs, the Kubernetes WebSocket channel
protocol for exec — and leaves the decisions to the agent: `resolve` maps (namespace, pod, container,
previous) to a container id or refuses with a Status (`ApiError`); the `ContainerRuntime` does the work.
The exec channel protocol itself lives in `exec_channel`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.websockets import WebSocket

from minik8s.client.errors import ApiError, BadRequest, Forbidden, InternalError
from minik8s.daemon.request_guard import (
    CREDENTIALS_IN_HEADER,
    HostGuard,
    HostPolicy,
    cross_site_websocket,
    host_policy,
)
from minik8s.node.access import AgentAccess, AgentAccessGuard
from minik8s.node.exec_channel import (
    STATUS,
    STDERR,
    STDOUT,
    STREAM_PROTOCOLS,
    ChannelCodec,
    ExecBridge,
    ExecRequest,
    choose_protocol,
    failure_status,
    send_frame,
)
from minik8s.node.runtime import ContainerRuntime, LogOptions, RuntimeFailure

log = logging.getLogger(__name__)

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
            token_authenticated = bool(websocket.scope.get("state", {}).get(CREDENTIALS_IN_HEADER))
            if (cross_site := cross_site_websocket(websocket.headers, token_authenticated=token_authenticated)) \
                    is not None:
                raise Forbidden(403, "Forbidden", cross_site)
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


def create_node_app(*, resolve: Resolve, runtime: ContainerRuntime, hosts: HostPolicy | None = None,
                    access: AgentAccess | None = None) -> FastAPI:
    """The agent's HTTP app: `/containerLogs/{ns}/{pod}/{container}`, WebSocket `/exec/{ns}/{pod}/{container}`.

    `hosts`: the Host headers it answers (default: IP literals, localhost, the cluster's names and this
    machine's hostname); an exec upgrade from another site's page is refused with 403.
    `access`: who may call it (authentication, authorization; see access); None serves everyone, as a
    plain-HTTP agent without TLS flags does.

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
    if access is not None:  # added before the Host guard, so it runs after it (middleware added last runs first)
        app.add_middleware(AgentAccessGuard, access=access)
    app.add_middleware(HostGuard, policy=hosts or host_policy())
    return app
