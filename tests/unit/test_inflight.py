"""The max-in-flight filter, as Kubernetes': which requests count, against which budget, and the 429."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from minik8s.api.user import SYSTEM_MASTERS, authenticated
from minik8s.apiserver.inflight import InflightBudget, InflightLimit, request_kind


def scope(method: str, path: str, query: str = "", *, kind: str = "http", groups: tuple[str, ...] = ()) -> dict:
    return {"type": kind, "method": method, "path": path, "query_string": query.encode(), "headers": [],
            "state": {"user": authenticated("someone", groups)}}


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/default/pods", "", "readOnly"),
    ("GET", "/api/v1/namespaces/default/pods/web", "", "readOnly"),
    ("POST", "/api/v1/namespaces/default/pods", "", "mutating"),
    ("PUT", "/api/v1/namespaces/default/pods/web", "", "mutating"),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", "", "mutating"),
    ("DELETE", "/api/v1/namespaces/default/pods/web", "", "mutating"),
    ("GET", "/api/v1/namespaces/default/pods", "watch=true", None),
    ("GET", "/api/v1/namespaces/default/pods", "watch=1", None),
    ("GET", "/api/v1/watch/namespaces/default/pods", "", None),
    ("GET", "/api/v1/namespaces/default/pods/web/log", "follow=true", None),
    ("GET", "/api/v1/namespaces/default/pods/web/log", "", None),
    ("POST", "/api/v1/namespaces/default/pods/web/exec", "command=ls", None),
    ("GET", "/api/v1/namespaces/default/pods/web/attach", "", None),
    ("POST", "/api/v1/namespaces/default/pods/web/portforward", "", None),
    ("GET", "/api/v1/nodes/n1/proxy/metrics", "", None),
    ("GET", "/api/v1/namespaces/default/pods", "watch=false", "readOnly"),
    ("GET", "/api/v1/namespaces/default/configmaps/log", "", "readOnly"),  # a ConfigMap named "log"
])
def test_requests_are_counted_as_kubernetes_counts_them(method: str, path: str, query: str,
                                                         expected: str | None) -> None:
    assert request_kind(scope(method, path, query)) == expected


def test_websockets_are_never_counted() -> None:
    assert request_kind(scope("GET", "/api/v1/namespaces/default/pods/web/exec", kind="websocket")) is None


class Held:
    """An app that answers 200 once released; records how many calls reached it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.reached = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.reached += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(app: Any, request: dict) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(request, receive, send)
    return sent


async def test_a_request_past_its_budget_gets_a_429_status_with_retry_after() -> None:
    held = Held()
    limit = InflightLimit(held, InflightBudget(read_only=1, mutating=1))
    first = asyncio.create_task(call(limit, scope("GET", "/api/v1/pods")))
    while held.reached == 0:
        await asyncio.sleep(0)
    assert limit.budget.in_flight == {"readOnly": 1, "mutating": 0}
    refused = await call(limit, scope("GET", "/api/v1/pods"))
    assert refused[0]["status"] == 429
    assert (b"retry-after", b"1") in refused[0]["headers"]
    status = orjson.loads(refused[1]["body"])
    assert status["kind"] == "Status" and status["reason"] == "TooManyRequests" and status["code"] == 429
    writes = asyncio.create_task(call(limit, scope("POST", "/api/v1/namespaces/default/pods")))
    while held.reached < 2:
        await asyncio.sleep(0)
    held.release.set()
    assert (await first)[0]["status"] == 200 and (await writes)[0]["status"] == 200
    assert limit.budget.in_flight == {"readOnly": 0, "mutating": 0}


async def test_system_masters_are_served_when_the_budget_is_spent() -> None:
    held = Held()
    limit = InflightLimit(held, InflightBudget(read_only=1, mutating=1))
    first = asyncio.create_task(call(limit, scope("DELETE", "/api/v1/namespaces/default/pods/a")))
    while held.reached == 0:
        await asyncio.sleep(0)
    masters = asyncio.create_task(call(limit, scope("DELETE", "/api/v1/namespaces/default/pods/b",
                                                    groups=(SYSTEM_MASTERS,))))
    while held.reached < 2:
        await asyncio.sleep(0)
    held.release.set()
    assert (await first)[0]["status"] == 200 and (await masters)[0]["status"] == 200


async def test_long_running_requests_are_never_refused() -> None:
    held = Held()
    limit = InflightLimit(held, InflightBudget(read_only=1, mutating=1))
    watches = [asyncio.create_task(call(limit, scope("GET", "/api/v1/pods", "watch=true"))) for _ in range(5)]
    while held.reached < 5:
        await asyncio.sleep(0)
    assert limit.budget.in_flight == {"readOnly": 0, "mutating": 0}
    held.release.set()
    assert [(await watch)[0]["status"] for watch in watches] == [200] * 5


async def test_a_limit_of_zero_means_unlimited() -> None:
    held = Held()
    limit = InflightLimit(held, InflightBudget(read_only=0, mutating=0))
    calls = [asyncio.create_task(call(limit, scope("GET", "/api/v1/pods"))) for _ in range(3)]
    while held.reached < 3:
        await asyncio.sleep(0)
    held.release.set()
    assert [(await each)[0]["status"] for each in calls] == [200] * 3
