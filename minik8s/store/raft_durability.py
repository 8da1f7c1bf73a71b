"""Durable acknowledgement for pysyncobj: where a replica syncs its journal, hooked from outside.

An entry may count toward the commit index only once it is on stable storage on a majority. In
pysyncobj 0.3.17 two places count entries, and each gets a sync in front of it:

- A follower answers each `append_entries` with a `next_node_idx` message (`success`, the index
  after the last entry it appended), which the leader takes as "stored". `DurableTransport` holds
  these answers back and sends them after one journal sync: the answers of everything received in
  one poll of the Raft thread go out after a single fdatasync (group commit). Before any other
  message leaves, held answers are released (sync first), so messages keep their order.
- The leader counts its own log as stored (`count = 1`) when it recomputes the commit index, at the
  start of its tick (`SyncObj._onTick`, leader branch). `DurableSyncObj._onTick` syncs before it.
  The transport's tick callback — the last step of a tick, just before the poll waits for answers —
  syncs too, so the leader syncs what it just sent while the followers sync the same entries.

One entry escapes: a replica alone in its group elects itself and commits its new term's no-op in
the same tick, before a sync. No write is acknowledged by that no-op, and the sync that precedes the
next acknowledged entry covers it (the journal is synced in order).

The journal and the dump serializer are pysyncobj's private attributes `__raftLog` and
`__serializer`, built in `SyncObj.__init__` from the configuration. `DurableSyncObj` declares those
two names as properties, so the MemoryJournal (`journalFile` is left None: pysyncobj opens no file)
and the Serializer pysyncobj builds there are set aside for ours (journal.py, dump.py) as they are
assigned. Nothing of pysyncobj is copied or patched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from pysyncobj import SyncObj, SyncObjConf, SyncObjConsumer

from minik8s.store.dump import DurableSerializer, check_dump
from minik8s.store.failpoints import failpoints_from_environment
from minik8s.store.journal import JOURNAL_FILE, META_FILE, DurableJournal
from minik8s.store.journal_convert import convert_previous_journal
from minik8s.store.raft_transport import GuardedTransport

ANSWER = "next_node_idx"  # pysyncobj's "I have appended up to here" message
SLOT_BYPASS_FACTOR = 4  # a journal this many times `compaction_bytes` compacts at once, not in its slot


class DurableTransport(GuardedTransport):
    """The guarded TCP transport that sends a follower's answers only after its journal is synced."""

    def __init__(self, syncObj: DurableSyncObj, selfNode: Any, otherNodes: Any) -> None:
        self._held: list[tuple[Any, dict[str, Any]]] = []
        super().__init__(syncObj, selfNode, otherNodes)

    def send(self, node: Any, message: dict[str, Any]) -> bool:
        if message.get("type") == ANSWER:
            self._held.append((node, message))
            return True
        if self._held:
            self.release()
        return bool(super().send(node, message))

    def release(self) -> None:
        """Sync the journal, then send the answers held since the last sync."""
        self._syncObj.sync_journal()
        held, self._held = self._held, []
        for node, message in held:
            super().send(node, message)

    def _onTick(self) -> None:  # pysyncobj calls it right before each poll
        super()._onTick()
        self.release()


class DurableSyncObj(SyncObj):  # type: ignore[misc]
    """pysyncobj's SyncObj with the journal and serializer of the store, synced where it counts."""

    def __init__(self, self_address: str, peers: list[str], conf: SyncObjConf, *, journal: DurableJournal,
                 consumer: SyncObjConsumer, compaction_bytes: int) -> None:
        # Set before SyncObj.__init__, so pysyncobj counts them as its own fields and never pickles them.
        self._journal = journal
        self._dump_serializer = DurableSerializer(Path(conf.fullDumpFile), conf.logCompactionBatchSize,
                                                  on_load=journal.drop_before)
        self._compaction_bytes = compaction_bytes
        self._compaction_in_slots = conf.logCompactionSplit
        super().__init__(self_address, peers, conf, consumers=[consumer], transportClass=DurableTransport)

    @property
    def _SyncObj__raftLog(self) -> DurableJournal:
        return self._journal

    @_SyncObj__raftLog.setter
    def _SyncObj__raftLog(self, built_by_pysyncobj: object) -> None:
        """pysyncobj's MemoryJournal, set aside: `self._journal` is the log."""

    @property
    def _SyncObj__serializer(self) -> DurableSerializer:
        return self._dump_serializer

    @_SyncObj__serializer.setter
    def _SyncObj__serializer(self, built_by_pysyncobj: object) -> None:
        """pysyncobj's Serializer, set aside: `self._dump_serializer` writes and reads the dumps."""

    def sync_journal(self) -> None:
        self._journal.sync()

    @property
    def journal_bytes(self) -> int:
        return self._journal.size_bytes

    def _onTick(self, timeToWait: float = 0.0) -> None:
        self._SyncObj__transport.release()  # before the leader counts its own log, below
        self._bound_the_journal()
        super()._onTick(timeToWait)

    def _bound_the_journal(self) -> None:
        """Compact on size too: past `compaction_bytes` in this replica's next slot (pysyncobj's
        logCompactionSplit), far past it at once — big entries can fill gigabytes before the slot."""
        size = self._journal.size_bytes
        if size > self._compaction_bytes:
            self.forceLogCompaction()
        self.conf.logCompactionSplit = (self._compaction_in_slots
                                        and size <= SLOT_BYPASS_FACTOR * self._compaction_bytes)


def remove_temporaries(folder: Path, dump_file: Path) -> None:
    """What a stopped run left half-written (each is renamed into place only once whole and synced):
    on a full disk they hold the space a restart needs."""
    for name in (JOURNAL_FILE, META_FILE, dump_file.name, f"{dump_file.name}.1"):
        (folder / f"{name}.tmp").unlink(missing_ok=True)


def open_replica(self_address: str, peers: list[str], conf: SyncObjConf, consumer: SyncObjConsumer, *,
                 compaction_bytes: int) -> DurableSyncObj:
    """Open the data directory (converting an older version's journal once) and start pysyncobj on it.

    `conf.fullDumpFile` names the dump; the journal lives beside it. A torn journal tail is cut and
    logged; a corrupt journal or dump raises (JournalCorrupt, DumpCorrupt) before anything starts
    (pysyncobj itself loads the dump on its first tick).
    """
    if conf.journalFile is not None:
        raise ValueError("the durable journal replaces pysyncobj's: leave journalFile unset")
    failpoints = failpoints_from_environment()
    dump_file = Path(conf.fullDumpFile)
    remove_temporaries(dump_file.parent, dump_file)
    convert_previous_journal(dump_file.parent)
    journal = DurableJournal(dump_file.parent, dump_file=dump_file, failpoints=failpoints)
    try:
        if dump_file.exists():
            check_dump(dump_file)
        return DurableSyncObj(self_address, peers, conf, journal=journal, consumer=consumer,
                              compaction_bytes=compaction_bytes)
    except BaseException:
        with contextlib.suppress(OSError):
            journal._destroy()
        raise
