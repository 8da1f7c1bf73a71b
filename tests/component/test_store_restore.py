"""Restoring a snapshot into a new store: the state machine's `restore` and `identify`, and the seeding loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from minik8s.api.snapshot_format import (
    SEED_FILE_NAME,
    SnapshotEntry,
    SnapshotHeader,
    check_file,
    encode_snapshot,
    write_file,
)
from minik8s.store import seeding
from minik8s.store.base import LocalStore, name_cluster
from minik8s.store.seeding import SeedProgress, next_step, seed_store
from minik8s.store.state import RESTORING, KVState

REVISION = 50
ENTRIES = [SnapshotEntry(f"/registry/configmaps/ns{n % 3}/cm{n:02}", f'{{"n":{n}}}'.encode(), n + 1, n + 20)
           for n in range(25)]


def seed_file(folder: Path, *, cluster_id: str = "new-cluster", entries: list[SnapshotEntry] = ENTRIES) -> Path:
    path = folder / SEED_FILE_NAME
    write_file(path, encode_snapshot(SnapshotHeader(cluster_id, REVISION, len(entries), 0), entries))
    return path


def part(state: KVState, index: int, entries: list[SnapshotEntry], *, last: bool = False, seed: str = "s1") -> str:
    result, events = state.apply({"op": "restore", "seed": seed, "part": index, "revision": REVISION, "last": last,
                                  "cluster_id": "c2" if last else "", "entries": [tuple(e) for e in entries]})
    assert events == []
    return result.status


def test_parts_apply_in_order_and_the_last_sets_revision_and_cluster_id() -> None:
    state = KVState()
    assert part(state, 0, ENTRIES[:10]) == "ok"
    assert (state.restoring, state.revision) == (("s1", 1), 0)
    assert state.apply({"op": "create", "key": "/registry/x/y", "value": b"{}"})[0].message == RESTORING
    assert state.apply({"op": "identify", "cluster_id": "c"})[0].status == "error"
    assert part(state, 0, ENTRIES[:10]) == "conflict"  # sent twice: refused
    assert part(state, 2, ENTRIES[10:]) == "conflict"  # out of order: refused
    assert part(state, 1, ENTRIES[10:], last=True) == "ok"
    assert (state.revision, state.cluster_id) == (REVISION, "c2")
    assert state.restoring is None
    entry = state.get(ENTRIES[3].key)
    assert entry is not None and (entry.value, entry.create_revision, entry.mod_revision) == ENTRIES[3][1:]
    result, _ = state.apply({"op": "create", "key": "/registry/x/y", "value": b"{}"})
    assert (result.status, result.revision) == ("ok", REVISION + 1)


def test_a_restore_never_lands_on_a_used_store() -> None:
    state = KVState()
    state.apply({"op": "create", "key": "/registry/x/y", "value": b"{}"})
    assert part(state, 0, ENTRIES, last=True) == "conflict"
    named = KVState()
    named.apply({"op": "identify", "cluster_id": "first"})
    assert part(named, 0, ENTRIES, last=True) == "conflict"


def test_a_part_with_an_invalid_entry_changes_nothing() -> None:
    state = KVState()
    bad = [*ENTRIES[:3], SnapshotEntry("/registry/x/y", b"{}", 5, REVISION + 1)]  # newer than the snapshot
    assert part(state, 0, bad) == "error"
    assert state.is_pristine()


def test_identify_names_a_cluster_once() -> None:
    state = KVState()
    assert state.apply({"op": "identify", "cluster_id": "a"})[0].status == "ok"
    assert state.apply({"op": "identify", "cluster_id": "b"})[0].status == "exists"
    assert (state.cluster_id, state.revision) == ("a", 0)


def test_an_older_state_without_the_new_fields_reads_as_unnamed() -> None:
    old = KVState()
    del old.__dict__["cluster_id"], old.__dict__["restoring"]  # as unpickled from an older version's dump
    assert (old.cluster_id, old.restoring) == ("", None)
    assert old.apply({"op": "identify", "cluster_id": "a"})[0].status == "ok"


@pytest.mark.parametrize(("progress", "leader", "step"), [
    (SeedProgress(True, None, ""), True, ("send", 0)),
    (SeedProgress(True, None, ""), False, ("wait", 0)),
    (SeedProgress(False, ("seed", 3), ""), True, ("send", 3)),
    (SeedProgress(False, ("seed", 3), ""), False, ("wait", 0)),
    (SeedProgress(False, None, "new"), False, ("done", 0)),
    (SeedProgress(False, None, "other"), True, ("ignore", 0)),
    (SeedProgress(False, ("another seed", 1), ""), True, ("ignore", 0)),
])
def test_next_step(progress: SeedProgress, leader: bool, step: tuple[str, int]) -> None:
    assert next_step(progress, seed="seed", cluster_id="new", leader=leader) == step


async def test_seeding_loads_every_entry_in_parts_and_removes_the_seed(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seeding, "PART_ENTRIES", 7)
    store = LocalStore()
    assert await seed_store(store, seed_file(tmp_path)) is True
    assert (store.revision, store.cluster_id) == (REVISION, "new-cluster")
    assert sorted((key, e.value, e.create_revision, e.mod_revision) for key, e in store.list("/registry/")[1]) == \
        sorted(tuple(e) for e in ENTRIES)
    assert list(tmp_path.iterdir()) == []
    assert await name_cluster(store) == "new-cluster"  # bootstrap keeps the restored id


async def test_seeding_resumes_where_a_previous_leader_stopped(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seeding, "PART_ENTRIES", 10)
    path = seed_file(tmp_path)
    seed = check_file(str(path)).sha256
    store = LocalStore()
    first = next(seeding.parts_of(path))
    await store.apply({"op": "restore", "seed": seed, "part": 0, "revision": REVISION, "entries": first[1],
                       "last": False, "cluster_id": ""})
    assert await seed_store(store, path) is True
    assert store.core.count() == len(ENTRIES) and store.revision == REVISION


async def test_a_used_store_keeps_its_data_and_sets_the_seed_aside(tmp_path: Path) -> None:
    store = LocalStore()
    await store.apply({"op": "create", "key": "/registry/x/y", "value": b"{}"})
    path = seed_file(tmp_path)
    assert await seed_store(store, path) is False
    assert store.core.count() == 1 and store.cluster_id == ""
    assert [p.name for p in tmp_path.iterdir()] == [SEED_FILE_NAME + ".ignored"]


async def test_a_damaged_seed_stops_the_replica(tmp_path: Path) -> None:
    path = seed_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="is truncated"):
        await seed_store(LocalStore(), path)
    with pytest.raises(ValueError, match="names no cluster id"):
        await seed_store(LocalStore(), seed_file(tmp_path, cluster_id=""))
