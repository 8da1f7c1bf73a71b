"""Authentication: every request (and exec WebSocket) becomes one `UserInfo` in `request.state.user`.

Kubernetes' chain (pkg/kubeapiserver/authenticator/config.go): the x509 client certificate first,
then bearer tokens (the static token file, ServiceAccount JWTs); the first that recognises the
credentials wins and `system:authenticated` is added. Credentials that were presented and that none
accepts are a 401 `Unauthorized` Status — never a fall-through to anonymous (union.NewFailOnError).
With no credentials at all the request is `system:anonymous` in `system:unauthenticated`, unless
`--anonymous-auth=false`. Then impersonation headers may switch the user (see impersonation).
The Authorization and Impersonate-* headers are dropped once read, so nothing proxies them on.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from minik8s.api.credentials import InvalidCredentials, TokenAuthenticator, authenticate
from minik8s.api.user import ANONYMOUS, UserInfo
from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.impersonation import (
    ImpersonationCheck,
    impersonate,
    is_impersonation_header,
    masters_only,
)
from minik8s.apiserver.routes import json_response
from minik8s.daemon.credentials import bearer_token_of, client_certificate_of
from minik8s.daemon.request_guard import CREDENTIALS_IN_HEADER

log = logging.getLogger(__name__)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


@dataclass(frozen=True)
class Authentication:
    """The authenticator chain; the default (no authenticators, anonymous allowed) is today's behaviour."""

    tokens: tuple[TokenAuthenticator, ...] = ()
    anonymous: bool = True
    impersonation: ImpersonationCheck = masters_only

    async def authenticate(self, certificate: str | None, token: str | None) -> UserInfo:
        """The user the credentials prove; InvalidCredentials when they prove nobody (see api.credentials)."""
        return await authenticate(certificate, token, tokens=self.tokens, anonymous=self.anonymous)


class AuthenticationMiddleware:
    """ASGI middleware: authenticate, impersonate, then hand on the request with `state["user"]` set."""

    def __init__(self, app: ASGIApp, authentication: Authentication) -> None:
        self.app = app
        self.authentication = authentication

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        token = next((bearer_token_of(value) for name, value in headers if name == "authorization"), None)
        consumed = any(name == "authorization" or is_impersonation_header(name) for name, _ in headers)
        try:
            user = await self.authentication.authenticate(client_certificate_of(scope), token)
            user = await impersonate(user, headers, self.authentication.impersonation)
        except InvalidCredentials as error:
            log.info("unauthorized %s %s: %s", scope.get("method", "WEBSOCKET"), scope.get("path"), error)
            await _refuse(scope, receive, send, unauthorized())
            return
        except StatusError as error:
            await _refuse(scope, receive, send, error)
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        state[CREDENTIALS_IN_HEADER] = token is not None  # the Origin rule of exec reads it once the header is gone
        if consumed:
            scope["headers"] = [(name, value) for name, value in scope["headers"]
                                if name != b"authorization" and not is_impersonation_header(name.decode("latin-1"))]
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, error: StatusError) -> None:
    response: Response = json_response(error.status(), error.code)
    if scope["type"] == "websocket":
        await WebSocket(scope, receive, send).send_denial_response(response)
    else:
        await response(scope, receive, send)


def user_of(state: Any) -> UserInfo:
    """The request's user (`request.state` or a scope's state mapping); ANONYMOUS when none was set."""
    user = state.get("user") if isinstance(state, MutableMapping) else getattr(state, "user", None)
    return user if isinstance(user, UserInfo) else ANONYMOUS
