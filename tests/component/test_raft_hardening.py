"""A Raft replica in the test's process, attacked as someone who reaches its port but lacks the secret.

Each test is a finding of issue #13: the port listened on every address, one connection announcing a
2 GiB frame stalled every write, the data folder and journal were readable by everyone. The replica
here is a real `RaftStore` (pysyncobj on a loopback port), alone in its group, so it leads by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import socket
import stat
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from minik8s.store import raft_transport
from minik8s.store.raft import RaftSettings, RaftStore
from tests.support.ports import free_port
from tests.support.waiting import eventually

SECRET = "test-cluster-secret"
WRITE_BOUND = 1.5  # seconds a write may take while the replica is attacked (it commits in ~1 ms unattacked)


@contextlib.asynccontextmanager
async def lone_replica(data_dir: Path, *, host: str = "127.0.0.1") -> AsyncIterator[RaftStore]:
    address = f"{host}:{free_port()}"
    store = await RaftStore.open(RaftSettings(self_address=address, peers=(), data_dir=data_dir, password=SECRET))
    try:
        await eventually("the lone replica to lead", lambda: store.status()["role"] == "leader", timeout=10)
        yield store
    finally:
        await store.close()


def raft_port(store: RaftStore) -> int:
    return int(store.settings.self_address.rsplit(":", 1)[1])


def connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def timed_write(store: RaftStore, name: str) -> float:
    started = time.monotonic()
    result = await store.apply({"op": "create", "key": f"/registry/configmaps/default/{name}", "value": b"{}"})
    assert result.status == "ok", result
    return time.monotonic() - started


async def test_the_raft_port_listens_on_the_given_host_only(tmp_path: Path) -> None:
    async with lone_replica(tmp_path / "data", host="127.0.0.1") as store:
        port = raft_port(store)
        assert connects("127.0.0.1", port)
        # 127.0.0.2 is this machine too (all of 127/8 is loopback): a socket bound to 0.0.0.0 answers there.
        assert not connects("127.0.0.2", port), "the Raft port answers on an address it was not given"


class _Attacker:
    """A connection that announces one huge frame and then streams its body, as fast as it is read."""

    def __init__(self, port: int, *, first_frame: bytes = b"", announced: int = 2**31 - 1,
                 budget: int = 64 * 2**20) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        self.first_frame, self.announced, self.budget = first_frame, announced, budget
        self.dropped = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        chunk = b"\0" * 2**20
        sent = 0
        try:
            self.socket.sendall(self.first_frame + struct.pack("i", self.announced))
            while not self.stop.is_set() and sent < self.budget:
                with contextlib.suppress(TimeoutError):
                    sent += self.socket.send(chunk)
            while not self.stop.is_set():  # budget spent: wait for the replica to hang up
                with contextlib.suppress(TimeoutError):
                    if self.socket.recv(1) == b"":
                        break
        except OSError:
            pass
        else:
            if self.stop.is_set():
                return
        self.dropped.set()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.socket.close()


@pytest.mark.parametrize("first_frame", [b"", struct.pack("i", 8) + b"garbage!"],
                         ids=["huge-first-frame", "small-frame-then-huge"])
async def test_an_unauthenticated_huge_frame_is_dropped_at_once_and_writes_keep_flowing(
        tmp_path: Path, first_frame: bytes) -> None:
    async with lone_replica(tmp_path / "data") as store:
        assert await timed_write(store, "before") < WRITE_BOUND
        attackers = [_Attacker(raft_port(store), first_frame=first_frame) for _ in range(3)]
        try:
            durations = [await timed_write(store, f"during-{index}") for index in range(20)]
            for attacker in attackers:
                assert await asyncio.to_thread(attacker.dropped.wait, 5), "the replica kept reading the huge frame"
        finally:
            for attacker in attackers:
                attacker.close()
        assert max(durations) < WRITE_BOUND, f"writes stalled while attacked: {max(durations):.2f} s"


def hung_up(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except BlockingIOError:  # open, nothing to read
        return False
    except OSError:
        return True


async def test_idle_unauthenticated_connections_are_capped_and_time_out(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 4  # pysyncobj accepts slowly (a backlog of 5): a small cap keeps the test short
    monkeypatch.setattr(raft_transport, "UNAUTHENTICATED_CONNECTION_LIMIT", limit)
    monkeypatch.setattr(raft_transport, "HANDSHAKE_DEADLINE", 2.0)
    async with lone_replica(tmp_path / "data") as store:
        idle = [socket.create_connection(("127.0.0.1", raft_port(store)), timeout=5) for _ in range(limit + 8)]
        for connection in idle:
            connection.setblocking(False)
        try:
            assert await timed_write(store, "while-flooded") < WRITE_BOUND

            def still_open() -> list[socket.socket]:
                return [connection for connection in idle if not hung_up(connection)]

            await eventually("the oldest connections beyond the cap to be dropped",
                             lambda: len(still_open()) <= limit, timeout=10)
            await eventually("every idle connection to be dropped after the handshake deadline",
                             lambda: not still_open(), timeout=10)
        finally:
            for connection in idle:
                connection.close()
        assert await timed_write(store, "after") < WRITE_BOUND


class _WritesAFile:
    """A pickle that creates a file when loaded: what an attacker would send a replica."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


async def test_a_pickle_from_a_peer_without_the_secret_is_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-the-attacker"
    payload = zlib.compress(pickle.dumps(_WritesAFile(marker)), 3)
    async with lone_replica(tmp_path / "data") as store:
        with socket.create_connection(("127.0.0.1", raft_port(store)), timeout=5) as attack:
            attack.sendall(struct.pack("i", len(payload)) + payload)
            assert attack.recv(1) == b"", "the replica kept a connection whose frame it could not authenticate"
        assert await timed_write(store, "after") < WRITE_BOUND
    assert not marker.exists()


async def test_a_replica_refuses_to_open_without_a_secret(tmp_path: Path) -> None:
    settings = RaftSettings(self_address=f"127.0.0.1:{free_port()}", peers=(), data_dir=tmp_path / "data", password="")
    with pytest.raises(ValueError, match="cluster secret"):
        await RaftStore.open(settings)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_folder_is_private_and_so_is_the_journal(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with lone_replica(data_dir) as store:
        await timed_write(store, "one")
        assert mode_of(data_dir) == 0o700
        assert mode_of(data_dir / "raft.wal") == 0o600


async def test_an_older_replica_s_loose_modes_are_tightened_when_it_opens(tmp_path: Path) -> None:
    """Files the replica makes later (journal metadata, dumps) follow the daemon's umask 077: see
    tests/integration/test_raft_hardening.py."""
    data_dir = tmp_path / "data"
    async with lone_replica(data_dir) as store:
        await timed_write(store, "one")
    data_dir.chmod(0o755)
    (data_dir / "raft.wal").chmod(0o644)
    async with lone_replica(data_dir) as store:
        assert store.get("/registry/configmaps/default/one") is not None
        assert mode_of(data_dir) == 0o700
        assert mode_of(data_dir / "raft.wal") == 0o600
