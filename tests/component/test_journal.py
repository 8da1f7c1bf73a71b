"""The durable journal on a real file, as pysyncobj drives it (minik8s/store/journal.py), without Raft."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import NoReturn

import pytest
from pysyncobj.journal import FileJournal

from minik8s.store.failpoints import Failpoints
from minik8s.store.journal import JOURNAL_FILE, META_FILE, DurableJournal
from minik8s.store.journal_convert import PREVIOUS_JOURNAL, PREVIOUS_META, convert_previous_journal
from minik8s.store.journal_format import JournalCorrupt


class StorageError(Exception):
    pass


def raise_instead_of_exiting(action: str, path: Path, error: Exception) -> NoReturn:
    raise StorageError(f"{action} {path}: {error}")


def open_journal(folder: Path, *, cache_bytes: int = 1 << 20) -> DurableJournal:
    return DurableJournal(folder, dump_file=folder / "raft.dump", on_failure=raise_instead_of_exiting,
                          cache_bytes=cache_bytes)


def command(index: int, size: int = 100) -> bytes:
    return f"command {index} ".encode().ljust(size, b".")


def filled(folder: Path, count: int, **options: int) -> DurableJournal:
    journal = open_journal(folder, **options)
    for index in range(1, count + 1):
        journal.add(command(index), index, 1)
    journal.sync()
    return journal


def entries(journal: DurableJournal) -> list[tuple[bytes, int, int]]:
    return list(journal[0:len(journal)])


def test_entries_term_and_vote_survive_a_reopen(tmp_path: Path) -> None:
    journal = filled(tmp_path, 20)
    journal.setCurrentTerm(3, "127.0.0.1:7001")
    journal._destroy()
    reopened = open_journal(tmp_path)
    assert entries(reopened) == [(command(i), i, 1) for i in range(1, 21)]
    assert (reopened.getCurrentTerm(), reopened.getVotedForNodeId()) == (3, "127.0.0.1:7001")
    reopened._destroy()


def test_ram_holds_recent_entries_only_and_older_ones_are_read_back_from_the_file(tmp_path: Path) -> None:
    journal = filled(tmp_path, 200, cache_bytes=10 * 100)
    assert len(journal._cache) == 10
    assert journal[0] == (command(1), 1, 1)
    assert journal[-1] == (command(200), 200, 1)
    view = journal[50:]
    assert len(view) == 150 and view[0][1] == 51 and [entry[1] for entry in view][-1] == 200
    assert view[0:2] == [(command(51), 51, 1), (command(52), 52, 1)]  # what goes into messages: plain tuples
    journal._destroy()


def test_a_torn_tail_is_cut_at_open_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = filled(tmp_path, 5)
    synced_end = journal.size_bytes
    journal.add(command(6), 6, 1)  # written, never synced: the machine stops during the write
    journal._destroy()
    path = tmp_path / JOURNAL_FILE
    os.truncate(path, synced_end + 30)
    with caplog.at_level(logging.WARNING, logger="minik8s.store.journal"):
        reopened = open_journal(tmp_path)
    assert [entry[1] for entry in entries(reopened)] == [1, 2, 3, 4, 5]
    assert path.stat().st_size == synced_end
    assert f"journal {path}: cut 30 bytes at offset {synced_end}" in caplog.text
    reopened.add(command(6), 6, 1)  # and it goes on from there
    reopened._destroy()
    assert [entry[1] for entry in entries(open_journal(tmp_path))] == [1, 2, 3, 4, 5, 6]


def test_a_corrupt_record_before_synced_ones_stops_the_start(tmp_path: Path) -> None:
    journal = filled(tmp_path, 1)
    for index in (2, 3):  # acknowledged one at a time: each synced before the next is written
        journal.add(command(index), index, 1)
        journal.sync()
    offset_of_second = journal._offsets[1]
    journal._destroy()
    with (tmp_path / JOURNAL_FILE).open("r+b") as handle:
        handle.seek(offset_of_second + 60)
        handle.write(b"X")
    with pytest.raises(JournalCorrupt, match=f"at offset {offset_of_second}"):
        open_journal(tmp_path)


def test_entries_dropped_from_the_end_stay_dropped(tmp_path: Path) -> None:
    journal = filled(tmp_path, 10)
    journal.deleteEntriesFrom(6)  # positions 6.. = indexes 7..10: a new leader's log differs there
    journal.add(b"from the new leader", 7, 2)
    journal._destroy()
    reopened = open_journal(tmp_path)
    assert [entry[1:] for entry in entries(reopened)] == [*((i, 1) for i in range(1, 7)), (7, 2)]
    assert reopened[-1][0] == b"from the new leader"
    reopened._destroy()


def test_compaction_rewrites_a_smaller_file_that_starts_at_the_kept_entries(tmp_path: Path) -> None:
    journal = filled(tmp_path, 100)
    before = journal.size_bytes
    journal.deleteEntriesTo(90)
    assert journal.size_bytes == (tmp_path / JOURNAL_FILE).stat().st_size < before / 5
    journal.add(command(101), 101, 1)
    journal._destroy()
    assert [entry[1] for entry in entries(open_journal(tmp_path))] == list(range(91, 102))


def test_the_head_a_dump_covers_is_dropped_at_open_only_when_the_dump_s_first_entry_matches(tmp_path: Path) -> None:
    journal = filled(tmp_path, 30)
    assert not journal.drop_before(10, term=2)  # another history: keep everything
    assert journal.drop_before(10, term=1)
    assert [entry[1] for entry in entries(journal)] == list(range(10, 31))
    journal._destroy()


def test_an_older_version_s_journal_is_converted_once_with_its_term_and_vote(tmp_path: Path) -> None:
    previous = FileJournal(str(tmp_path / PREVIOUS_JOURNAL))
    for index in range(1, 6):
        previous.add(command(index), index, 4)
    previous.setCurrentTerm(4, "127.0.0.1:7002")
    previous.setRaftCommitIndex(5)
    previous.onOneSecondTimer()
    previous._destroy()
    assert convert_previous_journal(tmp_path) == 5
    assert {path.name for path in tmp_path.iterdir()} == {JOURNAL_FILE, META_FILE}
    assert not (tmp_path / PREVIOUS_META).exists()
    journal = open_journal(tmp_path)
    assert entries(journal) == [(command(i), i, 4) for i in range(1, 6)]
    assert (journal.getCurrentTerm(), journal.getVotedForNodeId(), journal.getRaftCommitIndex()) == (
        4, "127.0.0.1:7002", 5)
    journal._destroy()
    assert convert_previous_journal(tmp_path) is None  # once


def test_the_slow_disk_failpoint_delays_every_sync_and_only_syncs(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    happened: list[str] = []
    real_fdatasync = os.fdatasync

    def fdatasync(descriptor: int) -> None:
        happened.append("fdatasync")
        real_fdatasync(descriptor)

    monkeypatch.setattr(time, "sleep", lambda seconds: happened.append(f"sleep {seconds}"))
    monkeypatch.setattr(os, "fdatasync", fdatasync)
    journal = DurableJournal(tmp_path, dump_file=tmp_path / "raft.dump", on_failure=raise_instead_of_exiting,
                             failpoints=Failpoints(journal_sync_delay=0.2))
    journal.add(command(1), 1, 1)
    journal.sync()
    journal.sync()  # nothing new written: no sync, no delay
    assert happened == ["sleep 0.2", "fdatasync"]
    journal._destroy()
