"""Requests in flight, bounded as Kubernetes' maxinflight filter bounds them: 429 past the limit.

Every request being served holds memory and a share of the one event loop; without a bound, a
client that opens connections faster than they are answered stalls everyone. As upstream
(`WithMaxInFlightLimit`, after authentication): read-only requests (GET, HEAD) and mutating ones
(everything else) each have their budget (`--max-requests-inflight`, 400, and
`--max-mutating-requests-inflight`, 200; 0 is no limit); a request past its budget gets a 429 with
`Retry-After: 1` at once, never a queue. Long-running requests — watches and the `exec`, `attach`,
`portforward`, `log` and `proxy` subresources — are not counted (a watch is bounded by
`watch_limits` instead), and a member of system:masters is served even when the budget is spent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from minik8s.api.user import SYSTEM_MASTERS
from minik8s.apiserver.authorization import user_of
from minik8s.apiserver.errors import too_many_requests

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

READ_ONLY: Final = "readOnly"  # the request_kind label of apiserver_current_inflight_requests
MUTATING: Final = "mutating"
LONG_RUNNING_SUBRESOURCES: Final = frozenset({"attach", "exec", "proxy", "log", "portforward"})
TOO_MANY_REQUESTS_MESSAGE: Final = "Too many requests, please try again later."


def request_kind(scope: Scope) -> str | None:
    """READ_ONLY or MUTATING, or None for what is never counted (long-running, not HTTP)."""
    if scope["type"] != "http":
        return None
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if query.get("watch") in ("true", "1") or _is_long_running_path(scope["path"]):
        return None
    return READ_ONLY if scope.get("method") in ("GET", "HEAD") else MUTATING


def _is_long_running_path(path: str) -> bool:
    """A `/watch/` path, the legacy `/proxy/` verb, or a long-running subresource of a named object."""
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return False
    if rest[:1] in (["watch"], ["proxy"]):
        return True
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        rest = rest[2:]  # NAMESPACE, then the namespaced resource
    return len(rest) >= 3 and rest[2] in LONG_RUNNING_SUBRESOURCES


@dataclass
class InflightBudget:
    """The limits and what is in flight now, by kind (the middleware's state, which /metrics reads)."""

    read_only: int
    mutating: int
    in_flight: dict[str, int] = field(default_factory=lambda: {READ_ONLY: 0, MUTATING: 0})

    def limit(self, kind: str) -> int:
        return self.read_only if kind == READ_ONLY else self.mutating


class InflightLimit:
    """ASGI middleware: counts each request against its kind's budget while it is served."""

    def __init__(self, app: ASGIApp, budget: InflightBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = request_kind(scope)
        if kind is None or not self.budget.limit(kind):
            await self.app(scope, receive, send)
            return
        in_flight = self.budget.in_flight
        if in_flight[kind] >= self.budget.limit(kind):
            if SYSTEM_MASTERS in user_of(scope).groups:  # a super-admin always gets an answer, as upstream
                await self.app(scope, receive, send)
                return
            await _refuse(send)
            return
        in_flight[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            in_flight[kind] -= 1


async def _refuse(send: Send) -> None:
    error = too_many_requests(TOO_MANY_REQUESTS_MESSAGE)
    body = orjson.dumps(error.status())
    await send({"type": "http.response.start", "status": error.code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})
