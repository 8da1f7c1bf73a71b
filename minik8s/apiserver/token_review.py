"""TokenReview (authentication.k8s.io/v1): whose is this bearer token? — for servers that take tokens.

A node agent (kubelet's webhook authentication) or any in-cluster server posts a token it was shown
and gets back `status.authenticated`, the user and the audiences the token is valid for. As in
Kubernetes (pkg/registry/authentication/tokenreview): only the token authenticators run, never
client certificates or anonymous; `spec.audiences` (default: the apiserver's) is what a
ServiceAccount token must name, while a static token is good only for the apiserver's own audiences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from minik8s.api.credentials import InvalidCredentials
from minik8s.api.user import UserInfo
from minik8s.apiserver import errors
from minik8s.apiserver.service_account_tokens import TokenVerifier

TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"


@dataclass(frozen=True)
class TokenReviewer:
    static_tokens: Mapping[str, UserInfo]
    verifier: TokenVerifier | None
    api_audiences: tuple[str, ...]

    async def status(self, token: str, audiences: tuple[str, ...], now: datetime) -> dict[str, Any]:
        """TokenReviewStatus of `token` for `audiences` (empty: the apiserver's)."""
        wanted = audiences or self.api_audiences
        if self.verifier is not None:
            try:
                user = await self.verifier.authenticate(token, now, wanted)
            except InvalidCredentials as error:
                return {"authenticated": False, "user": {}, "error": str(error)}
            if user is not None:
                token_audiences = jwt.decode(token, options={"verify_signature": False}).get("aud") or []
                return {"authenticated": True, "user": user.to_json(),
                        "audiences": [a for a in wanted if a in token_audiences]}
        static = self.static_tokens.get(token)
        valid_for = [a for a in wanted if a in self.api_audiences]
        if static is not None and valid_for:
            return {"authenticated": True, "user": static.to_json(), "audiences": valid_for}
        return {"authenticated": False, "user": {}}

    async def review(self, body: Any) -> dict[str, Any]:
        """The TokenReview answer to a posted TokenReview; 400 without a token."""
        spec = body.get("spec") if isinstance(body, dict) else None
        token = spec.get("token") if isinstance(spec, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.bad_request("token is required for TokenReview in authentication")
        audiences = spec.get("audiences") if isinstance(spec, dict) else None
        wanted = tuple(a for a in audiences if isinstance(a, str)) if isinstance(audiences, list) else ()
        return {"kind": "TokenReview", "apiVersion": body.get("apiVersion") or "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec,
                "status": await self.status(token, wanted, datetime.now(UTC))}
