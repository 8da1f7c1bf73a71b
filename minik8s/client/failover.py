"""Sending one HTTP request to whichever apiserver replica answers.

Any number of apiserver replicas may run and any of them may be down or without a Raft
leader for a moment. This module keeps one small connection pool per replica, remembers
the replica that answered last, and on a connection error or a 503 moves round robin to
the next, pausing between full rounds, until an overall deadline. It never resends a
non-idempotent request once it may have reached a server (only a refused connection or a
503 prove it was not applied), because a duplicated create is worse than an error. A TLS
failure (an untrusted server certificate, a refused client certificate) is no outage: it is
raised at once as `TlsFailure` instead of being retried until the deadline.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from minik8s.client.errors import ApiError, ServerUnreachable, TlsFailure, error_from_response
from minik8s.client.tls import tls_failure_of

logger = logging.getLogger(__name__)

# Failures that prove the request never left this process: safe to send again anywhere.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class OutgoingRequest:
    """What to send, independent of which server it goes to."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FailoverPolicy:
    """How long to keep trying and how to pace full rounds over all servers."""

    deadline: float = 10.0
    round_pause: float = 0.05
    round_pause_max: float = 1.0


class ServerSet:
    """The apiserver replicas one client talks to, each with its own small connection pool.

    Streaming requests (watches, logs) hold a connection for as long as they last, so they
    use a separate pool per server: a daemon's long watches never starve its short requests.
    """

    def __init__(
        self,
        servers: Sequence[str],
        *,
        timeout: float,
        max_connections: int,
        max_streams: int,
        policy: FailoverPolicy,
        default_headers: Mapping[str, str],
        verify: ssl.SSLContext | bool = True,
        tls_server_name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not servers:
            raise ValueError("at least one apiserver URL is required")
        for server in servers:
            if not server.startswith(("http://", "https://")):
                raise ValueError(f"apiserver URL must start with http:// or https://: {server!r}")
        self.servers = [server.rstrip("/") for server in servers]
        self._timeout = timeout
        self._max_connections = max_connections
        self._max_streams = max_streams
        self._policy = policy
        self._headers = dict(default_headers)
        self._verify = verify
        # kubeconfig's tls-server-name: the name sent as SNI and checked against the certificate
        self._extensions = {"sni_hostname": tls_server_name} if tls_server_name else {}
        self._transport = transport
        self._request_clients: dict[int, httpx.AsyncClient] = {}
        self._stream_clients: dict[int, httpx.AsyncClient] = {}
        self._preferred = 0
        self._closed = False

    @property
    def preferred_server(self) -> str:
        """The server the next request goes to first: the last one that answered."""
        return self.servers[self._preferred]

    async def send(
        self,
        request: OutgoingRequest,
        *,
        idempotent: bool,
        stream: bool = False,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """Send to the first server that answers with anything but 503.

        Returns the response, whatever its status (a streamed one unread: the caller closes
        it). Raises ServerUnreachable or ServiceUnavailable when the deadline passes, and
        ServerUnreachable at once when a non-idempotent request may have been applied.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._policy.deadline
        pause = self._policy.round_pause
        index = self._preferred
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._attempt(index, request, idempotent=idempotent, stream=stream,
                                          read_timeout=read_timeout)
            if isinstance(outcome, httpx.Response):
                self._preferred = index
                return outcome
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise outcome
            index = (index + 1) % len(self.servers)
            if attempts % len(self.servers) == 0:
                wait = max(pause, min(outcome.retry_after or 0.0, self._policy.round_pause_max))
                await asyncio.sleep(min(wait, remaining))
                pause = min(pause * 2, self._policy.round_pause_max)

    async def _attempt(
        self,
        index: int,
        request: OutgoingRequest,
        *,
        idempotent: bool,
        stream: bool,
        read_timeout: float | None,
    ) -> httpx.Response | ApiError:
        """One try at one server: the response, or the error that says to move on."""
        server = self.servers[index]
        client = self._client(index, stream=stream)
        timeout = httpx.Timeout(self._timeout, read=read_timeout) if stream else httpx.Timeout(self._timeout)
        built = client.build_request(
            request.method, request.path, params=dict(request.params), content=request.content,
            headers=dict(request.headers), timeout=timeout, extensions=dict(self._extensions),
        )
        try:
            response = await client.send(built, stream=stream)
        except httpx.TransportError as exc:
            return self._transport_failure(server, request, exc, idempotent=idempotent)
        if response.status_code != 503:
            return response
        body = await response.aread()
        await response.aclose()
        logger.info("apiserver %s unavailable for %s %s", server, request.method, request.path)
        return error_from_response(503, body, retry_after=parse_retry_after(response.headers.get("Retry-After")))

    @staticmethod
    def _transport_failure(server: str, request: OutgoingRequest, exc: httpx.TransportError, *,
                           idempotent: bool) -> ApiError:
        """The error that says to try the next server; raises when trying again cannot help."""
        tls_problem = tls_failure_of(exc)
        if tls_problem is not None:
            raise TlsFailure(f"{tls_problem} (server {server})") from exc
        if isinstance(exc, _NOT_SENT_ERRORS):
            logger.info("apiserver %s unreachable for %s %s: %r", server, request.method, request.path, exc)
            return ServerUnreachable(f"no apiserver answered {request.method} {request.path} "
                                     f"(last tried {server}: {exc!r})")
        if not idempotent:
            raise ServerUnreachable(
                f"{request.method} {request.path} to {server} failed after it may have been "
                f"applied ({exc!r}); not retried"
            ) from exc
        logger.info("apiserver %s failed %s %s: %r", server, request.method, request.path, exc)
        return ServerUnreachable(f"no apiserver answered {request.method} {request.path} "
                                 f"(last tried {server}: {exc!r})")

    def _client(self, index: int, *, stream: bool) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("the API client is closed")
        clients = self._stream_clients if stream else self._request_clients
        client = clients.get(index)
        if client is None:
            limit = self._max_streams if stream else self._max_connections
            transport = self._transport or httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
                verify=self._verify,
            )
            client = httpx.AsyncClient(base_url=self.servers[index], transport=transport, headers=self._headers)
            clients[index] = client
        return client

    async def aclose(self) -> None:
        """Close every pool; the set cannot be used afterwards."""
        self._closed = True
        clients = [*self._request_clients.values(), *self._stream_clients.values()]
        self._request_clients.clear()
        self._stream_clients.clear()
        for client in clients:
            await client.aclose()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the HTTP-date form is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
