"""The node agent's ServiceAccount tokens: requested for each pod, cached, renewed before they expire.

Kubernetes' pkg/kubelet/token/token_manager.go. A projected `serviceAccountToken` is a bound token
the agent asks the TokenRequest API for, as the pod's ServiceAccount, bound to the pod (name and
uid: it dies with the pod), for the projection's audience (none: the apiserver's own) and lifetime.
Tokens are cached per pod, account, audience and lifetime; a cached token is renewed once 80% of
its lifetime has passed or it is 24 hours old (less up to 10 s of jitter, so that many pods do not
renew together). A failed renewal keeps the old token while it is still valid. The pod's periodic
sync asks again (refresh_volumes), which is what renews the file a container reads.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from minik8s.api.meta import JsonObject, name_of, namespace_of, parse_time, spec_of, uid_of
from minik8s.client.errors import ApiError
from minik8s.node.env import ConfigError
from minik8s.node.projection import TokenSource

log = logging.getLogger(__name__)

MAX_TTL = timedelta(hours=24)
MAX_JITTER_SECONDS = 10.0
# create_token(namespace, service account, TokenRequest) → the answered TokenRequest.
RequestToken = Callable[[str, str, JsonObject], Awaitable[JsonObject]]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires: datetime
    lifetime: timedelta  # spec.expirationSeconds as the apiserver answered it


@dataclass(frozen=True)
class TokenKey:
    namespace: str
    service_account: str
    pod_uid: str
    source: TokenSource


def requires_refresh(issued: IssuedToken, now: datetime, jitter: timedelta = timedelta(0)) -> bool:
    """Older than 24 hours, or within 20% of its lifetime of expiring (both less the jitter)."""
    issued_at = issued.expires - issued.lifetime
    if now > issued_at + MAX_TTL - jitter:
        return True
    return now > issued.expires - timedelta(seconds=int(issued.lifetime.total_seconds()) * 20 // 100) - jitter


def token_request(pod: Mapping[str, Any], source: TokenSource) -> JsonObject:
    """The TokenRequest for one projection of `pod`."""
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
        "audiences": [source.audience] if source.audience else [],
        "expirationSeconds": source.expiration_seconds,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name_of(pod), "uid": uid_of(pod)}}}


def issued_token(answer: Mapping[str, Any], asked: TokenSource) -> IssuedToken:
    status, spec = answer.get("status") or {}, spec_of(answer)
    expires = parse_time(status.get("expirationTimestamp"))
    if not status.get("token") or expires is None:
        raise ConfigError("the TokenRequest was answered without a token or its expiry")
    seconds = spec.get("expirationSeconds")
    lifetime = timedelta(seconds=seconds if isinstance(seconds, int) else asked.expiration_seconds)
    return IssuedToken(str(status["token"]), expires, lifetime)


def _now() -> datetime:
    return datetime.now(UTC)


def _jitter() -> timedelta:
    return timedelta(seconds=int(random.random() * MAX_JITTER_SECONDS))


class TokenManager:
    def __init__(self, request: RequestToken, *, clock: Callable[[], datetime] = _now,
                 jitter: Callable[[], timedelta] = _jitter) -> None:
        self.request, self.clock, self.jitter = request, clock, jitter
        self.cache: dict[TokenKey, IssuedToken] = {}

    async def token(self, pod: Mapping[str, Any], source: TokenSource) -> str:
        """The pod's token for `source`: the cached one unless due for renewal; ConfigError when none is usable."""
        namespace = namespace_of(pod) or "default"
        account = str(spec_of(pod).get("serviceAccountName") or "default")
        key = TokenKey(namespace, account, uid_of(pod), source)
        cached = self.cache.get(key)
        if cached is not None and not requires_refresh(cached, self.clock(), self.jitter()):
            return cached.token
        try:
            fresh = issued_token(await self.request(namespace, account, token_request(pod, source)), source)
        except (ApiError, ConfigError) as error:
            if cached is None:
                raise ConfigError(f"failed to fetch token: {error}") from error
            if self.clock() > cached.expires:
                raise ConfigError(f"token for {namespace}/{account} expired and refresh failed: {error}") from error
            log.warning("could not renew the token of %s/%s for pod %s (keeping the current one): %s",
                        namespace, account, name_of(pod), error)
            return cached.token
        self.cache[key] = fresh
        return fresh.token

    def forget_pod(self, pod_uid: str) -> None:
        """A pod went away: its tokens are of no more use (DeleteServiceAccountToken)."""
        for key in [key for key in self.cache if key.pod_uid == pod_uid]:
            del self.cache[key]

    def drop_expired(self) -> None:
        now = self.clock()
        for key in [key for key, issued in self.cache.items() if now > issued.expires]:
            del self.cache[key]
