"""Real apiserver replicas and their journals: killed mid-write, a torn tail, a disk that fills up.

The journal (minik8s/store/journal.py) must never lose an acknowledged write, must cut a torn tail
at start and say so, and must stop the replica — not corrupt itself — when the disk refuses a write;
a restart once space is back recovers everything acknowledged.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from minik8s.store.journal import JOURNAL_FILE
from minik8s.store.journal_format import encode_record
from tests.support.replicas import ReplicaSet
from tests.support.requirements import unavailable
from tests.support.waiting import wait_for

CM = "/api/v1/namespaces/default/configmaps"
WRITERS = 4


def names_on(replica_url: str) -> set[str]:
    items = httpx.get(f"{replica_url}{CM}", timeout=10).json()["items"]
    return {item["metadata"]["name"] for item in items}


class Writers:
    """Threads creating ConfigMaps round-robin over the replicas until stopped; acknowledged names noted."""

    def __init__(self, cluster: ReplicaSet) -> None:
        self.cluster, self.acknowledged, self._lock = cluster, set[str](), threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def _write(self, writer: int) -> None:
        with httpx.Client(timeout=3) as client:
            attempt = 0
            while not self._stop.is_set():
                replica = self.cluster.replicas[(writer + attempt) % len(self.cluster.replicas)]
                name = f"w{writer}-{attempt}"
                attempt += 1
                try:
                    response = client.post(f"{replica.url}{CM}", json={"metadata": {"name": name}})
                except httpx.TransportError:
                    continue
                if response.status_code == 201:
                    with self._lock:
                        self.acknowledged.add(name)


def test_the_whole_cluster_killed_mid_writes_keeps_every_acknowledged_write_and_cuts_a_torn_tail(
        tmp_path: Path) -> None:
    cluster = ReplicaSet(tmp_path, watch_history=200)
    cluster.start_all()
    try:
        with Writers(cluster) as writers:
            wait_for("writes to be acknowledged", lambda: writers.count() >= 60, timeout=30)
            cluster.stop_all()  # SIGKILL, every replica, while the writers are mid-request
        torn = cluster.replicas[1]
        with (torn.data_dir / JOURNAL_FILE).open("ab") as journal:  # what a power cut mid-write leaves
            journal.write(encode_record(10**6, 99, b"never synced", synced_upto=0)[:30])
        cluster.start_all()
        for replica in cluster.replicas:
            missing = writers.acknowledged - names_on(replica.url)  # a read without resourceVersion: linearizable
            assert missing == set(), f"{replica.name} lost acknowledged writes: {sorted(missing)[:5]}"
        assert "cut 30 bytes at offset" in torn.log_path.read_text()
    finally:
        cluster.stop_all()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs as the data directory of the replica `ReplicaSet(tmp_path, size=1)` starts."""
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")  # CI runs as root: there it fails instead
    mount_point = tmp_path / "apiserver-1"
    mount_point.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def create_until_refused(replica_url: str, value: str) -> set[str]:
    acknowledged: set[str] = set()
    with httpx.Client(timeout=10) as client:
        for index in range(100):
            try:
                response = client.post(f"{replica_url}{CM}", json={"metadata": {"name": f"big-{index}"},
                                                                 "data": {"value": value}})
            except httpx.TransportError:
                return acknowledged
            if response.status_code != 201:
                return acknowledged
            acknowledged.add(f"big-{index}")
    raise AssertionError("the disk never filled up")


def test_a_full_disk_stops_the_replica_without_damage_and_a_restart_recovers(tmp_path: Path, small_disk: Path) -> None:
    ballast = small_disk / "ballast"
    ballast.write_bytes(bytes(1 << 20))  # freed later: the space that "returns"
    cluster = ReplicaSet(tmp_path, size=1)
    cluster.start_all()
    try:
        replica = cluster.replicas[0]
        acknowledged = create_until_refused(replica.url, "x" * 200_000)
        process = replica.process
        assert process is not None
        wait_for("the replica to stop", lambda: process.poll() is not None, timeout=30)
        assert process.returncode == 1
        log = replica.log_path.read_text()
        assert "stopping this replica:" in log and "No space left on device" in log, log[-2000:]
        ballast.unlink()
        cluster.start(0)
        cluster.wait_ready()
        assert acknowledged <= names_on(replica.url)
        created = httpx.post(f"{replica.url}{CM}", json={"metadata": {"name": "after"}}, timeout=10)
        assert created.status_code == 201, created.text
    finally:
        cluster.stop_all()
