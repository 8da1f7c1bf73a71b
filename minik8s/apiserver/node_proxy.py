"""The apiserver's half of `kubectl logs` and `kubectl exec`: find the pod's node agent and relay to it.

As in Kubernetes, the apiserver answers what needs the API — does the pod exist, which container
(the only one when none is named), is it bound to a node, where does that node's agent listen
(`status.addresses` and `status.daemonEndpoints.kubeletEndpoint.Port`, by agent_address's rule, so a
Node's writer cannot aim the relay at any host:port) — and the agent answers
for the container itself. Logs are relayed as a streamed `text/plain` body; exec is a WebSocket
(`v5.channel.k8s.io`, or v4) accepted with the client's subprotocol and bridged frame for frame to
the agent's exec WebSocket, so neither side's framing is rewritten here. Agents are reached over plain
http/ws, or over verified TLS with the apiserver's kubelet client certificate (kubelet_client). An
upgrade from another site's page (a foreign `Origin` without a bearer token) is refused with 403 first.
kubectl falls back to SPDY when the WebSocket upgrade fails; that fallback gets the same checks, then a
400 saying only WebSocket exec is served.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import httpx
import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from minik8s.api.field_errors import FieldError
from minik8s.api.kinds import NODES, PODS
from minik8s.api.meta import JsonObject, parse_time, spec_of
from minik8s.apiserver import errors
from minik8s.apiserver.agent_address import agent_address
from minik8s.apiserver.kubelet_client import KubeletConnection
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.query_values import parse_int64
from minik8s.daemon.request_guard import CREDENTIALS_IN_HEADER, cross_site_websocket

log = logging.getLogger(__name__)

STREAM_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io")  # preferred first
STATUS_CHANNEL = 3
AGENT_CONNECT_SECONDS = 5.0
LOG_READ_SECONDS = 60.0  # a non-follow log read; following waits as long as the container is quiet

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"", "0", "f", "F", "false", "FALSE", "False"})


@dataclass(frozen=True)
class AgentTarget:
    """Where a pod's container is served: the node agent's `host:port` and the container's name."""

    address: str
    namespace: str
    pod: str
    container: str

    def path(self, kind: str) -> str:
        return "/" + "/".join(quote(part, safe="") for part in (kind, self.namespace, self.pod, self.container))


def container_names(pod: JsonObject) -> list[str]:
    """Every container of the pod, in Kubernetes' order: init, regular, ephemeral."""
    spec = spec_of(pod)
    return [str(c.get("name")) for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or [] if isinstance(c, dict)]


def choose_container(pod: JsonObject, requested: str | None) -> str:
    """The named container if the pod has it, else the pod's only container (Kubernetes' messages)."""
    name = pod["metadata"]["name"]
    if requested:
        if requested not in container_names(pod):
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    containers = spec_of(pod).get("containers") or []
    if len(containers) == 1:
        return str(containers[0]["name"])
    if not containers:
        raise errors.bad_request(f"a container name must be specified for pod {name}")
    raise errors.bad_request(f"a container name must be specified for pod {name}, "
                             f"choose one of: [{' '.join(container_names(pod))}]")


def query_bool(params: QueryParams, name: str) -> bool:
    value = params.get(name)
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise errors.bad_request(f"invalid {name} {value!r}: must be true or false")


def query_int(params: QueryParams, name: str) -> int | None:
    """An int64 of PodLogOptions, read as Kubernetes reads it (Go's ParseInt and its message)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_int64(value)
    except ValueError as error:
        raise errors.bad_request(str(error)) from None


def since_time_seconds(value: str, *, now: datetime) -> int:
    """`sinceTime` (RFC 3339) as the whole seconds back from now that cover it (at least 1)."""
    moment = parse_time(value)
    if moment is None:
        raise errors.bad_request(f"invalid sinceTime {value!r}: must be an RFC 3339 time")
    return max(1, math.ceil((now - moment).total_seconds()))


def log_query(pod_name: str, params: QueryParams, *, now: datetime) -> dict[str, str]:
    """The agent's containerLogs query from a pods/log query, validated as PodLogOptions."""
    tail_lines, limit_bytes = query_int(params, "tailLines"), query_int(params, "limitBytes")
    since_seconds, since_time = query_int(params, "sinceSeconds"), params.get("sinceTime")
    problems: list[FieldError] = []
    if tail_lines is not None and tail_lines < 0:
        problems.append(FieldError.invalid("tailLines", tail_lines, "must be greater than or equal to 0"))
    if limit_bytes is not None and limit_bytes < 1:
        problems.append(FieldError.invalid("limitBytes", limit_bytes, "must be greater than 0"))
    if since_seconds is not None and since_time:
        problems.append(FieldError.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif since_seconds is not None and since_seconds < 1:
        problems.append(FieldError.invalid("sinceSeconds", since_seconds, "must be greater than 0"))
    if problems:
        causes = [{"reason": p.reason, "message": p.message, "field": p.field} for p in problems]
        raise errors.StatusError(422, "Invalid", f'PodLogOptions "{pod_name}" is invalid: '
                                 + ", ".join(str(p) for p in problems),
                                 details={"name": pod_name, "kind": "PodLogOptions", "causes": causes})
    if since_time:
        since_seconds = since_time_seconds(since_time, now=now)
    query = {name: "true" for name in ("follow", "previous", "timestamps") if query_bool(params, name)}
    for name, number in (("tailLines", tail_lines), ("sinceSeconds", since_seconds), ("limitBytes", limit_bytes)):
        if number is not None:
            query[name] = str(number)
    return query


@dataclass(frozen=True)
class ExecQuery:
    container: str | None
    command: tuple[str, ...]
    flags: dict[str, bool]  # stdin, stdout, stderr, tty

    def agent_query(self) -> str:
        pairs = [("command", part) for part in self.command]
        pairs += [(name, "true") for name, value in self.flags.items() if value]
        return urlencode(pairs)


def exec_query(params: QueryParams) -> ExecQuery:
    command = tuple(params.getlist("command"))
    if not command:
        raise errors.bad_request("you must specify at least one command for the container")
    flags = {name: query_bool(params, name) for name in ("stdin", "stdout", "stderr", "tty")}
    if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return ExecQuery(params.get("container") or None, command, flags)


def agent_error(code: int, body: bytes) -> errors.StatusError:
    """The agent's refusal as our own Status: passed through when it is one, else wrapped."""
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status" and status.get("message"):
        return errors.StatusError(int(status.get("code") or code), str(status.get("reason") or "InternalError"),
                                  str(status["message"]), details=status.get("details") or None)
    text = body.decode("utf-8", errors="replace").strip()[:1000] or f"the node agent answered HTTP {code}"
    if code == 400:
        return errors.bad_request(text)
    if code == 404:
        return errors.StatusError(404, "NotFound", text)
    return errors.internal(text)


def status_frame(protocol: str, status: dict[str, Any]) -> bytes | str:
    """One status-channel frame in the given subprotocol."""
    payload = orjson.dumps(status)
    if ".base64." in protocol:
        return str(STATUS_CHANNEL) + base64.b64encode(payload).decode("ascii")
    return bytes([STATUS_CHANNEL]) + payload


def stream_status(error: errors.StatusError) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": error.message, "reason": error.reason,
            "code": error.code}


def agent_unreachable(node_name: str, error: Exception) -> errors.StatusError:
    return errors.StatusError(503, "ServiceUnavailable",
                              f'the agent of node "{node_name}" is not reachable: {error or type(error).__name__}')


def choose_protocol(offered: Sequence[str]) -> str | None:
    return next((protocol for protocol in STREAM_PROTOCOLS if protocol in offered), None)


class NodeProxy:
    """Serves pods/log and pods/exec by relaying to the agent of the pod's node."""

    def __init__(self, ops: Operations, *, connection: KubeletConnection | None = None) -> None:
        self.ops = ops
        self.connection = connection or KubeletConnection()
        self.http = httpx.AsyncClient(trust_env=False, verify=self.connection.tls or False,
                                      timeout=httpx.Timeout(LOG_READ_SECONDS, connect=AGENT_CONNECT_SECONDS))

    async def close(self) -> None:
        await self.http.aclose()

    async def locate(self, namespace: str, name: str, container: str | None) -> tuple[AgentTarget, str]:
        """The agent target of a pod's container, and the node's name."""
        pod = await self.ops.get(PODS, namespace, name)
        chosen = choose_container(pod, container)
        node_name = spec_of(pod).get("nodeName")
        if not node_name:
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        node = await self.ops.get(NODES, None, node_name)
        return AgentTarget(agent_address(node), namespace, name, chosen), node_name

    async def serve(self, request: Request, subresource: str, namespace: str, name: str) -> Response:
        """pods/log (GET), and pods/exec without a WebSocket upgrade (checked, then refused)."""
        params = request.query_params
        if subresource == "log":
            if request.method != "GET":
                raise errors.method_not_allowed(f"{request.method} is not supported on log")
            return await self.logs(namespace, name, params)
        if request.method not in ("GET", "POST"):
            raise errors.method_not_allowed(f"{request.method} is not supported on {subresource}")
        query = exec_query(params)
        await self.locate(namespace, name, query.container)
        upgrade = request.headers.get("upgrade", "")
        raise errors.bad_request(f"exec is served over WebSocket only (Upgrade: websocket with subprotocol "
                                 f"{' or '.join(STREAM_PROTOCOLS[:2])}); this request asked for "
                                 f"{upgrade or 'no upgrade'}")

    async def logs(self, namespace: str, name: str, params: QueryParams) -> Response:
        query = log_query(name, params, now=datetime.now(UTC))
        target, node_name = await self.locate(namespace, name, params.get("container") or None)
        follow = "follow" in query
        outgoing = self.http.build_request(
            "GET", self.connection.http_url(target.address, target.path("containerLogs")), params=query,
            timeout=httpx.Timeout(None if follow else LOG_READ_SECONDS, connect=AGENT_CONNECT_SECONDS))
        try:
            answer = await self.http.send(outgoing, stream=True)
        except httpx.TransportError as error:
            raise agent_unreachable(node_name, error) from None
        if answer.status_code != 200:
            body = await answer.aread()
            await answer.aclose()
            raise agent_error(answer.status_code, body)
        return StreamingResponse(self._relay(answer), media_type="text/plain")

    @staticmethod
    async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        except httpx.TransportError as error:  # the headers are gone: end the stream, keep the cause
            log.warning("log stream from the node agent broke: %s", error)
        finally:
            with anyio.CancelScope(shield=True):
                await answer.aclose()

    async def exec_socket(self, websocket: WebSocket) -> None:
        """WebSocket pods/exec: checks before the upgrade, then a frame-for-frame bridge to the agent."""
        namespace, name = str(websocket.path_params["namespace"]), str(websocket.path_params["name"])
        try:
            token_authenticated = bool(websocket.scope.get("state", {}).get(CREDENTIALS_IN_HEADER))
            if (cross_site := cross_site_websocket(websocket.headers, token_authenticated=token_authenticated)) \
                    is not None:
                raise errors.StatusError(403, "Forbidden", cross_site)
            query = exec_query(websocket.query_params)
            offered = websocket.scope.get("subprotocols") or []
            protocol = choose_protocol(offered)
            if protocol is None:
                raise errors.bad_request(f"requested protocol(s) are not supported: {offered}; "
                                         f"supports {list(STREAM_PROTOCOLS)}")
            target, node_name = await self.locate(namespace, name, query.container)
        except errors.StatusError as error:
            await deny(websocket, error)
            return
        await websocket.accept(subprotocol=protocol)
        url = self.connection.websocket_url(target.address, f"{target.path('exec')}?{query.agent_query()}")
        try:
            agent = await connect(url, subprotocols=[Subprotocol(protocol)], proxy=None, compression=None,
                                  open_timeout=AGENT_CONNECT_SECONDS, max_size=None, ssl=self.connection.tls)
        except InvalidStatus as refusal:
            await close_with_status(websocket, protocol, agent_error(refusal.response.status_code,
                                                                     bytes(refusal.response.body or b"")))
            return
        except (OSError, TimeoutError, InvalidHandshake) as error:
            await close_with_status(websocket, protocol, agent_unreachable(node_name, error))
            return
        await bridge(websocket, agent)


async def deny(websocket: WebSocket, error: errors.StatusError) -> None:
    """Refuse a WebSocket upgrade with the Status as an HTTP answer (403 where the server cannot)."""
    response = Response(orjson.dumps(error.status()), status_code=error.code, media_type="application/json")
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        await websocket.close(code=1008, reason=error.message[:120])


async def close_with_status(websocket: WebSocket, protocol: str, error: errors.StatusError) -> None:
    frame = status_frame(protocol, stream_status(error))
    if isinstance(frame, str):
        await websocket.send_text(frame)
    else:
        await websocket.send_bytes(frame)
    await websocket.close(code=1000)


async def bridge(client: WebSocket, agent: ClientConnection) -> None:
    """Pump frames both ways until either side closes, then close the other."""
    upstream = asyncio.create_task(_client_to_agent(client, agent))
    downstream = asyncio.create_task(_agent_to_client(agent, client))
    try:
        done, _ = await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        if downstream in done:
            failure = downstream.exception()
            if failure is not None:
                log.info("exec stream from the node agent ended: %s", failure)
            await client.close(code=1000 if failure is None else 1011)
    except Exception as error:  # the client went away while we closed it
        log.debug("closing the exec client failed: %s", error)
    finally:
        for task in (upstream, downstream):
            task.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)
        await agent.close()


async def _client_to_agent(client: WebSocket, agent: ClientConnection) -> None:
    while True:
        message = await client.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await agent.send(message["bytes"])
        elif message.get("text") is not None:
            await agent.send(message["text"])


async def _agent_to_client(agent: ClientConnection, client: WebSocket) -> None:
    async for message in agent:
        if isinstance(message, bytes):
            await client.send_bytes(message)
        else:
            await client.send_text(message)
