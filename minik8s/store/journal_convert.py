"""Open a data directory written by the previous version: pysyncobj's `raft.journal`, converted once.

Replicas before the durable journal kept pysyncobj's own mmap journal (`raft.journal`, with its term,
vote and commit index in `raft.journal.meta`). When a replica opens a directory that has that file
and no `raft.wal` yet, the old journal is read with pysyncobj's own `FileJournal` and written out in
the new format. Order matters for a crash in between: the metadata first, then the journal is
renamed into place (its presence means "converted"), then the old files go. A crash before the
rename converts again on the next start. The dump (`raft.dump`) is read as it is (dump.py reads the
old format) and rewritten in the new one at the next log compaction.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pysyncobj.journal import FileJournal

from minik8s.store.durable_files import sync_directory
from minik8s.store.journal import JOURNAL_FILE, META_FILE, write_journal
from minik8s.store.journal_meta import RaftMeta, store_meta

log = logging.getLogger(__name__)

PREVIOUS_JOURNAL = "raft.journal"
PREVIOUS_META = "raft.journal.meta"


def convert_previous_journal(folder: Path) -> int | None:
    """Convert `folder/raft.journal` when there is no `raft.wal` yet: the entries converted, or None."""
    previous_path = folder / PREVIOUS_JOURNAL
    if (folder / JOURNAL_FILE).exists() or not previous_path.exists():
        return None
    previous = FileJournal(str(previous_path))
    try:
        entries = [previous[position] for position in range(len(previous))]
        meta = RaftMeta(previous.getCurrentTerm(), previous.getVotedForNodeId(), previous.getRaftCommitIndex())
    finally:
        previous._destroy()
    store_meta(folder / META_FILE, meta)
    write_journal(folder / JOURNAL_FILE, ((bytes(command), index, term) for command, index, term in entries))
    for name in (PREVIOUS_JOURNAL, PREVIOUS_META):
        (folder / name).unlink(missing_ok=True)
    sync_directory(folder)
    log.warning("converted %s (the previous version's journal: %d entries, term %d) to %s", previous_path,
                len(entries), meta.term, folder / JOURNAL_FILE)
    return len(entries)
