"""A restored cluster's first start: its store is seeded from a snapshot, through Raft.

`minik8s snapshot restore` leaves the snapshot as `seed.snapshot` (its header naming the new cluster's id) in
every replica's data directory. A replica that starts with one does not serve until its store holds it: the
leader reads the file and replicates it in parts (KVState's `restore` command, at most `PART_ENTRIES`
entries or about `PART_BYTES` bytes each, so no Raft entry is huge), every replica applies the same parts,
and the last part sets the revision (resourceVersions continue above it) and the cluster id.

Why through the log rather than by writing pysyncobj's dump files into the data directories: the log is the
one thing every replica, journal and dump already agree on, nothing here depends on how pysyncobj lays out
its files, and a replica whose data directory is wiped later catches up as from any other history.

The state records the seed (its sha256) and the next part, so a leader that dies mid-way is replaced by one
that resumes there, and a part sent twice is refused. Once its store holds the seed a replica deletes its
copy. A replica whose store already holds something else (someone wrote first) keeps its data, renames the
file `seed.snapshot.ignored` and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from minik8s.api.snapshot_format import (
    SnapshotEntry,
    SnapshotError,
    SnapshotReader,
    check_file,
)
from minik8s.store.base import ReplicaCore, StoreBusy, StoreUnavailable
from minik8s.store.state import Command, Result

log = logging.getLogger(__name__)

IGNORED_SUFFIX = ".ignored"
PART_ENTRIES = 1000
PART_BYTES = 1024 * 1024
POLL_SECONDS = 0.2

Part = tuple[int, list[tuple[str, bytes, int, int]], bool]  # index, entries, last


class SeedTarget(Protocol):
    core: ReplicaCore

    async def apply(self, command: Command) -> Result: ...

    async def barrier(self) -> None: ...

    def status(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class SeedProgress:
    pristine: bool
    restoring: tuple[str, int] | None
    cluster_id: str


Step = Literal["done", "send", "wait", "ignore"]


def next_step(progress: SeedProgress, *, seed: str, cluster_id: str, leader: bool) -> tuple[Step, int]:
    """What a replica holding seed `seed` (for cluster `cluster_id`) does next, and from which part it sends."""
    if progress.restoring is None and not progress.pristine and progress.cluster_id == cluster_id:
        return "done", 0
    if progress.restoring is not None and progress.restoring[0] == seed:
        return ("send", progress.restoring[1]) if leader else ("wait", 0)
    if progress.pristine:
        return ("send", 0) if leader else ("wait", 0)
    return "ignore", 0


def progress_of(core: ReplicaCore) -> SeedProgress:
    with core.lock:
        state = core.state
        return SeedProgress(state.is_pristine(), state.restoring, state.cluster_id)


def parts_of(path: Path) -> Generator[Part, None, None]:
    """The seed's parts in order; the last only once the whole file has been read and checked."""
    with path.open("rb") as stream:
        reader = SnapshotReader(stream, name=str(path), size=path.stat().st_size)
        index, held, held_bytes = 0, list[tuple[str, bytes, int, int]](), 0
        for entry in reader.entries():
            if len(held) >= PART_ENTRIES or held_bytes >= PART_BYTES:
                yield index, held, False
                index, held, held_bytes = index + 1, [], 0
            held.append(_plain(entry))
            held_bytes += len(entry.key) + len(entry.value)
        yield index, held, True


def _plain(entry: SnapshotEntry) -> tuple[str, bytes, int, int]:
    return entry.key, entry.value, entry.create_revision, entry.mod_revision


async def seed_store(store: SeedTarget, path: Path) -> bool:
    """Return once the store holds the seed at `path` (True) or the seed was set aside (False).

    A seed that is not an intact snapshot, or names no cluster, is a ValueError: the replica must not start.
    """
    try:
        summary = await asyncio.to_thread(check_file, str(path))
    except SnapshotError as error:
        raise ValueError(f"cannot restore from {path}: {error}") from None
    seed, cluster_id = summary.sha256, summary.header.cluster_id
    if not cluster_id:
        raise ValueError(f"{path} names no cluster id: make seeds with `minik8s snapshot restore`")
    log.info("restoring the store from %s: revision %d, %d keys, cluster %s", path, summary.header.revision,
             summary.header.keys, cluster_id)
    while True:
        try:
            await store.barrier()
        except (StoreUnavailable, StoreBusy):
            await asyncio.sleep(POLL_SECONDS)
            continue
        step, first = next_step(progress_of(store.core), seed=seed, cluster_id=cluster_id,
                                leader=store.status().get("role") == "leader")
        if step == "done":
            path.unlink(missing_ok=True)
            log.info("the store holds the snapshot: revision %d, cluster %s", summary.header.revision, cluster_id)
            return True
        if step == "ignore":
            path.rename(path.with_name(path.name + IGNORED_SUFFIX))
            log.warning("not restoring %s: the store already holds other data; the file is now %s%s", path,
                        path.name, IGNORED_SUFFIX)
            return False
        if step == "send":
            await _send_parts(store, path, seed=seed, cluster_id=cluster_id, first=first,
                              revision=summary.header.revision)
        else:
            await asyncio.sleep(POLL_SECONDS)


async def _send_parts(store: SeedTarget, path: Path, *, seed: str, cluster_id: str, first: int,
                      revision: int) -> None:
    """Replicate the parts from `first` on; return at the end or at the first part that did not apply."""
    parts = parts_of(path)
    try:
        while (part := await asyncio.to_thread(next, parts, None)) is not None:
            index, entries, last = part
            if index < first:
                continue
            command: Command = {"op": "restore", "seed": seed, "part": index, "revision": revision,
                                "entries": entries, "last": last, "cluster_id": cluster_id if last else ""}
            try:
                result = await store.apply(command)
            except (StoreUnavailable, StoreBusy) as error:
                log.info("restore part %d not committed (%s): checking again", index, error)
                return
            if result.status == "error":
                raise ValueError(f"the store refused part {index} of {path}: {result.message}")
            if result.status != "ok":
                return  # another leader sent it first: the caller looks at the progress again
            log.info("restored part %d%s", index, " (the last)" if last else "")
    except SnapshotError as error:
        raise ValueError(f"cannot restore from {path}: {error}") from None
    finally:
        parts.close()
