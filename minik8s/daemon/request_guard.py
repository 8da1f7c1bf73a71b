"""What keeps a web page from driving a minik8s listener (the apiserver, a node agent) through a browser.

A page on any site can make the browser send requests to `http://127.0.0.1:6443`; three rules stop it:

* DNS rebinding: a hostile name re-pointed at 127.0.0.1 makes those requests same-origin for the page,
  but they still carry the hostile name in `Host`. `HostPolicy` accepts only IP literals, `localhost`,
  the cluster's own names (`kubernetes`, `kubernetes.default`, …), this machine's hostname and the
  names the listener was configured with; `HostGuard` answers anything else with a 403 Status.
* Cross-site WebSockets (exec): a browser opens a WebSocket to any origin and sends the page's
  `Origin`, with whatever ambient credentials it has (client certificates, cookies), never an
  `Authorization: Bearer` header. `cross_site_websocket` refuses an `Origin` that is not the
  listener's own (gorilla/websocket's same-origin rule) unless a bearer token travels in the header.
  Clients that are not browsers send no `Origin`, or their own (the Python client's websocket-client).
* Bodies a page can send without a CORS preflight (no Content-Type at all) are refused by the
  apiserver when `from_browser` sees the marks every browser puts on a write.

Pure decisions plus a thin ASGI middleware; no project imports, so every daemon may use it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

# Every browser sends Origin on a write (fetch, form post) and the Fetch metadata headers on every request.
BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode")
LOCAL_NAMES = ("localhost",)
CLUSTER_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
ANY_HOST = "*"


def from_browser(headers: Mapping[str, str]) -> bool:
    """True when the request bears the marks a browser puts on it (`Origin`, `Sec-Fetch-*`)."""
    return any(headers.get(name) for name in BROWSER_HEADERS)


def host_name(host_header: str) -> str:
    """The name or address of a `Host` header, without port or IPv6 brackets, lower case, no trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostPolicy:
    """Which `Host` headers a listener answers: IP literals, and `names` (empty `Host`: HTTP/1.0)."""

    names: frozenset[str]
    any_host: bool = False

    def allows(self, host_header: str) -> bool:
        name = host_name(host_header)
        return self.any_host or not name or is_ip_literal(name) or name in self.names


def host_policy(configured: Iterable[str] = (), *, own: Iterable[str] = ()) -> HostPolicy:
    """The policy of a listener: `localhost`, the cluster's names, this machine's hostname, its `own`
    addresses, and the `configured` names (`*` among them turns the check off)."""
    configured = [name.strip() for name in configured if name.strip()]
    names = {host_name(name) for name in (*LOCAL_NAMES, *CLUSTER_NAMES, socket.gethostname(), *own, *configured)}
    return HostPolicy(frozenset(name for name in names if name), any_host=ANY_HOST in configured)


def parse_host_list(flag: str) -> list[str]:
    """`--allowed-hosts a,b`: the names, in order."""
    return [name.strip() for name in flag.split(",") if name.strip()]


def host_refusal(host_header: str) -> str:
    return (f'the Host "{host_header}" is not a name of this server (a DNS rebinding attempt is refused '
            f"this way); name it in --allowed-hosts to serve it")


def same_origin(origin: str, host_header: str) -> bool:
    """gorilla/websocket's rule: the Origin's `host[:port]` is the request's `Host`, ignoring case."""
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    return bool(netloc) and netloc.lower() == host_header.strip().lower()


CREDENTIALS_IN_HEADER = "credentials_in_header"
"""Request-state key an authenticator sets when a bearer token authenticated the request: it strips the
header, and a browser page cannot attach one by itself."""


def has_bearer_token(headers: Mapping[str, str]) -> bool:
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def cross_site_websocket(headers: Mapping[str, str], *, token_authenticated: bool = False) -> str | None:
    """Why a WebSocket upgrade is refused as driven by another site's page, or None when it may proceed.

    No `Origin` (kubectl, the apiserver's own relay), the listener's own origin, or a bearer token in
    the `Authorization` header (a browser cannot put one on a WebSocket) may proceed; any other
    `Origin` would act with the browser's ambient credentials."""
    origin = headers.get("origin")
    if not origin or token_authenticated or has_bearer_token(headers) or same_origin(origin, headers.get("host", "")):
        return None
    return (f'a WebSocket from origin "{origin}" is refused: a browser page of another site may not open it; '
            f"send the credentials in the Authorization header")


def forbidden_status(message: str) -> bytes:
    return orjson.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": message, "reason": "Forbidden", "code": 403})


class HostGuard:
    """ASGI middleware: requests and WebSocket upgrades whose `Host` the policy refuses get a 403 Status."""

    def __init__(self, app: ASGIApp, *, policy: HostPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if self.policy.allows(host):
            await self.app(scope, receive, send)
            return
        response = Response(forbidden_status(host_refusal(host)), status_code=403, media_type="application/json")
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        await deny_upgrade(WebSocket(scope, receive, send), response)


async def deny_upgrade(websocket: WebSocket, response: Response) -> None:
    """Refuse a WebSocket upgrade with an HTTP answer (a bare 403 where the server cannot send one)."""
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        await websocket.close(code=1008)
