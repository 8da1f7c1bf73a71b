"""Watch over HTTP: order, resume, 410, selectors, initial state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from minik8s.store.base import LocalStore, StoreUnavailable
from tests.support.serving import apiserver_serving
from tests.support.slow_store import SlowBarrier

CM = "/api/v1/namespaces/default/configmaps"


@asynccontextmanager
async def watching(api: httpx.AsyncClient, url: str, **params: str) -> AsyncIterator[asyncio.Queue[dict]]:
    events: asyncio.Queue[dict] = asyncio.Queue()

    async def pump() -> None:
        async with api.stream("GET", url, params={"watch": "true", **params}, timeout=None) as response:
            async for line in response.aiter_lines():
                if line:
                    await events.put(json.loads(line))

    task = asyncio.create_task(pump())
    try:
        yield events
    finally:
        task.cancel()


async def next_events(events: asyncio.Queue[dict], count: int) -> list[dict]:
    return [await asyncio.wait_for(events.get(), 5) for _ in range(count)]


async def test_watch_from_a_revision_replays_every_later_event_in_order(api: httpx.AsyncClient) -> None:
    start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
    await api.post(CM, json={"metadata": {"name": "w1"}})
    updated = (await api.patch(f"{CM}/w1", content=b'{"data":{"a":"1"}}',
                               headers={"content-type": "application/merge-patch+json"})).json()
    async with watching(api, CM, resourceVersion=start) as events:
        await api.delete(f"{CM}/w1")
        seen = await next_events(events, 3)
    assert [e["type"] for e in seen] == ["ADDED", "MODIFIED", "DELETED"]
    assert seen[1]["object"]["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in seen]
    assert versions == sorted(versions) and len(set(versions)) == 3


async def test_watch_without_a_revision_starts_with_the_current_objects(api: httpx.AsyncClient) -> None:
    await api.post(CM, json={"metadata": {"name": "existing", "labels": {"w": "x"}}})
    async with watching(api, CM, labelSelector="w=x") as events:
        first = await next_events(events, 1)
        await api.post(CM, json={"metadata": {"name": "later", "labels": {"w": "x"}}})
        second = await next_events(events, 1)
    assert first[0]["type"] == "ADDED" and first[0]["object"]["metadata"]["name"] == "existing"
    assert second[0]["object"]["metadata"]["name"] == "later"


async def test_an_object_leaving_the_selector_is_reported_deleted(api: httpx.AsyncClient) -> None:
    await api.post(CM, json={"metadata": {"name": "mover", "labels": {"stage": "a"}}})
    start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
    async with watching(api, CM, labelSelector="stage=a", resourceVersion=start) as events:
        await api.patch(f"{CM}/mover", content=b'{"metadata":{"labels":{"stage":"b"}}}',
                        headers={"content-type": "application/merge-patch+json"})
        seen = await next_events(events, 1)
    assert seen[0]["type"] == "DELETED" and seen[0]["object"]["metadata"]["labels"] == {"stage": "b"}


async def test_field_selector_watch_follows_one_object(api: httpx.AsyncClient) -> None:
    start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
    async with watching(api, CM, fieldSelector="metadata.name=target", resourceVersion=start) as events:
        await api.post(CM, json={"metadata": {"name": "other"}})
        await api.post(CM, json={"metadata": {"name": "target"}})
        seen = await next_events(events, 1)
    assert seen[0]["object"]["metadata"]["name"] == "target"


async def test_a_revision_older_than_the_history_gets_410_expired(api: httpx.AsyncClient) -> None:
    start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
    for index in range(60):  # the test store keeps 50 events
        await api.post(CM, json={"metadata": {"name": f"churn-{index}"}})
    async with watching(api, CM, resourceVersion=start) as events:
        seen = await next_events(events, 1)
    assert seen[0]["type"] == "ERROR"
    assert seen[0]["object"]["code"] == 410 and seen[0]["object"]["reason"] == "Expired"


async def test_watch_ends_after_timeout_seconds(api: httpx.AsyncClient) -> None:
    response = await asyncio.wait_for(api.get(CM, params={"watch": "true", "timeoutSeconds": "1",
                                                          "resourceVersion": "1"}), 5)
    assert response.status_code == 200


async def test_table_watch_events_are_one_row_tables(api: httpx.AsyncClient) -> None:
    start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    events: list[dict] = []
    async with api.stream("GET", CM, params={"watch": "true", "resourceVersion": start},
                          headers={"accept": accept}) as response:
        await api.post(CM, json={"metadata": {"name": "tabled"}, "data": {"a": "b"}})
        async for line in response.aiter_lines():
            events.append(json.loads(line))
            break
    table = events[0]["object"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][:2] == ["tabled", 1]


async def test_resuming_from_a_revision_dropped_for_size_is_410_expired() -> None:
    store = LocalStore(history=10_000, history_bytes=2 * 1024 * 1024)
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        start = (await api.get(CM)).json()["metadata"]["resourceVersion"]
        for index in range(6):  # 3 MB of objects: more than the history keeps, though only 6 events
            await api.post(CM, json={"metadata": {"name": f"large-{index}"}, "data": {"blob": "x" * 500_000}})
        async with watching(api, CM, resourceVersion=start) as events:
            seen = await next_events(events, 1)
        assert seen[0]["type"] == "ERROR"
        assert seen[0]["object"]["code"] == 410 and seen[0]["object"]["reason"] == "Expired"
        assert store.core.hub.history_size_bytes <= 2 * 1024 * 1024


async def test_a_write_made_once_the_headers_arrive_is_delivered_as_an_event() -> None:
    """Issue #14: the 200 is sent only once the start is fixed, so a delete made on seeing it is a DELETED event
    (it used to land before the start, while the read barrier ran after the headers, and was never reported)."""
    async with apiserver_serving(store=SlowBarrier()) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        await api.post(CM, json={"metadata": {"name": "doomed"}})
        async with api.stream("GET", CM, params={"watch": "true"}) as response:
            assert response.status_code == 200
            assert (await api.delete(f"{CM}/doomed")).status_code == 200
            lines = response.aiter_lines()
            seen = [json.loads(await asyncio.wait_for(anext(lines), 5)) for _ in range(2)]
    assert [(event["type"], event["object"]["metadata"]["name"]) for event in seen] == [
        ("ADDED", "doomed"), ("DELETED", "doomed")]


async def test_a_watch_whose_read_barrier_fails_is_refused_before_it_answers() -> None:
    """No quorum for the barrier: a 503 with Retry-After, not a 200 whose stream breaks."""

    class QuorumLost(LocalStore):
        lost = False

        async def barrier(self) -> None:
            if self.lost:
                raise StoreUnavailable("no leader", retry_after=2)

    store = QuorumLost()
    async with apiserver_serving(store=store) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        store.lost = True
        response = await api.get(CM, params={"watch": "true"})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
