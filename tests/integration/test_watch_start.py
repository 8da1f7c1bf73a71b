"""Where a watch without resourceVersion starts, on a follower of three real replicas (issue #14).

The guarantee (docs/architecture.md, "Watches"): the 200 and its headers are sent only once the watch's
start is fixed and subscribed, and the start holds every write acknowledged before the request arrived.
So a write made as soon as the headers arrive is delivered as an event. The write here is a DELETE: a
write that landed before the start would leave no trace at all (an ADDED would hide in the initial state).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.replicas import Replica, ReplicaSet
from tests.support.waiting import wait_for

CM = "/api/v1/namespaces/default/configmaps"
ROUNDS = 5
BURST_CONNECTIONS = 32
BURST_CREATES_PER_CONNECTION = 15
EVENT_WAIT_SECONDS = 30.0  # generous: the machine may be loaded


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ReplicaSet]:
    replicas = ReplicaSet(tmp_path)
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


def burst_of_creates(cluster: ReplicaSet, tag: str) -> set[str]:
    """32 connections spread over every replica, each creating ConfigMaps back to back; the names acknowledged."""

    def connection(index: int) -> set[str]:
        replica = cluster.replicas[index % len(cluster.replicas)]
        created = set()
        with httpx.Client(base_url=replica.url, timeout=30) as client:
            for sequence in range(BURST_CREATES_PER_CONNECTION):
                name = f"{tag}-{index}-{sequence}"
                response = client.post(CM, json={"metadata": {"name": name}, "data": {"payload": "x" * 900}})
                assert response.status_code == 201, response.text
                created.add(name)
        return created

    with ThreadPoolExecutor(BURST_CONNECTIONS) as pool:
        return set().union(*pool.map(connection, range(BURST_CONNECTIONS)))


class WatchReader:
    """A watch without resourceVersion: opened (headers read) by the constructor, its lines read on a thread."""

    def __init__(self, replica: Replica) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", replica.http_port, timeout=EVENT_WAIT_SECONDS)
        self._connection.request("GET", f"{CM}?watch=true&timeoutSeconds=120")
        self._response = self._connection.getresponse()  # returns once the status line and headers are in
        self.status = self._response.status
        self.events: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._read, name="watch-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            while line := self._response.readline():
                event = json.loads(line)
                self.events.append((event["type"], event["object"]["metadata"]["name"]))

    def saw(self, event_type: str, name: str) -> bool:
        return (event_type, name) in self.events

    def close(self) -> None:
        if self._connection.sock is not None:
            with contextlib.suppress(OSError):
                self._connection.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._connection.close()


def delete_on_seeing_the_headers(cluster: ReplicaSet, round_index: int) -> None:
    """One round: a victim, a burst, a watch on a follower, the victim deleted through the leader at once."""
    leader = cluster.leader_index()
    follower = cluster.replicas[(leader + 1) % len(cluster.replicas)]
    victim = f"victim-{round_index}"
    with httpx.Client(base_url=cluster.replicas[leader].url, timeout=30) as writer:
        assert writer.post(CM, json={"metadata": {"name": victim}}).status_code == 201
        acknowledged = burst_of_creates(cluster, f"burst-{round_index}")
        watch = WatchReader(follower)
        try:
            assert watch.status == 200
            assert writer.delete(f"{CM}/{victim}").status_code == 200  # as soon as the headers are in
            wait_for(f"round {round_index}: the DELETED event of {victim}", lambda: watch.saw("DELETED", victim),
                     timeout=EVENT_WAIT_SECONDS, describe=lambda: f"{len(watch.events)} events read")
            initial = {name for kind, name in watch.events if kind == "ADDED"}  # all read before the DELETED
            assert acknowledged <= initial, f"{len(acknowledged - initial)} acknowledged creates not in the start"
        finally:
            watch.close()


def test_a_write_made_when_a_follower_watch_answers_is_delivered_after_a_burst(cluster: ReplicaSet) -> None:
    for round_index in range(ROUNDS):
        delete_on_seeing_the_headers(cluster, round_index)
