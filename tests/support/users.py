"""Who a test request comes from: a test-only stand-in for the authentication layer.

`TestUserMiddleware` reads `X-Test-User: NAME[; GROUP, GROUP…]` and puts that authenticated user
in `request.state.user`, where authentication would. minik8s' ApiClient names its user with a
test token, `Authorization: Bearer test:NAME[|GROUP,GROUP…]` (`user_token`). The real kubectl
sends no credentials over plain HTTP but does send its impersonation headers, so the middleware
also takes `Impersonate-User` (with every `Impersonate-Group`) as the user — `kubectl --as NAME
--as-group G`. Without any of these the request stays anonymous. It exists only in tests, so
authorization is tested without certificates or tokens; it is not Kubernetes' impersonation.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from minik8s.api.user import SYSTEM_MASTERS, UserInfo, authenticated

TEST_USER_HEADER = "x-test-user"
ADMIN = f"admin; {SYSTEM_MASTERS}"
TOKEN_PREFIX = "test:"


def as_user(name: str, *groups: str) -> dict[str, str]:
    """Request headers that make the request come from `name` in `groups`."""
    return {TEST_USER_HEADER: "; ".join([name, ", ".join(groups)]) if groups else name}


def user_token(name: str, *groups: str) -> str:
    """The bearer token an ApiClient passes (`token=`) to act as `name` in `groups`."""
    return f"{TOKEN_PREFIX}{name}" + (f"|{','.join(groups)}" if groups else "")


def _user_of(headers: list[tuple[bytes, bytes]]) -> UserInfo | None:
    given = [value.decode() for key, value in headers if key.lower() == TEST_USER_HEADER.encode()]
    bearer = [value.decode()[len("Bearer "):] for key, value in headers if key.lower() == b"authorization"]
    if not given and bearer and bearer[0].startswith(TOKEN_PREFIX):
        name, _, groups = bearer[0][len(TOKEN_PREFIX):].partition("|")
        given = [f"{name};{groups}"]
    if given:
        name, _, groups = given[0].partition(";")
        return authenticated(name.strip(), tuple(g.strip() for g in groups.split(",") if g.strip()))
    names = [value.decode() for key, value in headers if key.lower() == b"impersonate-user"]
    if names:
        groups_given = tuple(value.decode() for key, value in headers if key.lower() == b"impersonate-group")
        return authenticated(names[0], groups_given)
    return None


class TestUserMiddleware:
    __test__ = False  # not a pytest class

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            user = _user_of(list(scope.get("headers") or []))
            if user is not None:
                scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)
