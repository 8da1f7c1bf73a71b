"""Limits that hold under load: requests in flight, watches per user and in all, and unexpected errors.

Before, 10,000 watches from one client were all accepted (memory 58 → 405 MB), any number of
requests ran at once, and every 500 closed the client's keep-alive connection. As Kubernetes'
maxinflight filter, requests past `--max-mutating-requests-inflight` / `--max-requests-inflight`
get a 429 with `Retry-After: 1` (watches and other long-running requests are not counted, and
system:masters is always served); watches are counted per user and in all.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import httpx
from starlette.requests import Request
from starlette.responses import Response

from minik8s.apiserver.app import create_app
from minik8s.apiserver.load_limits import LoadLimits
from minik8s.store.base import LocalStore
from tests.support.raw_http import RawConnection
from tests.support.serving import apiserver_serving, serving
from tests.support.users import ADMIN, TEST_USER_HEADER, as_user
from tests.support.waiting import eventually

CM = "/api/v1/namespaces/default/configmaps"
WATCH = f"{CM}?watch=true"
JSON = {"content-type": "application/json"}


async def gauge(api: httpx.AsyncClient, name: str, labels: str = "") -> float:
    """A gauge's value on /metrics (labels as Prometheus prints them, e.g. `request_kind="mutating"`)."""
    text = (await api.get("/metrics")).text
    selector = re.escape(f"{name}{{{labels}}}" if labels else name)
    found = re.search(rf"^{selector} (\S+)$", text, re.M)
    assert found, f"{name} {labels} not in /metrics"
    return float(found.group(1))


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


# ---- requests in flight ----

async def test_a_mutating_request_past_the_limit_gets_429_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"metadata":{"name":"slow"'
        await release.wait()
        yield b"}}"

    async with apiserver_serving(load_limits=LoadLimits(max_mutating_requests_inflight=1)) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as api:
        held = asyncio.create_task(api.post(CM, content=slow_body(), headers=JSON))
        await eventually("the slow create to be in flight",
                         lambda: gauge(api, "apiserver_current_inflight_requests", 'request_kind="mutating"'))
        refused = await api.post(CM, json={"metadata": {"name": "refused"}})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["kind"] == "Status" and refused.json()["reason"] == "TooManyRequests"
        assert (await api.get(CM)).status_code == 200  # reads have their own budget
        watch = await api.get(CM, params={"watch": "true", "timeoutSeconds": "1"})
        assert watch.status_code == 200  # watches are long-running: never counted
        release.set()
        assert (await held).status_code == 201
        assert (await api.post(CM, json={"metadata": {"name": "later"}})).status_code == 201


async def test_system_masters_are_served_past_the_limit_and_others_are_not() -> None:
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"metadata":{"name":"slow"'
        await release.wait()
        yield b"}}"

    limits = LoadLimits(max_mutating_requests_inflight=1)
    async with apiserver_serving(load_limits=limits, authorization_mode="RBAC") as url, \
            httpx.AsyncClient(base_url=url, timeout=10, headers={TEST_USER_HEADER: ADMIN}) as admin:
        held = asyncio.create_task(admin.post(CM, content=slow_body(), headers=JSON))
        await eventually("the slow create to be in flight",
                         lambda: gauge(admin, "apiserver_current_inflight_requests", 'request_kind="mutating"'))
        assert (await admin.post(CM, json={"metadata": {"name": "admin"}})).status_code == 201
        other = await admin.post(CM, json={"metadata": {"name": "bob"}}, headers=as_user("bob"))
        assert other.status_code == 429
        release.set()
        assert (await held).status_code == 201


# ---- watches ----

async def test_watches_past_the_per_user_limit_get_429_and_other_users_still_watch() -> None:
    limits = LoadLimits(max_watches_per_user=2)
    async with apiserver_serving(load_limits=limits, authorization_mode="RBAC") as url:
        port = port_of(url)
        admin = {TEST_USER_HEADER: ADMIN}
        connections = [await RawConnection.open(port) for _ in range(4)]
        try:
            answers = [await connection.request("GET", WATCH, headers=admin) for connection in connections[:3]]
            assert [answer.status for answer in answers] == [200, 200, 429]
            assert answers[2].headers["retry-after"] == "1" and answers[2].json()["reason"] == "TooManyRequests"
            other = as_user("carol", "system:masters")
            assert (await connections[3].request("GET", WATCH, headers=other)).status == 200
        finally:
            for connection in connections:
                connection.close()


async def test_watches_past_the_total_limit_get_429() -> None:
    async with apiserver_serving(load_limits=LoadLimits(max_watches=3)) as url:
        connections = [await RawConnection.open(port_of(url)) for _ in range(4)]
        try:
            answers = [await connection.request("GET", WATCH) for connection in connections]
            assert [answer.status for answer in answers] == [200, 200, 200, 429]
        finally:
            for connection in connections:
                connection.close()


async def test_closed_watches_leave_the_registry_and_the_store_hub_empty() -> None:
    store = LocalStore(history=50)
    async with apiserver_serving(store=store, load_limits=LoadLimits(max_watches_per_user=500)) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as api:
        for _ in range(3):  # the same watches, opened and closed again: nothing accumulates
            connections = [await RawConnection.open(port_of(url)) for _ in range(400)]
            for connection in connections:
                connection.send("GET", WATCH)
            for connection in connections:
                await connection.writer.drain()
                assert (await connection.answer()).status == 200
            assert await gauge(api, "minik8s_watchers") == 400
            assert store.core.hub.subscriber_count == 400
            for connection in connections:
                connection.close()
            await eventually("every closed watch to be released",
                             lambda: store.core.hub.subscriber_count == 0, timeout=20)
            assert await gauge(api, "minik8s_watchers") == 0


async def test_ten_thousand_watches_from_one_client_are_mostly_refused_and_writes_keep_flowing() -> None:
    store = LocalStore(history=50)
    limit = LoadLimits().max_watches_per_user
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        port = port_of(url)
        held: list[RawConnection] = []
        refusing = None
        while refusing is None:  # one connection per watch, until the server refuses one
            connection = await RawConnection.open(port)
            answer = await connection.request("GET", WATCH)
            if answer.status == 200:
                held.append(connection)
            else:
                assert answer.status == 429
                refusing = connection
        assert len(held) == limit
        for _ in range(10_000 - limit - 1):  # the rest pipelined on the refusing connection
            refusing.send("GET", WATCH)
        await refusing.writer.drain()
        statuses = [(await refusing.answer()).status for _ in range(10_000 - limit - 1)]
        assert set(statuses) == {429}
        assert store.core.hub.subscriber_count == limit
        created = await asyncio.wait_for(api.post(CM, json={"metadata": {"name": "while-watched"}}), 5)
        assert created.status_code == 201
        for connection in [*held, refusing]:
            connection.close()
        await eventually("every watch to be released", lambda: store.core.hub.subscriber_count == 0, timeout=30)


async def test_a_watch_without_timeout_seconds_ends_after_the_min_request_timeout() -> None:
    async with apiserver_serving(load_limits=LoadLimits(min_request_timeout=1)) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as api:
        response = await asyncio.wait_for(api.get(CM, params={"watch": "true"}), 5)  # at most 2 s
        assert response.status_code == 200


# ---- unexpected errors ----

async def test_an_unexpected_error_is_a_500_status_and_the_connection_stays_open() -> None:
    app = create_app(LocalStore(history=10))

    async def broken(_: Request) -> Response:
        raise RuntimeError("a bug")

    app.add_route("/broken", broken, methods=["GET"])
    async with serving(app) as port:
        connection = await RawConnection.open(port)
        try:
            await eventually("the apiserver to serve", lambda: _serves(port), timeout=20)
            failed = await connection.request("GET", "/broken")
            assert failed.status == 500
            assert failed.json()["kind"] == "Status" and failed.json()["reason"] == "InternalError"
            assert "connection" not in failed.headers or failed.headers["connection"] != "close"
            assert not await connection.closed_by_server()
            again = await connection.request("GET", "/api/v1/namespaces/default")
            assert again.status == 200 and json.loads(again.body)["kind"] == "Namespace"
        finally:
            connection.close()


async def _serves(port: int) -> bool:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
        return (await client.get("/api/v1/namespaces/default")).status_code == 200
