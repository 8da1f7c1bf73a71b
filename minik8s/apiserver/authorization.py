"""Authorization: may this user do what this request asks? Decided before any handler runs.

`--authorization-mode` picks the authorizer: `AlwaysAllow` (the default for now) allows every
request; `RBAC` decides with the Roles, ClusterRoles and bindings in the apiserver's own store;
`Node,RBAC` asks the Node authorizer (authorization_node) first and RBAC for the rest.
The RBAC authorizer keeps an indexed `Policy` and rebuilds it only when an RBAC key changed:
it follows the four RBAC prefixes with watch subscriptions and drains them, without waiting,
before each decision, so a decision costs a dictionary walk over the user's own bindings.

`AuthorizationMiddleware` reads the user the authentication layer left in the request state
(`request.state.user`; absent means `system:anonymous`) and answers a refusal with Kubernetes'
403 Status. It must sit inside (run after) the authentication middleware.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from minik8s.api.kinds import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES
from minik8s.api.meta import JsonObject
from minik8s.api.rbac import Binding, Decision, Policy, PolicyRule, RequestAttributes
from minik8s.api.user import ANONYMOUS, UserInfo
from minik8s.apiserver.authorization_node import NODE_RBAC, NodeThenRBAC
from minik8s.apiserver.authorization_request import forbidden, forbidden_message, request_attributes
from minik8s.apiserver.storage import decode
from minik8s.store.base import Store
from minik8s.store.watch import Subscription, WatchExpired

log = logging.getLogger(__name__)

ALWAYS_ALLOW = "AlwaysAllow"
RBAC = "RBAC"
MODES = (ALWAYS_ALLOW, RBAC, NODE_RBAC)
_RBAC_KINDS = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)
_EVERYTHING = [PolicyRule(("*",), ("*",), ("*",))]
_EVERY_PATH = [PolicyRule(("*",), non_resource_urls=("*",))]


class Authorizer(Protocol):
    mode: str

    def authorize(self, attributes: RequestAttributes) -> Decision: ...

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]: ...

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None: ...

    def close(self) -> None: ...


class AlwaysAllow:
    """Every request is allowed; SelfSubjectRulesReview answers `*` on everything, as Kubernetes' AlwaysAllow."""

    mode = ALWAYS_ALLOW

    def authorize(self, attributes: RequestAttributes) -> Decision:
        return Decision(True)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        return [*_EVERYTHING, *_EVERY_PATH], []

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        return ()

    def close(self) -> None:
        pass


class PolicyCache:
    """The store's RBAC objects as a `Policy`, rebuilt only after one of them changed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._policy: Policy | None = None
        self._subscriptions: list[Subscription] = []
        self._stale = False
        self.rebuilds = 0

    def _changed(self) -> bool:
        changed = False
        for subscription in self._subscriptions:
            try:
                changed = bool(subscription.drain()) or changed
            except WatchExpired:
                changed = True
        return changed

    def policy(self) -> Policy:
        if self._policy is None or self._stale or self._changed():
            self._policy = self._rebuild()
        return self._policy

    def _rebuild(self) -> Policy:
        self.close()
        self._stale = False
        listed: list[list[JsonObject]] = []
        for kind in _RBAC_KINDS:
            revision, entries = self.store.list(kind.storage_prefix())
            listed.append([decode(entry) for _, entry in entries])
            try:
                self._subscriptions.append(self.store.watch(kind.storage_prefix(), revision))
            except WatchExpired:  # history already trimmed past it: rebuild again on the next decision
                self._stale = True
        self.rebuilds += 1
        return Policy.from_objects(*listed)

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions = []


class RBACAuthorizer:
    """Kubernetes' RBAC authorizer over the apiserver's own store."""

    mode = RBAC

    def __init__(self, store: Store) -> None:
        self.cache = PolicyCache(store)

    def authorize(self, attributes: RequestAttributes) -> Decision:
        return self.cache.policy().authorize(attributes)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        return self.cache.policy().rules_for(user, namespace)

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        return self.cache.policy().role_rules(binding)

    def close(self) -> None:
        """Stop following the store's RBAC keys (the apiserver is stopping)."""
        self.cache.close()


def new_authorizer(mode: str, store: Store) -> Authorizer:
    if mode == NODE_RBAC:
        return NodeThenRBAC(store, RBACAuthorizer(store))
    if mode == RBAC:
        return RBACAuthorizer(store)
    if mode == ALWAYS_ALLOW:
        return AlwaysAllow()
    raise ValueError(f"unknown authorization mode {mode!r}; use one of {', '.join(MODES)}")


def decides_with_rbac(authorizer: Authorizer) -> bool:
    """True under `RBAC` and `Node,RBAC`: escalation checks and the impersonate verb are RBAC's."""
    return RBAC in authorizer.mode.split(",")


def user_of(scope: Scope) -> UserInfo:
    """The user the authentication layer put in the request state; anonymous when there is none."""
    user = (scope.get("state") or {}).get("user")
    return user if isinstance(user, UserInfo) else ANONYMOUS


class AuthorizationMiddleware:
    """Refuses, with a 403 Status, every HTTP request and WebSocket upgrade the authorizer does not allow."""

    def __init__(self, app: ASGIApp, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or isinstance(self.authorizer, AlwaysAllow):
            await self.app(scope, receive, send)
            return
        user = user_of(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        method = scope.get("method", "GET")
        attributes = request_attributes(user, method, scope["path"], query)
        checks = [attributes]
        if scope["type"] == "websocket":  # as AuthorizePodWebsocketUpgradeCreatePermission: get and create
            checks.append(replace(attributes, verb="create"))
        for check in checks:
            decision = self.authorizer.authorize(check)
            if not decision.allowed:
                log.debug("refused: %s", forbidden_message(check))
                await self._refuse(scope, receive, send, forbidden(check, decision.reason).status())
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: JsonObject) -> None:
        body = orjson.dumps(status)
        if scope["type"] == "websocket":  # the Status as the HTTP answer to the upgrade, where the server can
            websocket = WebSocket(scope, receive, send)
            try:
                await websocket.send_denial_response(Response(body, 403, media_type="application/json"))
            except RuntimeError:
                await websocket.close(code=1008)
            return
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
