"""Log compaction on disk: a bounded data directory, dumps that are checked, and an older version's files.

Each test runs a real RaftStore alone in its group (it leads by itself) in this process, with
compaction settings low enough to compact within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pysyncobj import SyncObj, SyncObjConf

from minik8s.store.base import ReplicaCore
from minik8s.store.dump import DumpCorrupt
from minik8s.store.journal import JOURNAL_FILE, DurableJournal
from minik8s.store.raft import RaftSettings, RaftStore, _ReplicatedState
from tests.support.ports import free_port
from tests.support.waiting import eventually

SECRET = "compaction-test"
ROUNDS = 400  # x (125 creates + 125 deletes) = 100,000 writes and deletes
PER_ROUND = 125
DATA_DIR_BOUND = 4 << 20  # see test_100_000_writes_and_deletes_keep_the_data_directory_bounded


@contextlib.asynccontextmanager
async def lone_replica(data_dir: Path, **settings: Any) -> AsyncIterator[RaftStore]:
    store = await RaftStore.open(RaftSettings(self_address=f"127.0.0.1:{free_port()}", peers=(),
                                              data_dir=data_dir, password=SECRET, **settings))
    try:
        await eventually("the lone replica to lead", lambda: store.status()["role"] == "leader", timeout=20)
        yield store
    finally:
        await store.close()


def key(name: str) -> str:
    return f"/registry/configmaps/default/{name}"


async def create(store: RaftStore, name: str, value: bytes = b"{}") -> None:
    result = await store.apply({"op": "create", "key": key(name), "value": value})
    assert result.status == "ok", result


def size_on_disk(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


async def test_100_000_writes_and_deletes_keep_the_data_directory_bounded(tmp_path: Path) -> None:
    """The bound: a dump (the live keys and the 20,000 remembered request outcomes: about 100 KB) and
    its temporary copy, plus a journal of at most `compaction_bytes` (1 MiB) and what arrives until
    the replica's next compaction slot (0.06 s in every 0.2 s here), and its copy while it is
    rewritten: 4 MiB. Measured: about 1 MiB. Without compaction the journal alone passes 20 MB."""
    data_dir = tmp_path / "data"
    value = b'{"data": "' + b"x" * 100 + b'"}'
    largest = 0
    async with lone_replica(data_dir, compaction_entries=500, compaction_seconds=0.2,
                            compaction_bytes=1 << 20) as store:
        for round_ in range(ROUNDS):
            writes = [store.apply({"op": "create", "key": key(f"r{round_}-{n}"), "value": value})
                      for n in range(PER_ROUND)]
            deletes = [store.apply({"op": "delete", "key": key(f"r{round_ - 1}-{n}")})
                       for n in range(PER_ROUND) if round_ > 0]
            assert {result.status for result in await asyncio.gather(*writes, *deletes)} == {"ok"}
            largest = max(largest, size_on_disk(data_dir))
        revision, live = store.revision, store.core.state.count()
    assert largest < DATA_DIR_BOUND, f"the data directory reached {largest} bytes"
    assert live == PER_ROUND
    async with lone_replica(data_dir) as reopened:  # from the compacted files
        await eventually("the journal replayed", lambda: reopened.revision == revision, timeout=20,
                         describe=lambda: f"revision {reopened.revision}, expected {revision}")
        assert reopened.core.state.count() == live


async def test_the_replica_s_status_shows_the_journal_s_size_on_disk(tmp_path: Path) -> None:
    async with lone_replica(tmp_path / "data") as store:
        await create(store, "one", b"x" * 10_000)
        assert store.status()["journal_bytes"] == (tmp_path / "data" / JOURNAL_FILE).stat().st_size > 10_000


async def test_a_crash_between_a_dump_and_the_journal_s_compaction_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pysyncobj discards the whole journal when its head does not match the dump; the journal is
    therefore cut to the dump's first entry when it opens."""
    data_dir = tmp_path / "data"
    compacted: list[int] = []
    monkeypatch.setattr(DurableJournal, "deleteEntriesTo", lambda journal, entry: compacted.append(entry))
    async with lone_replica(data_dir, compaction_seconds=0.5) as store:
        for index in range(20):
            await create(store, f"before-{index}")
        store._syncobj.forceLogCompaction()
        await eventually("a dump", lambda: compacted, timeout=20)  # the process "stops" before compacting
        for index in range(10):
            await create(store, f"after-{index}")
    monkeypatch.undo()
    async with lone_replica(data_dir) as reopened:
        missing = [name for name in [*(f"before-{i}" for i in range(20)), *(f"after-{i}" for i in range(10))]
                   if reopened.get(key(name)) is None]
        assert missing == []


async def test_a_damaged_dump_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with lone_replica(data_dir, compaction_seconds=0.5) as store:
        await create(store, "one")
        store._syncobj.forceLogCompaction()
        await eventually("a dump", lambda: (data_dir / "raft.dump").exists(), timeout=20)
    dump = data_dir / "raft.dump"
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0x01
    dump.write_bytes(bytes(content))
    with pytest.raises(DumpCorrupt, match=r"raft\.dump: the dump fails its checksum"):
        await RaftStore.open(RaftSettings(self_address=f"127.0.0.1:{free_port()}", peers=(), data_dir=data_dir,
                                          password=SECRET))


def previous_version(data_dir: Path, core: ReplicaCore) -> SyncObj:
    """The store as the previous version opened it: pysyncobj's own journal and dump files."""
    conf = SyncObjConf(password=SECRET, appendEntriesUseBatch=False, autoTickPeriod=0.002,
                       journalFile=str(data_dir / "raft.journal"), fullDumpFile=str(data_dir / "raft.dump"),
                       logCompactionMinEntries=50_000, logCompactionMinTime=600)
    return SyncObj(f"127.0.0.1:{free_port()}", [], conf, consumers=[_ReplicatedState(core)])


async def test_a_data_directory_of_the_previous_version_opens_with_every_object(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    core = ReplicaCore(asyncio.get_running_loop(), history=100)
    old = previous_version(data_dir, core)
    consumer = old._SyncObj__consumers[0]
    try:
        for index in range(30):
            if index == 20:  # the first 20 end up in a dump of the previous format, the rest in its journal
                old.forceLogCompaction()
                await eventually("a dump", lambda: (data_dir / "raft.dump").exists(), timeout=20)
            command = {"op": "create", "key": key(f"old-{index}"), "value": b"{}", "request_id": f"old-{index}"}
            await asyncio.to_thread(consumer.apply, command, sync=True, timeout=10)
    finally:
        await asyncio.to_thread(old.destroy_synchronous)
    async with lone_replica(data_dir) as store:
        assert [name for name in (f"old-{i}" for i in range(30)) if store.get(key(name)) is None] == []
        await create(store, "new")
    assert not (data_dir / "raft.journal").exists() and (data_dir / JOURNAL_FILE).exists()
    async with lone_replica(data_dir) as store:
        assert store.get(key("old-0")) is not None and store.get(key("new")) is not None
