"""Durable acknowledgement, observed: three real RaftStores in this process, every fsync and vote recorded.

A write may be acknowledged only once its entry is on stable storage on a majority, the leader's
copy included; a vote may leave a replica only once the term and vote it grants are on disk
(minik8s/store/raft_durability.py). The recorder wraps `os.fdatasync` (the journal's syncs),
`os.fsync` (the term-and-vote file) and the transport's `send` (votes), and notes acknowledgements
in the order they happen; the journals are read afterwards to see which sync covered which write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from minik8s.store.journal import JOURNAL_FILE, META_FILE
from minik8s.store.journal_format import payload_of, scan
from minik8s.store.journal_meta import decode_meta
from minik8s.store.raft import RaftSettings, RaftStore
from minik8s.store.raft_durability import DurableTransport
from tests.support.ports import free_ports
from tests.support.waiting import eventually

SECRET = "durable-ack-test"
WAVES = 12
WRITES_PER_WAVE = 8


@dataclass
class Recorder:
    """Everything that happened, in order: ("sync", journal, bytes covered), ("meta", folder, (term, vote)),
    ("vote", folder, (term, candidate)), ("ack", key, 0)."""

    events: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, where: str, what: Any) -> None:
        with self.lock:
            self.events.append((kind, where, what))


def path_of(descriptor: int) -> str:
    return os.readlink(f"/proc/self/fd/{descriptor}")


def recording(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdatasync, real_fsync, real_send = os.fdatasync, os.fsync, DurableTransport.send

    def fdatasync(descriptor: int) -> None:
        real_fdatasync(descriptor)
        recorder.note("sync", path_of(descriptor), os.fstat(descriptor).st_size)

    def fsync(descriptor: int) -> None:
        real_fsync(descriptor)
        path = path_of(descriptor)
        if path.endswith(META_FILE + ".tmp"):
            meta = decode_meta(Path(path).read_bytes(), name=path)
            recorder.note("meta", str(Path(path).parent), (meta.term, meta.voted_for))

    def send(transport: DurableTransport, node: Any, message: dict[str, Any]) -> bool:
        if message.get("type") == "response_vote":
            folder = str(transport._syncObj._journal.path.parent)
            recorder.note("vote", folder, (message["term"], node.id))  # to the candidate it votes for
        return real_send(transport, node, message)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(DurableTransport, "send", send)


@contextlib.asynccontextmanager
async def three_replicas(root: Path) -> AsyncIterator[list[RaftStore]]:
    addresses = [f"127.0.0.1:{port}" for port in free_ports(3)]
    stores: list[RaftStore] = []
    try:
        for index, address in enumerate(addresses):
            peers = tuple(other for other in addresses if other != address)
            settings = RaftSettings(self_address=address, peers=peers, data_dir=root / f"replica-{index}",
                                    password=SECRET)
            stores.append(await RaftStore.open(settings))
        yield stores
    finally:
        for store in stores:
            await store.close()


def record_ends(journal: Path, keys: list[str]) -> dict[str, int]:
    """key -> end offset of the journal record that carries its write."""
    content = journal.read_bytes()
    found = scan(lambda offset, size: content[offset:offset + size], len(content), name=str(journal))
    ends: dict[str, int] = {}
    for record in found.records:
        payload = payload_of(content[record.offset:record.end]) or b""
        ends.update({key: record.end for key in keys if key.encode() in payload})
    return ends


def synced_before(events: list[tuple[str, str, Any]], position: int, journal: str, end: int) -> bool:
    return any(kind == "sync" and where == journal and covered >= end for kind, where, covered in events[:position])


async def test_every_acknowledged_write_was_synced_by_the_leader_and_a_follower_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    recording(recorder, monkeypatch)
    keys = [f"/registry/configmaps/default/durable-{index:04d}" for index in range(WAVES * WRITES_PER_WAVE)]
    async with three_replicas(tmp_path) as stores:
        leader = await eventually("a leader", lambda: next((s for s in stores if s.status()["role"] == "leader"),
                                                           None), timeout=20)
        follower = next(store for store in stores if store is not leader)
        term = leader.status()["term"]

        async def write(key: str, store: RaftStore) -> None:
            result = await store.apply({"op": "create", "key": key, "value": b"{}"})
            assert result.status == "ok", result
            recorder.note("ack", key, 0)

        for wave in range(WAVES):
            batch = keys[wave * WRITES_PER_WAVE:(wave + 1) * WRITES_PER_WAVE]
            await asyncio.gather(*(write(key, leader if n % 2 else follower) for n, key in enumerate(batch)))
        assert leader.status()["role"] == "leader" and leader.status()["term"] == term
    journals = {str(store.settings.data_dir / JOURNAL_FILE): store for store in stores}
    ends = {journal: record_ends(Path(journal), keys) for journal in journals}
    leader_journal = str(leader.settings.data_dir / JOURNAL_FILE)
    acks = [(position, key) for position, (kind, key, _) in enumerate(recorder.events) if kind == "ack"]
    assert len(acks) == len(keys)
    for position, key in acks:
        durable_on = {journal for journal in journals if key in ends[journal]
                      and synced_before(recorder.events, position, journal, ends[journal][key])}
        assert leader_journal in durable_on and len(durable_on) >= 2, f"{key} acknowledged before a majority synced"
    leader_syncs = sum(1 for kind, where, _ in recorder.events if kind == "sync" and where == leader_journal)
    assert 0 < leader_syncs < len(keys)  # group commit: writes that arrive together share one sync


def granted_votes(events: list[tuple[str, str, Any]]) -> list[tuple[int, str, tuple[int, str]]]:
    return [(position, where, what) for position, (kind, where, what) in enumerate(events) if kind == "vote"]


async def test_a_vote_leaves_a_replica_only_after_its_term_and_vote_are_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    recording(recorder, monkeypatch)
    async with three_replicas(tmp_path) as stores:
        await eventually("a leader", lambda: any(s.status()["role"] == "leader" for s in stores), timeout=20)
    votes = granted_votes(recorder.events)
    assert votes, "no replica granted a vote"
    for position, folder, granted in votes:
        stored = [what for kind, where, what in recorder.events[:position] if kind == "meta" and where == folder]
        assert granted in stored, f"{folder} voted {granted} before storing it (stored: {stored})"
