"""The cluster store replicated with Raft (pysyncobj): with raft_transport.py, the only modules importing it.

One stable replicated method, `apply(command)`, carries every change (method ids are derived
from sorted method names, so adding methods would break old journals). Runtime objects —
lock, loop, watch hub — live outside the replicated state (pysyncobj pickles every attribute
set after the consumer's __init__). Callbacks arrive on the Raft thread and reach the event
loop through `call_soon_threadsafe`; nothing here ever blocks the loop or the Raft thread.
Settings (docs/architecture.md, "The store"): no batching, short elections with quick reconnects,
bounded bind retries, a password (encrypted, authenticated traffic) without which no replica opens,
the Raft port bound to the given address only, a frame-size cap for unauthenticated peers
(raft_transport.py), a journal synced before any entry is counted and checksummed dumps
(raft_durability.py, journal.py, dump.py) in a private folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pysyncobj import FAIL_REASON, SyncObjConf, SyncObjConsumer, replicated

from minik8s.store.base import LocalReads, ReplicaCore, StoreBusy, StoreUnavailable, new_request_id
from minik8s.store.encryption import NO_ENCRYPTION, Transformers
from minik8s.store.raft_durability import open_replica
from minik8s.store.state import Command, KVState, Result
from minik8s.store.watch import DEFAULT_HISTORY_BYTES

log = logging.getLogger(__name__)

_ROLES = {0: "follower", 1: "candidate", 2: "leader"}
_RETRYABLE = {
    FAIL_REASON.MISSING_LEADER,
    FAIL_REASON.DISCARDED,
    FAIL_REASON.NOT_LEADER,
    FAIL_REASON.LEADER_CHANGED,
    FAIL_REASON.REQUEST_DENIED,
    getattr(FAIL_REASON, "UNKNOWN_OUTCOME", -1),
}


class _QuietTruncation(logging.Filter):
    """pysyncobj logs a harmless CRITICAL under pipelined load (raft-store.md pitfall 11)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "truncating already-applied" not in record.getMessage()


logging.getLogger("pysyncobj").addFilter(_QuietTruncation())
logging.getLogger("pysyncobj.syncobj").addFilter(_QuietTruncation())


@dataclass(frozen=True)
class RaftSettings:
    self_address: str  # host:port this replica's Raft listens on
    peers: tuple[str, ...]  # the other replicas' Raft addresses
    data_dir: Path
    password: str  # the cluster secret: encrypts and authenticates Raft traffic; never empty
    write_timeout: float = 5.0
    election_min: float = 0.2
    election_max: float = 0.6
    heartbeat: float = 0.05
    # Log compaction (docs/architecture.md, "The store"): each replica dumps its state in a slot of its
    # own once per `compaction_seconds`, if it has more than `compaction_entries` entries or
    # `compaction_bytes` of journal, or if that much time has passed since its last dump.
    compaction_entries: int = 20_000
    compaction_seconds: float = 120.0
    compaction_bytes: int = 64 << 20


class _ReplicatedState(SyncObjConsumer):  # type: ignore[misc]
    def __init__(self, core: ReplicaCore) -> None:
        self._core = core  # set before the base __init__: runtime only, never pickled
        super().__init__()
        self.state = core.state  # set after: the replicated, snapshotted state

    @replicated  # type: ignore[untyped-decorator]
    def apply(self, command: Command) -> Result | list[Result]:
        return self._core.apply_here(command, on_loop_thread=False)

    def _deserialize(self, data: dict[str, Any]) -> None:
        state = data.get("state")
        if not isinstance(state, KVState):
            log.error("ignoring a snapshot without a KV state")
            return
        with self._core.lock:
            self._core.state = state
            self.state = state
        # Events between our old state and the snapshot are unknown: watchers must re-list.
        self._core.loop.call_soon_threadsafe(self._core.hub.reset, state.revision)


def read_secret(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise ValueError(f"cluster secret file {path} is empty")
    return secret


def check_bindable(address: str) -> None:
    """Fail fast with a clear message instead of pysyncobj's silent bind retries."""
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host if host not in ("", "localhost") else "127.0.0.1", int(port)))
        except OSError as error:
            raise OSError(f"cannot listen for Raft on {address}: {error.strerror}") from error


class RaftStore(LocalReads):
    """A replica of the cluster store. Create with `await RaftStore.open(settings)`."""

    def __init__(self, settings: RaftSettings, core: ReplicaCore) -> None:
        self.settings = settings
        self.core = core
        self._consumer = _ReplicatedState(core)
        self._pending_barrier: asyncio.Future[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._outbox: list[tuple[Command, asyncio.Future[tuple[Any, int]]]] = []
        make_private_folder(settings.data_dir)
        conf = SyncObjConf(
            password=settings.password,
            bindAddress=settings.self_address,  # not pysyncobj's default: every address of the machine
            appendEntriesUseBatch=False,
            raftMinTimeout=settings.election_min,
            raftMaxTimeout=settings.election_max,
            appendEntriesPeriod=settings.heartbeat,
            # A lone replica commits on its next tick (no peer's answer wakes it): tick often.
            autoTickPeriod=0.002 if not settings.peers else 0.05,
            connectionTimeout=30.0,
            connectionRetryTime=0.5,
            bindRetryTime=0.5,
            maxBindRetries=20,
            fullDumpFile=str(settings.data_dir / "raft.dump"),  # the journal lives beside it (journal.py)
            logCompactionMinEntries=settings.compaction_entries,
            logCompactionMinTime=settings.compaction_seconds,
            logCompactionSplit=True,
            commandsQueueSize=20_000,
            dynamicMembershipChange=False,
        )
        self._syncobj = open_replica(settings.self_address, list(settings.peers), conf, self._consumer,
                                     compaction_bytes=settings.compaction_bytes)
        make_files_private(settings.data_dir)  # an older version's files

    @classmethod
    async def open(cls, settings: RaftSettings, *, history: int = 10_000,
                   history_bytes: int = DEFAULT_HISTORY_BYTES, transformers: Transformers = NO_ENCRYPTION
                   ) -> RaftStore:
        """`transformers` seal values at rest (encryption.py): every replica of a cluster needs the same keys."""
        if not settings.password:
            raise ValueError("a Raft replica needs the cluster secret: without it anyone reaching its port "
                             "could feed it commands")
        check_bindable(settings.self_address)
        core = ReplicaCore(asyncio.get_running_loop(), history=history, history_bytes=history_bytes,
                           transformers=transformers)
        return cls(settings, core)

    # ---- writes ----

    async def apply(self, command: Command) -> Result:
        """Commit a command; resubmit (same request id, so at most once) while Raft can't tell.

        Values are sealed first: the Raft log, on every replica, holds them as stored at rest.
        """
        command.setdefault("request_id", new_request_id())
        command = self.core.seal(command)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.write_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StoreUnavailable("the cluster store did not commit the write in time (no quorum?)")
            future: asyncio.Future[tuple[Any, int]] = loop.create_future()
            self._outbox.append((command, future))
            if len(self._outbox) == 1:
                loop.call_soon(self._flush, loop)
            try:
                async with asyncio.timeout(remaining):
                    result, error = await future
            except TimeoutError:
                raise StoreUnavailable(
                    "the cluster store did not commit the write in time (no quorum?)"
                ) from None
            if error == FAIL_REASON.SUCCESS:
                return result  # type: ignore[no-any-return]
            if error == FAIL_REASON.QUEUE_FULL:
                raise StoreBusy("the cluster store's queue is full")
            if error not in _RETRYABLE:
                raise StoreUnavailable(f"the cluster store refused the write (reason {error})")
            await asyncio.sleep(0.02)  # a leader change is under way: resubmit shortly

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send what arrived during this loop iteration as one Raft entry (a batch when several)."""
        pending, self._outbox = self._outbox, []
        if len(pending) == 1:
            command, future = pending[0]
            self._consumer.apply(command, callback=partial(self._resolve, loop, [future]))
            return
        batch = {"op": "batch", "commands": [command for command, _ in pending]}
        self._consumer.apply(batch, callback=partial(self._resolve, loop, [future for _, future in pending]))

    @staticmethod
    def _resolve(loop: asyncio.AbstractEventLoop, futures: list[asyncio.Future[tuple[Any, int]]],
                 result: Any, error: int) -> None:
        """Raft thread → loop: hand each waiting command its own outcome."""
        outcomes = result if len(futures) > 1 and isinstance(result, list) else [result] * len(futures)

        def settle() -> None:
            for future, outcome in zip(futures, outcomes, strict=False):
                if not future.done():
                    future.set_result((outcome, error))

        loop.call_soon_threadsafe(settle)

    async def barrier(self) -> None:
        """A replicated no-op shared by every read that arrives before it is sent."""
        if self._pending_barrier is None:
            loop = asyncio.get_running_loop()
            self._pending_barrier = loop.create_future()
            loop.call_soon(self._send_barrier)
        await asyncio.shield(self._pending_barrier)

    def _send_barrier(self) -> None:
        future, self._pending_barrier = self._pending_barrier, None
        assert future is not None

        async def run() -> None:
            try:
                await self.apply({"op": "noop"})
                future.set_result(None)
            except Exception as error:
                future.set_exception(error)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def status(self) -> dict[str, object]:
        raw = self._syncobj.getStatus()
        leader = raw.get("leader")
        return {
            "role": _ROLES.get(raw.get("state", 0), "follower"),
            "self": str(raw.get("self")),
            "leader": str(leader) if leader is not None else None,
            "term": raw.get("raft_term"),
            "has_quorum": bool(raw.get("has_quorum")),
            "commit_index": raw.get("commit_idx"),
            "last_applied": raw.get("last_applied"),
            "revision": self.revision,
            "cluster_id": self.cluster_id,
            # A watch may start after this revision; one from before it is answered 410 (watch.py).
            "oldest_watch_revision": self.core.hub.oldest_available(),
            "journal_bytes": self._syncobj.journal_bytes,
        }

    async def close(self) -> None:
        """Stop the Raft thread and wait for it: the journal is synced and closed when this returns."""
        await asyncio.to_thread(self._syncobj.destroy_synchronous)


PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_folder(folder: Path) -> None:
    """The replica's data folder, readable by its owner only (journals and dumps hold every object)."""
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    folder.chmod(PRIVATE_FOLDER_MODE)


def make_files_private(folder: Path) -> None:
    """Owner-only files. pysyncobj creates its files with the process umask (the daemon sets 077 for the
    files it makes later: journal metadata, dumps); this catches the ones made before, e.g. by an older
    version with a looser umask."""
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:
            path.chmod(PRIVATE_FILE_MODE)


def ensure_secret(path: Path) -> str:
    """Create a random cluster secret (mode 0600) when missing, and return it.

    Replicas started together race for it: the secret is written to a private temporary file
    and linked into place, so exactly one wins and nobody ever reads a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".secret.", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(os.urandom(24).hex())
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):  # another replica made it first: use theirs
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:  # a read-only mount of a 0600 file stays usable
        os.chmod(path, PRIVATE_FILE_MODE)
    return read_secret(path)
