"""Bearer tokens at a node agent, judged by the apiserver: kubelet's webhook token authentication.

An agent holds no signing keys and no token file, so it posts each token it is shown as an
authentication.k8s.io/v1 TokenReview and takes the apiserver's word (`status.authenticated`,
`status.user`). The review names no audiences, so the token must be good for the apiserver's own
(a ServiceAccount token from TokenRequest, a static token). Answers are kept for two minutes whether
or not the token authenticated (kubelet's `--authentication-token-webhook-cache-ttl` default; its
cached token authenticator uses one TTL for both), under the token's SHA-256 so the cache holds no
token. A review that fails (the apiserver unreachable) is not kept, and the request is refused (401).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from minik8s.api.credentials import InvalidCredentials
from minik8s.api.meta import JsonObject
from minik8s.api.user import UserInfo, authenticated
from minik8s.client.errors import ApiError
from minik8s.node.expiring_cache import ExpiringCache

TOKEN_CACHE_SECONDS = 120.0
TOKEN_REVIEW_API_VERSION = "authentication.k8s.io/v1"

# Posts a review object to the apiserver and returns the answered one (ApiError when it cannot).
PostReview = Callable[[JsonObject], Awaitable[JsonObject]]


def token_review(token: str) -> JsonObject:
    return {"apiVersion": TOKEN_REVIEW_API_VERSION, "kind": "TokenReview", "spec": {"token": token}}


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def user_of_review(review: JsonObject) -> UserInfo | None:
    """The user an answered TokenReview vouches for (with `system:authenticated`), None when it does not;
    InvalidCredentials when the apiserver gave a reason (`status.error`)."""
    status = review.get("status")
    status = status if isinstance(status, dict) else {}
    user = status.get("user")
    name = user.get("username") if isinstance(user, dict) else None
    if status.get("authenticated") is True and isinstance(user, dict) and isinstance(name, str) and name:
        extra = user.get("extra")
        extras = {str(key): _strings(values) for key, values in extra.items()} if isinstance(extra, dict) else {}
        return authenticated(name, _strings(user.get("groups")), uid=str(user.get("uid") or ""), extra=extras)
    if isinstance(status.get("error"), str) and status["error"]:
        raise InvalidCredentials(status["error"])
    return None


@dataclass(frozen=True)
class _Answer:
    user: UserInfo | None
    error: str = ""


class TokenReviewAuthenticator:
    """A token authenticator (see api.credentials) that asks the apiserver, remembering its answers."""

    def __init__(self, post: PostReview, *, ttl: float = TOKEN_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.post = post
        self.ttl = ttl
        self.answers: ExpiringCache[_Answer] = ExpiringCache(clock=clock)

    async def __call__(self, token: str) -> UserInfo | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        answer = self.answers.get(key)
        if answer is None:
            answer = await self._review(token)
            self.answers.put(key, answer, self.ttl)
        if answer.error:
            raise InvalidCredentials(answer.error)
        return answer.user

    async def _review(self, token: str) -> _Answer:
        try:
            answered = await self.post(token_review(token))
        except ApiError as error:  # not kept: the next request asks again
            raise InvalidCredentials(f"the token review failed: {error}") from None
        try:
            return _Answer(user_of_review(answered))
        except InvalidCredentials as refusal:
            return _Answer(None, str(refusal))
