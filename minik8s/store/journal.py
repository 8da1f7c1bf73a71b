"""The Raft journal of a replica: pysyncobj's log on disk, synced before anything counts it.

pysyncobj 0.3.17's own FileJournal is an mmap that is never flushed (20 acknowledged writes made no
fsync, fdatasync or msync), keeps every entry in RAM as well (400 writes of a 900 KB ConfigMap held
about 1 GB), never shrinks, and turns a full disk into SIGBUS. `DurableJournal` implements the same
pysyncobj `Journal` interface (add, clear, deleteEntriesFrom/To, indexing, term, vote, commit index)
and is plugged in by `raft_durability.py`. It keeps:

- `raft.wal` (format in `journal_format.py`): each entry is written with pwrite as pysyncobj adds
  it; `sync()` (one fdatasync for everything written since the last one: group commit) is called
  by `raft_durability.py` where the replica is about to report or count entries.
- in RAM only each entry's offset, index and term, plus the most recent entries (a cache bounded in
  bytes and entries); older ones are read back from the file when pysyncobj asks for them (a
  follower catching up, a restart replaying), their checksum checked again.
- `raft.meta` (`journal_meta.py`): term and vote, durable before `setCurrentTerm` returns.
- after a dump (log compaction), `deleteEntriesTo`/`clear` copy the kept entries into a new file
  that replaces the old one, so the journal does not grow forever; the dump is made durable first,
  so no entry is forgotten before the dump that covers it is on disk.
- a torn tail is cut at open and reported; a corrupt middle stops the start (`JournalCorrupt`); a
  write or sync the disk refuses stops the process (`durable_files.fail_stop`).

Every method runs on pysyncobj's thread, except `size_bytes`, read by status pages.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from pysyncobj.journal import Journal

from minik8s.store.durable_files import (
    PRIVATE_FILE_MODE,
    StorageFailure,
    fail_stop,
    sync_directory,
    sync_file,
    write_all,
)
from minik8s.store.failpoints import NONE, Failpoints
from minik8s.store.journal_format import (
    FILE_HEADER_SIZE,
    ChunkedReader,
    RecordPlace,
    encode_file_header,
    encode_record,
    payload_of,
    scan,
)
from minik8s.store.journal_meta import RaftMeta, load_meta, store_meta

log = logging.getLogger(__name__)

JOURNAL_FILE = "raft.wal"
META_FILE = "raft.meta"
CACHE_BYTES = 16 << 20  # recent entries kept in RAM: applying and replicating them needs no read
CACHE_ENTRIES = 4096

Entry = tuple[bytes, int, int]  # pysyncobj's (command, index, term)


def write_journal(path: Path, entries: Iterable[Entry]) -> list[RecordPlace]:
    """Write a whole journal beside `path` and rename it into place once synced (see write_atomically)."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    places: list[RecordPlace] = []
    try:
        write_all(descriptor, encode_file_header(), 0)
        offset = FILE_HEADER_SIZE
        for command, index, term in entries:
            # The file is synced as a whole before it is renamed in: every byte before a record is durable.
            record = encode_record(index, term, command, synced_upto=offset)
            write_all(descriptor, record, offset)
            places.append(RecordPlace(offset, len(record), index, term, offset))
            offset += len(record)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    sync_directory(path.parent)
    return places


class EntriesView(Sequence[Entry]):
    """A slice of the journal read on demand: pysyncobj slices the log to the end and then looks at a few."""

    def __init__(self, journal: DurableJournal, start: int, stop: int) -> None:
        self._journal, self._start, self._stop = journal, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, item: int) -> Entry: ...

    @overload
    def __getitem__(self, item: slice) -> list[Entry]: ...

    def __getitem__(self, item: int | slice) -> Entry | list[Entry]:
        if isinstance(item, slice):  # what pysyncobj puts into messages: plain tuples in a list
            return [self._journal.entry(self._start + i) for i in range(*item.indices(len(self)))]
        position = item + len(self) if item < 0 else item
        if not 0 <= position < len(self):
            raise IndexError(item)
        return self._journal.entry(self._start + position)

    def __iter__(self) -> Iterator[Entry]:
        return (self._journal.entry(position) for position in range(self._start, self._stop))


class DurableJournal(Journal):  # type: ignore[misc]
    """pysyncobj's journal on `folder/raft.wal` and `folder/raft.meta`; see the module docstring."""

    def __init__(self, folder: Path, *, dump_file: Path, failpoints: Failpoints = NONE,
                 on_failure: StorageFailure = fail_stop, cache_bytes: int = CACHE_BYTES) -> None:
        self.path = folder / JOURNAL_FILE
        self._meta_path = folder / META_FILE
        self._dump_file = dump_file
        self._sync_delay = failpoints.journal_sync_delay
        self._on_failure = on_failure
        self._cache_limit = cache_bytes
        self._cache: OrderedDict[int, bytes] = OrderedDict()  # index -> command, oldest first
        self._cache_bytes = 0
        if not self.path.exists():
            write_journal(self.path, [])
        self._fd = os.open(self.path, os.O_RDWR)
        self._offsets, self._indexes, self._terms = array("q"), array("q"), array("q")
        self._end = self._open_records()
        self._synced_end, self._dirty = self._end, False
        self._meta = load_meta(self._meta_path)
        self._meta_dirty = False
        self.syncs = 0  # fdatasync calls so far (benchmarks and tests read it)

    def _open_records(self) -> int:
        """Read every record's place; cut a torn tail back to the last good record (and say so)."""
        size = os.fstat(self._fd).st_size
        found = scan(ChunkedReader(self._read), size, name=str(self.path))
        for place in found.records:
            self._offsets.append(place.offset)
            self._indexes.append(place.index)
            self._terms.append(place.term)
        if found.torn is not None:
            log.warning("journal %s: cut %d bytes at offset %d (%s): entries never synced, so never "
                        "acknowledged", self.path, found.torn.size, found.torn.offset, found.torn.reason)
            os.ftruncate(self._fd, found.end)
        # What a killed process wrote may still be in the page cache only: the records written from
        # now on say everything before them is durable, so make it so.
        os.fsync(self._fd)
        return found.end

    def _read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    # ---- entries ----

    def add(self, command: bytes, idx: int, term: int) -> None:
        record = encode_record(idx, term, command, synced_upto=self._synced_end)
        try:
            write_all(self._fd, record, self._end)
        except OSError as error:
            self._on_failure("writing to the journal", self.path, error)
        self._offsets.append(self._end)
        self._indexes.append(idx)
        self._terms.append(term)
        self._end += len(record)
        self._dirty = True
        self._remember(idx, command)

    def __len__(self) -> int:
        return len(self._indexes)

    @overload
    def __getitem__(self, item: int) -> Entry: ...

    @overload
    def __getitem__(self, item: slice) -> EntriesView: ...

    def __getitem__(self, item: int | slice) -> Entry | EntriesView:
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step != 1:
                raise ValueError("journal slices have no step")
            return EntriesView(self, start, max(start, stop))
        position = item + len(self) if item < 0 else item
        if not 0 <= position < len(self):
            raise IndexError(item)
        return self.entry(position)

    def entry(self, position: int) -> Entry:
        index, term = self._indexes[position], self._terms[position]
        command = self._cache.get(index)
        if command is None:
            command = self._read_back(position)
        return command, index, term

    def _read_back(self, position: int) -> bytes:
        offset = self._offsets[position]
        end = self._offsets[position + 1] if position + 1 < len(self) else self._end
        payload = payload_of(self._read(offset, end - offset)) if end - offset > 0 else None
        if payload is None:
            self._on_failure("reading back a journal record", self.path,
                             OSError(errno.EIO, f"the record at offset {offset} fails its checksum"))
        return payload

    def _remember(self, index: int, command: bytes) -> None:
        replaced = self._cache.pop(index, None)
        self._cache_bytes += len(command) - (len(replaced) if replaced is not None else 0)
        self._cache[index] = command
        while self._cache and (self._cache_bytes > self._cache_limit or len(self._cache) > CACHE_ENTRIES):
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= len(dropped)

    def _forget(self, keep: Any) -> None:
        for index in [index for index in self._cache if not keep(index)]:
            self._cache_bytes -= len(self._cache.pop(index))

    # ---- durability ----

    def sync(self) -> None:
        """Make every entry written so far durable (one fdatasync for the whole batch)."""
        if not self._dirty:
            return
        if self._sync_delay:
            time.sleep(self._sync_delay)
        try:
            os.fdatasync(self._fd)
        except OSError as error:
            self._on_failure("syncing the journal", self.path, error)
        self._synced_end, self._dirty = self._end, False
        self.syncs += 1

    @property
    def size_bytes(self) -> int:
        return self._end

    def deleteEntriesFrom(self, entryFrom: int) -> None:
        """Drop the entries from this position on (a new leader's log differs there)."""
        if entryFrom >= len(self):
            return
        # Answers held for the entries being dropped were truthful: they were durable before they went.
        self.sync()
        cut = self._offsets[entryFrom]
        first_dropped = self._indexes[entryFrom]
        try:  # durable before anything is written over: a crash must not bring the old entries back
            os.ftruncate(self._fd, cut)
            os.fdatasync(self._fd)
        except OSError as error:
            self._on_failure("truncating the journal", self.path, error)
        del self._offsets[entryFrom:], self._indexes[entryFrom:], self._terms[entryFrom:]
        self._forget(lambda index: index < first_dropped)
        self._end = self._synced_end = cut

    def deleteEntriesTo(self, entryTo: int) -> None:
        """Forget the entries before this position: a dump now covers them."""
        self._rewrite(keep_from=entryTo)

    def clear(self) -> None:
        self._rewrite(keep_from=len(self))

    def drop_before(self, index: int, term: int) -> bool:
        """As a dump is loaded: start the journal at `index` when it holds it with `term` (the dump's
        first entry). A crash between writing a dump and compacting the journal leaves a journal
        that starts earlier than the dump, and pysyncobj would then throw the whole journal away
        (the entries after the dump included) instead of just its head (dump.py)."""
        if not len(self) or not self._indexes[0] < index <= self._indexes[-1]:
            return False
        position = index - self._indexes[0]
        if self._indexes[position] != index or self._terms[position] != term:
            return False
        self._rewrite(keep_from=position)
        return True

    def _rewrite(self, *, keep_from: int) -> None:
        try:
            if self._dump_file.exists():  # forget nothing before the dump covering it is durable
                sync_file(self._dump_file)
                sync_directory(self._dump_file.parent)
            kept = (self.entry(position) for position in range(keep_from, len(self)))
            places = write_journal(self.path, kept)
            descriptor = os.open(self.path, os.O_RDWR)
        except OSError as error:
            self._on_failure("compacting the journal", self.path, error)
        os.close(self._fd)
        self._fd = descriptor
        self._offsets = array("q", (place.offset for place in places))
        self._indexes = array("q", (place.index for place in places))
        self._terms = array("q", (place.term for place in places))
        self._end = self._synced_end = places[-1].end if places else FILE_HEADER_SIZE
        self._dirty = False
        first_kept = places[0].index if places else None
        self._forget(lambda index: first_kept is not None and index >= first_kept)

    # ---- term, vote, commit index ----

    def setCurrentTerm(self, term: int, votedForNodeId: str | None) -> None:
        self._meta = RaftMeta(term, votedForNodeId, self._meta.commit_index)
        self._store_meta()

    def getCurrentTerm(self) -> int:
        return self._meta.term

    def getVotedForNodeId(self) -> str | None:
        return self._meta.voted_for

    def setRaftCommitIndex(self, raftCommitIndex: int) -> None:
        if raftCommitIndex != self._meta.commit_index:
            self._meta = RaftMeta(self._meta.term, self._meta.voted_for, raftCommitIndex)
            self._meta_dirty = True

    def getRaftCommitIndex(self) -> int:
        return self._meta.commit_index

    def onOneSecondTimer(self) -> None:
        if self._meta_dirty:
            self.sync()  # the stored commit index never runs ahead of the durable log
            self._store_meta()

    def _store_meta(self) -> None:
        try:
            store_meta(self._meta_path, self._meta)
        except OSError as error:
            self._on_failure("storing the Raft term and vote", self._meta_path, error)
        self._meta_dirty = False

    def _destroy(self) -> None:
        self.sync()
        if self._meta_dirty:
            self._store_meta()
        os.close(self._fd)
