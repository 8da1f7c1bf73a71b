"""The node agent's ServiceAccount tokens: asked for bound to the pod, cached, renewed as the kubelet does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.meta import format_time
from minik8s.client.errors import ApiError
from minik8s.node.env import ConfigError
from minik8s.node.projection import TokenSource
from minik8s.node.tokens import IssuedToken, TokenManager, requires_refresh

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POD = {"metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
       "spec": {"serviceAccountName": "robot"}}
API_ACCESS = TokenSource(audience="", expiration_seconds=3607)


class FakeTokenApi:
    """The TokenRequest API: token-1, token-2, … each valid for what was asked, from `now`."""

    def __init__(self) -> None:
        self.now = START
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.failing = False

    async def create_token(self, namespace: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        if self.failing:
            raise ApiError(503, "ServiceUnavailable", "no leader")
        self.requests.append((namespace, name, request))
        seconds = request["spec"]["expirationSeconds"]
        return {"spec": {**request["spec"], "expirationSeconds": seconds},
                "status": {"token": f"token-{len(self.requests)}",
                           "expirationTimestamp": format_time(self.now + timedelta(seconds=seconds))}}


@pytest.fixture
def api() -> FakeTokenApi:
    return FakeTokenApi()


@pytest.fixture
def manager(api: FakeTokenApi) -> TokenManager:
    return TokenManager(api.create_token, clock=lambda: api.now, jitter=lambda: timedelta(0))


def test_refresh_after_80_percent_of_the_lifetime_or_a_day() -> None:
    hour = IssuedToken("t", START + timedelta(hours=1), timedelta(hours=1))
    assert not requires_refresh(hour, START + timedelta(minutes=48))
    assert requires_refresh(hour, START + timedelta(minutes=48, seconds=1))
    assert requires_refresh(hour, START + timedelta(minutes=47, seconds=55), jitter=timedelta(seconds=10))
    year = IssuedToken("t", START + timedelta(days=365), timedelta(days=365))
    assert not requires_refresh(year, START + timedelta(hours=24))
    assert requires_refresh(year, START + timedelta(hours=24, seconds=1))


async def test_the_token_is_asked_for_as_the_pods_account_bound_to_the_pod(api: FakeTokenApi,
                                                                           manager: TokenManager) -> None:
    assert await manager.token(POD, API_ACCESS) == "token-1"
    assert await manager.token(POD, TokenSource("vault", 600)) == "token-2"
    assert api.requests[0] == ("shop", "robot", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": 3607,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "uid-web"}}})
    assert api.requests[1][2]["spec"]["audiences"] == ["vault"]


async def test_a_token_is_reused_until_due_then_renewed(api: FakeTokenApi, manager: TokenManager) -> None:
    assert await manager.token(POD, API_ACCESS) == "token-1"
    api.now = START + timedelta(minutes=45)
    assert await manager.token(POD, API_ACCESS) == "token-1"
    api.now = START + timedelta(minutes=49)
    assert await manager.token(POD, API_ACCESS) == "token-2"
    other_pod = {**POD, "metadata": {**POD["metadata"], "uid": "uid-other"}}
    assert await manager.token(other_pod, API_ACCESS) == "token-3"  # cached per pod


async def test_a_failed_renewal_keeps_a_valid_token_and_fails_an_expired_one(api: FakeTokenApi,
                                                                             manager: TokenManager) -> None:
    await manager.token(POD, API_ACCESS)
    api.failing = True
    api.now = START + timedelta(minutes=55)
    assert await manager.token(POD, API_ACCESS) == "token-1"
    api.now = START + timedelta(minutes=61)
    with pytest.raises(ConfigError, match="expired and refresh failed"):
        await manager.token(POD, API_ACCESS)
    with pytest.raises(ConfigError, match="failed to fetch token"):
        await manager.token({**POD, "metadata": {**POD["metadata"], "uid": "new"}}, API_ACCESS)


async def test_a_pods_tokens_go_with_it_and_expired_ones_are_dropped(api: FakeTokenApi,
                                                                     manager: TokenManager) -> None:
    await manager.token(POD, API_ACCESS)
    manager.forget_pod("uid-web")
    assert await manager.token(POD, API_ACCESS) == "token-2"
    api.now = START + timedelta(hours=2)
    manager.drop_expired()
    assert manager.cache == {}
