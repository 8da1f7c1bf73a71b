"""Who a test request comes from, proven to the apiserver's real authentication with test tokens.

Tests name users without certificates: `test_tokens` is a bearer-token authenticator (passed to
`create_app` as `AuthenticationOptions(token_authenticators=…)`, the same chain `--token-auth-file`
feeds) that reads `test:NAME[|GROUP,GROUP…]` as that user. `TestUserMiddleware`, outside the app,
turns the shorthands tests use into such a token: an `X-Test-User: NAME[; GROUP, GROUP…]` header, and
the real kubectl's `--as NAME --as-group G` (it sends no credentials over plain HTTP, only its
`Impersonate-*` headers, which here name the caller instead of asking to impersonate). Everything
after that — 401s, impersonation, RBAC — is the product's own path. Test-only: never in product code.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from minik8s.api.user import SYSTEM_MASTERS, UserInfo, authenticated
from minik8s.apiserver.authentication_setup import AuthenticationOptions
from minik8s.apiserver.authorization import ALWAYS_ALLOW

TEST_USER_HEADER = "x-test-user"
ADMIN = f"admin; {SYSTEM_MASTERS}"
TOKEN_PREFIX = "test:"


def as_user(name: str, *groups: str) -> dict[str, str]:
    """Request headers that make the request come from `name` in `groups`."""
    return {TEST_USER_HEADER: "; ".join([name, ", ".join(groups)]) if groups else name}


def user_token(name: str, *groups: str) -> str:
    """The bearer token that authenticates as `name` in `groups` (an ApiClient's `token=`)."""
    return f"{TOKEN_PREFIX}{name}" + (f"|{','.join(groups)}" if groups else "")


async def test_tokens(token: str) -> UserInfo | None:
    """The user a `test:` token names; None for any other token (the next authenticator decides)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    name, _, groups = token[len(TOKEN_PREFIX):].partition("|")
    return authenticated(name, tuple(group for group in groups.split(",") if group))


test_tokens.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def test_authentication(authorization_mode: str) -> AuthenticationOptions:
    """What a test apiserver authenticates: test tokens once someone decides on users (RBAC); with
    AlwaysAllow the product's default, where a bearer header is no credential."""
    if authorization_mode == ALWAYS_ALLOW:
        return AuthenticationOptions()
    return AuthenticationOptions(token_authenticators=(test_tokens,))


test_authentication.__test__ = False  # type: ignore[attr-defined]


def _token_for(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The test token the shorthands in `headers` stand for, if any."""
    named = [value.decode() for key, value in headers if key.lower() == TEST_USER_HEADER.encode()]
    if named:
        name, _, groups = named[0].partition(";")
        return user_token(name.strip(), *(group.strip() for group in groups.split(",") if group.strip()))
    if any(key.lower() == b"authorization" for key, _ in headers):
        return None
    impersonated = [value.decode() for key, value in headers if key.lower() == b"impersonate-user"]
    if impersonated:
        return user_token(impersonated[0], *(value.decode() for key, value in headers
                                             if key.lower() == b"impersonate-group"))
    return None


class TestUserMiddleware:
    """Rewrites the test shorthands into `Authorization: Bearer test:…` before authentication sees them."""

    __test__ = False  # not a pytest class

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = list(scope.get("headers") or [])
            token = _token_for(headers)
            if token is not None:
                kept = [(key, value) for key, value in headers if key.lower() not in
                        (TEST_USER_HEADER.encode(), b"impersonate-user", b"impersonate-group")]
                scope = {**scope, "headers": [*kept, (b"authorization", f"Bearer {token}".encode())]}
        await self.app(scope, receive, send)
