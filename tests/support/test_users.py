"""Who a test request comes from: a test-only stand-in for the authentication layer.

`TestUserMiddleware` reads `X-Test-User: NAME[; GROUP, GROUP…]` and puts that authenticated user
in `request.state.user`, where authentication would; without the header the request stays
anonymous. It exists only in tests, so authorization is tested without certificates or tokens.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from minik8s.api.user import SYSTEM_MASTERS, authenticated

TEST_USER_HEADER = "x-test-user"
ADMIN = f"admin; {SYSTEM_MASTERS}"


def as_user(name: str, *groups: str) -> dict[str, str]:
    """Request headers that make the request come from `name` in `groups`."""
    return {TEST_USER_HEADER: "; ".join([name, ", ".join(groups)]) if groups else name}


class TestUserMiddleware:
    __test__ = False  # not a pytest class

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            given = headers.get(TEST_USER_HEADER.encode())
            if given is not None:
                name, _, groups = given.decode().partition(";")
                user = authenticated(name.strip(), tuple(g.strip() for g in groups.split(",") if g.strip()))
                scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)
