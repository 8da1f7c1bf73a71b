"""Every request to a node agent authenticated and authorized before it reaches logs or exec.

The agent's port is where `kubectl logs` and `kubectl exec` end: whoever may call it may run commands
in every container of the node, and every pod of the node can reach it (its address is the gateway of
the pod bridge). So, as the kubelet's auth filter does (pkg/kubelet/server/server.go), the agent's app
sits behind `AgentAccessGuard`:

1. authenticate, with the chain the apiserver runs (api.credentials): the client certificate the TLS
   handshake verified against `--client-ca-file` (the apiserver presents
   `kube-apiserver-kubelet-client`), else a bearer token the apiserver vouches for (token_webhook).
   No credentials (unless `--anonymous-auth=true`) or bad ones → 401 `Unauthorized`, as the kubelet
   answers; a pod calling its node's agent without a certificate is refused here.
2. authorize, in `--authorization-mode Webhook` (authorization_webhook): SubjectAccessReviews on this
   Node's subresource → 403 `Forbidden (user=…, verb=…, resource=nodes, subresource=proxy)`; a review
   that cannot be had → 500 `Authorization error (…)`.

The kubelet writes those messages as plain text; here each is a Kubernetes Status, as an HTTP answer
or as the answer to a WebSocket upgrade, so the apiserver relays it as it relays any agent refusal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from minik8s.api.credentials import InvalidCredentials, TokenAuthenticator, authenticate
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import UserInfo
from minik8s.client.errors import ApiError, Forbidden, InternalError, Unauthorized
from minik8s.daemon.credentials import bearer_token_in, client_certificate_of
from minik8s.daemon.request_guard import CREDENTIALS_IN_HEADER, deny_upgrade
from minik8s.node.authorization_webhook import SubjectAccessReviewAuthorizer, checks_for, describe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentAccess:
    """How the agent decides who may call it. `tokens` empty: a bearer header is no credential;
    `authorizer` None: every authenticated request is allowed (`--authorization-mode AlwaysAllow`)."""

    node_name: str
    tokens: tuple[TokenAuthenticator, ...] = ()
    anonymous: bool = False
    authorizer: SubjectAccessReviewAuthorizer | None = None

    async def refusal(self, user: UserInfo, method: str, path: str, *, websocket: bool) -> ApiError | None:
        """Why `user` may not make this request (403, or 500 when the apiserver cannot say), or None."""
        if self.authorizer is None:
            return None
        checks = checks_for(user, self.node_name, method, path, websocket=websocket)
        try:
            refused = await self.authorizer.first_refused(checks)
        except ApiError as error:
            log.warning("authorization of %s %s for %s failed: %s", method, path, user.name, error)
            return InternalError(500, "InternalError", f"Authorization error {describe(checks[0][-1])}")
        if refused is None:
            return None
        return forbidden(refused)


def forbidden(attributes: RequestAttributes) -> Forbidden:
    return Forbidden(403, "Forbidden", f"Forbidden {describe(attributes)}")


def unauthorized() -> Unauthorized:
    return Unauthorized(401, "Unauthorized", "Unauthorized")


class AgentAccessGuard:
    """ASGI middleware: authenticate and authorize each request and WebSocket upgrade, or refuse it."""

    def __init__(self, app: ASGIApp, *, access: AgentAccess) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = bearer_token_in(scope.get("headers") or [])
        method = str(scope.get("method") or "GET")  # a WebSocket upgrade is a GET
        try:
            user = await authenticate(client_certificate_of(scope), token, tokens=self.access.tokens,
                                      anonymous=self.access.anonymous)
        except InvalidCredentials as error:
            log.info("unauthorized %s %s: %s", method, scope.get("path"), error)
            await refuse(scope, receive, send, unauthorized())
            return
        refusal = await self.access.refusal(user, method, str(scope.get("path") or "/"),
                                            websocket=scope["type"] == "websocket")
        if refusal is not None:
            log.info("refused %s %s: %s", method, scope.get("path"), refusal.message)
            await refuse(scope, receive, send, refusal)
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        state[CREDENTIALS_IN_HEADER] = token is not None
        await self.app(scope, receive, send)


async def refuse(scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
    """Answer the request, or the WebSocket upgrade, with the error's Status."""
    response = Response(orjson.dumps(error.status), status_code=error.code or 500, media_type="application/json")
    if scope["type"] == "websocket":
        await deny_upgrade(WebSocket(scope, receive, send), response)
        return
    await response(scope, receive, send)
