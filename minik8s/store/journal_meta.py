"""The Raft journal's metadata: current term, vote and commit index, replaced atomically on disk.

Raft needs the term and the vote on stable storage before any message reflecting them leaves the
replica (a vote granted, a vote requested): forgetting a vote after a crash lets one replica vote
twice in a term, and two leaders can then commit different entries at one index. pysyncobj 0.3.17
writes its meta file with a rename but no fsync; here `store_meta` is `write_atomically` (fsync of
the file and of the directory) and the journal calls it before `setCurrentTerm` returns.

The commit index is not needed for safety (Raft recomputes it); it is stored lazily (once a second)
so a restarted replica applies what it knew was committed without waiting for a leader.

File format: the JSON object, then its crc32 as 4 little-endian bytes.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from minik8s.store.durable_files import write_atomically
from minik8s.store.journal_format import JournalCorrupt


@dataclass(frozen=True)
class RaftMeta:
    term: int = 0
    voted_for: str | None = None  # the node id (host:port) this replica voted for in `term`
    commit_index: int = 1  # pysyncobj's log starts at index 1


def encode_meta(meta: RaftMeta) -> bytes:
    body = json.dumps({"term": meta.term, "voted_for": meta.voted_for, "commit_index": meta.commit_index},
                      sort_keys=True).encode()
    return body + struct.pack("<I", zlib.crc32(body))


def decode_meta(data: bytes, *, name: str) -> RaftMeta:
    body, checksum = data[:-4], data[-4:]
    if len(checksum) != 4 or struct.unpack("<I", checksum)[0] != zlib.crc32(body):
        raise JournalCorrupt(f"{name}: the Raft term and vote file fails its checksum; refusing to start "
                             "(a replica that forgot its vote could vote twice in one term)")
    fields = json.loads(body)
    voted_for = fields.get("voted_for")
    return RaftMeta(int(fields["term"]), str(voted_for) if voted_for is not None else None,
                    int(fields["commit_index"]))


def load_meta(path: Path) -> RaftMeta:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return RaftMeta()
    return decode_meta(data, name=str(path))


def store_meta(path: Path, meta: RaftMeta) -> None:
    write_atomically(path, encode_meta(meta))
