"""Three real apiserver replicas: failover, durability, watches on followers, races."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.replicas import ReplicaSet

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ReplicaSet]:
    replicas = ReplicaSet(tmp_path, watch_history=200)
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


def create_with_failover(cluster: ReplicaSet, name: str, deadline: float) -> bool:
    """Create one ConfigMap, trying the live replicas in turn; True once acknowledged."""
    body = {"metadata": {"name": name}, "data": {"n": name}}
    while time.monotonic() < deadline:
        for replica in cluster.alive():
            try:
                response = httpx.post(f"{replica.url}{CM}", json=body, timeout=3)
            except httpx.TransportError:
                continue
            if response.status_code in (201, 409):  # 409: an earlier attempt did commit
                return True
        time.sleep(0.02)
    return False


def test_leader_killed_mid_stream_loses_no_acknowledged_write(cluster: ReplicaSet) -> None:
    leader = cluster.leader_index()
    acknowledged: list[str] = []
    deadline = time.monotonic() + 30
    for index in range(150):
        if index == 50:
            cluster.kill(leader)
        name = f"stream-{index}"
        assert create_with_failover(cluster, name, deadline), f"write {name} never succeeded after failover"
        acknowledged.append(name)
    survivor = cluster.alive()[0]
    items = httpx.get(f"{survivor.url}{CM}", timeout=5).json()["items"]
    stored = {item["metadata"]["name"] for item in items}
    assert set(acknowledged) <= stored
    cluster.start(leader)  # the old leader rejoins and catches up
    cluster.wait_ready()
    rejoined = cluster.replicas[leader]
    caught_up = {i["metadata"]["name"] for i in httpx.get(f"{rejoined.url}{CM}", timeout=5).json()["items"]}
    assert set(acknowledged) <= caught_up


def test_a_watcher_on_a_follower_sees_every_event_once_in_order(cluster: ReplicaSet) -> None:
    leader = cluster.leader_index()
    follower = cluster.replicas[(leader + 1) % 3]
    writer = cluster.replicas[leader]
    start = httpx.get(f"{follower.url}{CM}", timeout=5).json()["metadata"]["resourceVersion"]
    seen: list[dict] = []
    done = threading.Event()

    def watch() -> None:
        params = {"watch": "true", "resourceVersion": start, "timeoutSeconds": "30"}
        with httpx.stream("GET", f"{follower.url}{CM}", params=params, timeout=None) as response:
            for line in response.iter_lines():
                if line:
                    seen.append(json.loads(line))
                if len(seen) >= 100:
                    break
        done.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    with httpx.Client(base_url=writer.url, timeout=5) as client:
        for index in range(100):
            assert client.post(CM, json={"metadata": {"name": f"w-{index}"}}).status_code == 201
    assert done.wait(20), f"watch delivered only {len(seen)} of 100 events"
    assert [e["object"]["metadata"]["name"] for e in seen] == [f"w-{i}" for i in range(100)]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in seen]
    assert versions == sorted(set(versions))


def test_the_whole_cluster_killed_and_restarted_keeps_every_object(cluster: ReplicaSet) -> None:
    leader = cluster.replicas[cluster.leader_index()]
    with httpx.Client(base_url=leader.url, timeout=5) as client:
        for index in range(40):
            assert client.post(CM, json={"metadata": {"name": f"durable-{index}"}}).status_code == 201
        revision = client.get(CM).json()["metadata"]["resourceVersion"]
    cluster.stop_all()
    cluster.start_all()
    replica = cluster.replicas[cluster.leader_index()]
    listing = httpx.get(f"{replica.url}{CM}", timeout=5).json()
    names = {i["metadata"]["name"] for i in listing["items"]}
    assert {f"durable-{i}" for i in range(40)} <= names
    assert int(listing["metadata"]["resourceVersion"]) >= int(revision)


def test_watch_resumes_from_a_revision_and_expires_when_too_old(cluster: ReplicaSet) -> None:
    replica = cluster.replicas[0]
    with httpx.Client(base_url=replica.url, timeout=5) as client:
        first = client.post(CM, json={"metadata": {"name": "resume-a"}}).json()["metadata"]["resourceVersion"]
        client.post(CM, json={"metadata": {"name": "resume-b"}})
        params = {"watch": "true", "resourceVersion": first, "timeoutSeconds": "1"}
        lines = [json.loads(line) for line in client.get(CM, params=params).text.splitlines() if line]
        assert [e["object"]["metadata"]["name"] for e in lines] == ["resume-b"]
        for index in range(250):  # history is 200 events
            client.post(CM, json={"metadata": {"name": f"churn-{index}"}})
        expired = [json.loads(line) for line in client.get(CM, params=params).text.splitlines() if line]
        assert expired[0]["type"] == "ERROR" and expired[0]["object"]["code"] == 410


def test_two_puts_with_one_resource_version_on_two_replicas(cluster: ReplicaSet) -> None:
    first, second = cluster.replicas[0], cluster.replicas[1]
    created = httpx.post(f"{first.url}{CM}", json={"metadata": {"name": "race"}}, timeout=5).json()
    results: list[int] = []

    def put(url: str, value: str) -> None:
        body = dict(created, data={"winner": value})
        results.append(httpx.put(f"{url}{CM}/race", json=body, timeout=5).status_code)

    threads = [threading.Thread(target=put, args=(r.url, r.name)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [200, 409]


def test_without_a_quorum_writes_get_503_with_retry_after(cluster: ReplicaSet) -> None:
    cluster.kill(0)
    cluster.kill(1)
    survivor = cluster.replicas[2]
    response = httpx.post(f"{survivor.url}{CM}", json={"metadata": {"name": "lonely"}}, timeout=15)
    assert response.status_code == 503
    assert response.json()["reason"] == "ServiceUnavailable" and int(response.headers["Retry-After"]) >= 1
    assert httpx.get(f"{survivor.url}/healthz", timeout=2).status_code == 200  # degraded, not crashed
