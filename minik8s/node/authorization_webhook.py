"""Who may use a node agent, asked of the apiserver: kubelet's Webhook authorization mode.

A request to the agent is put to RBAC as a request on the agent's own Node object
(pkg/kubelet/server/auth.go): verb from the HTTP method (GET get, POST create, PUT update, PATCH
patch, DELETE delete), resource `nodes`, name the node's, subresource by path — `/stats` stats,
`/metrics` metrics, `/logs` log, `/checkpoint` checkpoint, and everything else (`/containerLogs`,
`/exec`, …) `proxy`. `/healthz`, `/pods`, `/runningpods`, `/configz` and `/statusz` are first tried
as their fine-grained subresource (KEP-2862, GA in v1.36) and then as `proxy`; either allows.
A WebSocket upgrade is a GET, so for the kubelet `get` on `nodes/proxy` opens an exec stream; here an
upgrade also needs `create`, as the apiserver asks of pods/exec WebSockets
(AuthorizePodWebsocketUpgradeCreatePermission) — exec creates a process, whatever the handshake's verb.

Each check is a SubjectAccessReview posted with the agent's own client. Answers are kept as the
kubelet keeps them (`--authorization-webhook-cache-authorized-ttl` 5 min,
`--authorization-webhook-cache-unauthorized-ttl` 30 s), keyed by the review's spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import orjson

from minik8s.api.meta import JsonObject
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import UserInfo
from minik8s.node.expiring_cache import ExpiringCache
from minik8s.node.token_webhook import PostReview

ALLOWED_CACHE_SECONDS = 300.0
DENIED_CACHE_SECONDS = 30.0
SUBJECT_ACCESS_REVIEW_API_VERSION = "authorization.k8s.io/v1"

VERB_OF_METHOD = {"POST": "create", "GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_SUBRESOURCE_OF_PATH = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"), ("/checkpoint", "checkpoint"))
_FINE_GRAINED_OF_PATH = (("/pods", "pods"), ("/healthz", "healthz"), ("/configz", "configz"),
                         ("/statusz", "statusz"), ("/runningpods", "pods"))
PROXY = "proxy"

# One check: the attributes to try in order; the first the apiserver allows passes the check.
Check = tuple[RequestAttributes, ...]


def is_subpath(path: str, prefix: str) -> bool:
    """`path` is `prefix` or lies under it (`/logs` covers `/logs/` and `/logs/x`, not `/logsx`)."""
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def subresources_for(path: str) -> tuple[str, ...]:
    """The `nodes` subresources a request path is authorized as, tried in order."""
    for prefix, subresource in _SUBRESOURCE_OF_PATH:
        if is_subpath(path, prefix):
            return (subresource,)
    fine = next((subresource for prefix, subresource in _FINE_GRAINED_OF_PATH if is_subpath(path, prefix)), None)
    return (PROXY,) if fine is None else (fine, PROXY)


def checks_for(user: UserInfo, node_name: str, method: str, path: str, *, websocket: bool) -> tuple[Check, ...]:
    """Every check the request must pass: one, and for a WebSocket upgrade a second with verb `create`."""
    verb = VERB_OF_METHOD.get(method.upper(), "")
    first = tuple(RequestAttributes(user, verb, api_version="v1", resource="nodes", subresource=subresource,
                                    name=node_name, path=path) for subresource in subresources_for(path))
    if not websocket:
        return (first,)
    return first, tuple(replace(attributes, verb="create") for attributes in first)


def subject_access_review(attributes: RequestAttributes) -> JsonObject:
    """The authorization.k8s.io/v1 SubjectAccessReview asking whether `attributes` are allowed."""
    user = attributes.user
    spec: JsonObject = {
        "user": user.name, "groups": list(user.groups),
        "resourceAttributes": {"namespace": attributes.namespace, "verb": attributes.verb,
                               "group": attributes.api_group, "version": attributes.api_version,
                               "resource": attributes.resource, "subresource": attributes.subresource,
                               "name": attributes.name},
    }
    if user.uid:
        spec["uid"] = user.uid
    if user.extra:
        spec["extra"] = {key: list(values) for key, values in user.extra.items()}
    return {"apiVersion": SUBJECT_ACCESS_REVIEW_API_VERSION, "kind": "SubjectAccessReview", "spec": spec}


def describe(attributes: RequestAttributes) -> str:
    """kubelet's words for a refused (or failed) check: `(user=…, verb=…, resource=…, subresource=…)`."""
    return (f"(user={attributes.user.name}, verb={attributes.verb}, resource={attributes.resource}, "
            f"subresource={attributes.subresource})")


class SubjectAccessReviewAuthorizer:
    """Asks the apiserver whether attributes are allowed, remembering its answers."""

    def __init__(self, post: PostReview, *, allowed_ttl: float = ALLOWED_CACHE_SECONDS,
                 denied_ttl: float = DENIED_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.post = post
        self.allowed_ttl, self.denied_ttl = allowed_ttl, denied_ttl
        self.answers: ExpiringCache[bool] = ExpiringCache(clock=clock)

    async def allowed(self, attributes: RequestAttributes) -> bool:
        """The apiserver's answer (ApiError, uncached, when it cannot give one)."""
        review = subject_access_review(attributes)
        key = orjson.dumps(review["spec"], option=orjson.OPT_SORT_KEYS).decode()
        answer = self.answers.get(key)
        if answer is None:
            answered = await self.post(review)
            status = answered.get("status")
            answer = isinstance(status, dict) and status.get("allowed") is True
            self.answers.put(key, answer, self.allowed_ttl if answer else self.denied_ttl)
        return answer

    async def first_refused(self, checks: Sequence[Check]) -> RequestAttributes | None:
        """The attributes of the first check none of whose alternatives is allowed (its last, the broadest),
        or None when every check passes."""
        for check in checks:
            for attributes in check:
                if await self.allowed(attributes):
                    break
            else:
                return check[-1]
        return None
