"""The informer keeps a faithful cache through list, watch, dropped streams and expired revisions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minik8s.api.meta import key_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.controller import Controller
from minik8s.client.errors import Gone, ServerUnreachable
from minik8s.client.informer import Informer, ListWatchClient
from minik8s.client.watch import WatchEvent
from tests.support.waiting import eventually


def registered(name: str) -> ResourceKind:
    resource = REGISTRY.resolve(name)
    assert resource is not None
    return resource


PODS = registered("pods")

END = object()  # put in a stream: the server closes it
StreamItem = WatchEvent | Exception | object


def pod(name: str, resource_version: str, namespace: str = "default") -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": resource_version}}


def pod_list(resource_version: str, *pods: dict[str, Any]) -> dict[str, Any]:
    items = [{key: value for key, value in item.items() if key not in ("kind", "apiVersion")} for item in pods]
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": resource_version},
            "items": items}


class FakeListWatch:
    """Lists answer from a script; each watch call takes the next stream the test opens."""

    def __init__(self, *lists: dict[str, Any] | Exception) -> None:
        self.lists = list(lists)
        self.list_calls = 0
        self.watch_from: list[str | None] = []
        self._streams: asyncio.Queue[asyncio.Queue[StreamItem]] = asyncio.Queue()

    def open_stream(self) -> asyncio.Queue[StreamItem]:
        stream: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._streams.put_nowait(stream)
        return stream

    async def list(self, kind: ResourceKind, *, namespace: str | None = None,
                   label_selector: str | None = None, field_selector: str | None = None) -> dict[str, Any]:
        answer = self.lists[min(self.list_calls, len(self.lists) - 1)]
        self.list_calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def watch(self, kind: ResourceKind, *, namespace: str | None = None,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, timeout_seconds: int | None = None,
                    allow_bookmarks: bool = True) -> AsyncIterator[WatchEvent]:
        self.watch_from.append(resource_version)
        stream = await self._streams.get()
        while True:
            item = await stream.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, WatchEvent)
            yield item


class Recorder:
    """Handlers that record what they saw as (event, key, resourceVersion)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.seen.append(("add", key_of(obj), obj["metadata"]["resourceVersion"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.seen.append(("update", key_of(new), new["metadata"]["resourceVersion"]))

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.seen.append(("delete", key_of(obj), obj["metadata"]["resourceVersion"]))

    def attach(self, informer: Informer) -> None:
        informer.add_handler(on_add=self.on_add, on_update=self.on_update, on_delete=self.on_delete)


def start(client: FakeListWatch, **options: Any) -> tuple[Informer, Recorder, asyncio.Task[None]]:
    typed_client: ListWatchClient = client
    informer = Informer(typed_client, PODS, backoff_base=0.001, backoff_max=0.005, **options)
    recorder = Recorder()
    recorder.attach(informer)
    return informer, recorder, asyncio.create_task(informer.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_initial_list_announces_adds_then_watches_from_its_revision() -> None:
    client = FakeListWatch(pod_list("10", pod("a", "5"), pod("b", "7")))
    client.open_stream()
    informer, recorder, task = start(client)
    assert await informer.wait_synced(1.0)
    assert recorder.seen == [("add", "default/a", "5"), ("add", "default/b", "7")]
    assert informer.get("default/a") == pod("a", "5")  # kind and apiVersion filled in from the list
    await eventually("a watch from revision 10", lambda: client.watch_from == ["10"], timeout=1.0)
    await stop(task)


async def test_watch_events_update_cache_and_handlers() -> None:
    client = FakeListWatch(pod_list("10", pod("a", "5")))
    stream = client.open_stream()
    informer, recorder, task = start(client)
    await informer.wait_synced(1.0)
    for event in [WatchEvent("ADDED", pod("b", "11")), WatchEvent("MODIFIED", pod("a", "12")),
                  WatchEvent("DELETED", pod("b", "13"))]:
        stream.put_nowait(event)
    await eventually("four events", lambda: len(recorder.seen) == 4, timeout=1.0)
    assert recorder.seen[1:] == [("add", "default/b", "11"), ("update", "default/a", "12"),
                                 ("delete", "default/b", "13")]
    assert [key_of(obj) for obj in informer.list()] == ["default/a"]
    assert informer.get("default/a") == pod("a", "12")
    assert informer.resource_version == "13"
    await stop(task)


@pytest.mark.parametrize("how_it_ends", [END, ServerUnreachable("stream broke")])
async def test_a_dropped_stream_resumes_from_the_last_revision(how_it_ends: object) -> None:
    client = FakeListWatch(pod_list("10"))
    first = client.open_stream()
    informer, recorder, task = start(client)
    await informer.wait_synced(1.0)
    first.put_nowait(WatchEvent("ADDED", pod("a", "11")))
    first.put_nowait(WatchEvent("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "15"}}))
    first.put_nowait(how_it_ends)
    second = client.open_stream()
    await eventually("a second watch", lambda: len(client.watch_from) == 2, timeout=1.0)
    assert client.watch_from == ["10", "15"]
    assert client.list_calls == 1  # no re-list needed
    second.put_nowait(WatchEvent("MODIFIED", pod("a", "16")))
    await eventually("the update at revision 16",
                     lambda: recorder.seen[-1] == ("update", "default/a", "16"), timeout=1.0)
    await stop(task)


async def test_gone_relists_and_reports_only_what_changed_meanwhile() -> None:
    before = pod_list("10", pod("stays", "1"), pod("changes", "2"), pod("vanishes", "3"))
    after = pod_list("30", pod("stays", "1"), pod("changes", "25"), pod("appears", "26"))
    client = FakeListWatch(before, after)
    first = client.open_stream()
    informer, recorder, task = start(client)
    await informer.wait_synced(1.0)
    recorder.seen.clear()
    first.put_nowait(Gone(410, "Expired", "too old resource version"))
    client.open_stream()
    await eventually("a watch resumed from revision 30",
                     lambda: client.watch_from == ["10", "30"], timeout=1.0)
    assert client.list_calls == 2
    assert sorted(recorder.seen) == [("add", "default/appears", "26"), ("delete", "default/vanishes", "3"),
                                     ("update", "default/changes", "25")]
    assert sorted(informer.keys()) == ["default/appears", "default/changes", "default/stays"]
    await stop(task)


async def test_a_failed_list_is_retried() -> None:
    client = FakeListWatch(ServerUnreachable("down"), pod_list("10", pod("a", "5")))
    client.open_stream()
    informer, recorder, task = start(client)
    assert await informer.wait_synced(1.0)
    assert client.list_calls == 2
    assert recorder.seen == [("add", "default/a", "5")]
    await stop(task)


async def test_resync_replays_every_cached_object_as_an_update() -> None:
    client = FakeListWatch(pod_list("10", pod("a", "5")))
    client.open_stream()
    informer, recorder, task = start(client, resync_seconds=0.005)
    await informer.wait_synced(1.0)
    await eventually("the update at revision 5",
                     lambda: ("update", "default/a", "5") in recorder.seen, timeout=1.0)
    await stop(task)


async def test_a_late_handler_sees_the_cache_as_adds_and_cluster_scoped_keys_are_names() -> None:
    nodes = registered("nodes")
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "resourceVersion": "4"}}
    client = FakeListWatch({"kind": "NodeList", "metadata": {"resourceVersion": "4"}, "items": [node]})
    client.open_stream()
    informer = Informer(client, nodes)
    task = asyncio.create_task(informer.run())
    await informer.wait_synced(1.0)
    late = Recorder()
    late.attach(informer)
    assert late.seen == [("add", "n1", "4")]
    assert informer.get("n1") == node
    await stop(task)


async def test_wait_synced_times_out_without_a_list() -> None:
    informer = Informer(FakeListWatch(pod_list("1")), PODS)
    assert not await informer.wait_synced(0.01)
    assert not informer.has_synced


async def test_controller_reconciles_keys_only_once_its_caches_are_synced() -> None:
    client = FakeListWatch(ServerUnreachable("down"), pod_list("10", pod("a", "5")))
    stream = client.open_stream()
    informer = Informer(client, PODS, backoff_base=0.001, backoff_max=0.005)
    reconciled: list[tuple[str, bool]] = []

    async def reconcile(key: str) -> None:
        reconciled.append((key, informer.get(key) is not None))

    controller = Controller(name="test", reconcile=reconcile, informers=[informer])
    controller.enqueue_events_of(informer)
    controller.queue.add("default/early")  # queued before any cache exists
    task = asyncio.create_task(controller.run())
    await eventually("two reconciles", lambda: len(reconciled) == 2, timeout=1.0)
    assert informer.has_synced
    assert sorted(reconciled) == [("default/a", True), ("default/early", False)]
    stream.put_nowait(WatchEvent("DELETED", pod("a", "11")))
    await eventually("a reconcile of a deleted object",
                     lambda: reconciled[-1] == ("default/a", False), timeout=1.0)
    await stop(task)
    assert controller.queue.shutting_down
