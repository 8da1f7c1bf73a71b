"""The on-disk format of the Raft journal (`journal.py`): records that say whether they are whole.

A journal file is a header, then records in log order, all integers little-endian:

  header   b"MINIK8S-RAFT-WAL" | format version u32 | crc32 of the 20 bytes before u32
  record   magic b"\\xa5WAL" | payload length u32 | Raft index u64 | Raft term u64 | synced_upto u64
           | crc32(payload) u32 | crc32(the 36 bytes before) u32 | payload (pysyncobj's command bytes)

Each record has two checksums: its header's is checked before its length is trusted (a flipped bit in
a length must not swallow the records after it), its payload's before its command is used.

`synced_upto` is the file offset up to which the journal was on stable storage when the record was
written. It is how a start tells a torn tail from a corrupt middle:

- a bad record (cut short, a checksum that fails, a page of zeros) after which no valid record says
  the file had been synced past it is a *torn tail*: a batch written but not yet synced when the
  machine stopped, so never acknowledged. `scan` reports where to cut it off.
- a bad record followed by a valid one whose `synced_upto` lies beyond it had been on stable storage
  before it went bad: the disk lost acknowledged data, and `scan` raises `JournalCorrupt`.

Everything here is pure (bytes in, decisions out); `journal.py` does the file I/O.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

FILE_MAGIC = b"MINIK8S-RAFT-WAL"
FORMAT_VERSION = 1
_FILE_HEADER = struct.Struct("<16sI")
FILE_HEADER_SIZE = _FILE_HEADER.size + 4

RECORD_MAGIC = b"\xa5WAL"
_RECORD_FIELDS = struct.Struct("<4sIQQQI")  # magic, payload length, index, term, synced_upto, payload crc
RECORD_HEADER_SIZE = _RECORD_FIELDS.size + 4  # + the header's own crc
MAX_PAYLOAD = 2**31  # pysyncobj frames messages with a signed 32-bit length: no entry is larger
SEARCH_CHUNK = 1 << 20

Reader = Callable[[int, int], bytes]  # (offset, size) -> at most size bytes of the file from offset


class JournalCorrupt(ValueError):
    """The journal cannot be trusted: the replica must not start (or go on) with it."""


@dataclass(frozen=True, slots=True)
class RecordPlace:
    offset: int
    size: int  # header + payload
    index: int
    term: int
    synced_upto: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True, slots=True)
class TornTail:
    offset: int  # where the file is cut back to (the end of the last good record)
    size: int  # bytes cut off
    reason: str


@dataclass(frozen=True)
class Scan:
    records: list[RecordPlace]
    end: int  # the end of the last good record: where the next one goes
    torn: TornTail | None


def encode_file_header() -> bytes:
    fields = _FILE_HEADER.pack(FILE_MAGIC, FORMAT_VERSION)
    return fields + struct.pack("<I", zlib.crc32(fields))


def check_file_header(data: bytes, *, name: str) -> None:
    if len(data) < FILE_HEADER_SIZE or not data.startswith(FILE_MAGIC):
        raise JournalCorrupt(f"{name} is not a minik8s journal (no header)")
    fields, (checksum,) = data[:_FILE_HEADER.size], struct.unpack_from("<I", data, _FILE_HEADER.size)
    if zlib.crc32(fields) != checksum:
        raise JournalCorrupt(f"{name}: the journal header fails its checksum")
    _, version = _FILE_HEADER.unpack(fields)
    if version != FORMAT_VERSION:
        raise JournalCorrupt(f"{name}: journal format {version} is not the supported {FORMAT_VERSION}")


def encode_record(index: int, term: int, payload: bytes, *, synced_upto: int) -> bytes:
    fields = _RECORD_FIELDS.pack(RECORD_MAGIC, len(payload), index, term, synced_upto, zlib.crc32(payload))
    return fields + struct.pack("<I", zlib.crc32(fields)) + payload


def parse_record_header(header: bytes, offset: int) -> tuple[RecordPlace | None, str]:
    """The record a header announces, or None and why the header is not valid."""
    if len(header) < RECORD_HEADER_SIZE:
        return None, "a record header cut short"
    if not any(header[:RECORD_HEADER_SIZE]):
        return None, "zeros where a record should be (a page never written)"
    fields = header[:_RECORD_FIELDS.size]
    (checksum,) = struct.unpack_from("<I", header, _RECORD_FIELDS.size)
    if zlib.crc32(fields) != checksum:
        return None, "a record header that fails its checksum"
    magic, length, index, term, synced_upto, _ = _RECORD_FIELDS.unpack(fields)
    if magic != RECORD_MAGIC or length > MAX_PAYLOAD:
        return None, "a record header that is not one"
    return RecordPlace(offset, RECORD_HEADER_SIZE + length, index, term, synced_upto), ""


def payload_of(record: bytes) -> bytes | None:
    """The payload of a whole record (header + payload), or None when it fails its checksum."""
    (expected,) = struct.unpack_from("<I", record, _RECORD_FIELDS.size - 4)
    payload = record[RECORD_HEADER_SIZE:]
    return payload if zlib.crc32(payload) == expected else None


def read_record(read: Reader, offset: int, file_size: int) -> tuple[RecordPlace | None, str]:
    """The valid record at `offset`, or None and what is wrong with it."""
    place, reason = parse_record_header(read(offset, RECORD_HEADER_SIZE), offset)
    if place is None:
        return None, reason
    if place.end > file_size:
        return None, "a record cut short"
    if payload_of(read(offset, place.size)) is None:
        return None, "a record whose payload fails its checksum"
    return place, ""


def find_valid_record(read: Reader, start: int, file_size: int) -> RecordPlace | None:
    """The first valid record beginning at or after `start` (records are looked for by their magic)."""
    position = start
    while position < file_size:
        chunk = read(position, SEARCH_CHUNK + len(RECORD_MAGIC))
        found = chunk.find(RECORD_MAGIC)
        while found != -1 and found < SEARCH_CHUNK:
            place, _ = read_record(read, position + found, file_size)
            if place is not None:
                return place
            found = chunk.find(RECORD_MAGIC, found + 1)
        position += SEARCH_CHUNK
    return None


def scan(read: Reader, file_size: int, *, name: str) -> Scan:
    """Every good record of a journal file, and the torn tail to cut off, if any.

    Raises JournalCorrupt for a bad header, a bad record that had been synced (see the module
    docstring), or records whose indexes do not follow each other.
    """
    check_file_header(read(0, FILE_HEADER_SIZE), name=name)
    records: list[RecordPlace] = []
    offset = FILE_HEADER_SIZE
    while offset < file_size:
        place, reason = read_record(read, offset, file_size)
        if place is None:
            return Scan(records, offset, _torn_or_corrupt(read, offset, file_size, reason, name=name))
        if records and place.index != records[-1].index + 1:
            raise JournalCorrupt(f"{name}: the record at offset {offset} has index {place.index} after "
                                 f"{records[-1].index}: the journal is damaged")
        records.append(place)
        offset = place.end
    return Scan(records, offset, None)


def _torn_or_corrupt(read: Reader, offset: int, file_size: int, reason: str, *, name: str) -> TornTail:
    later = find_valid_record(read, offset + 1, file_size)
    if later is not None and later.synced_upto > offset:
        raise JournalCorrupt(
            f"{name}: {reason} at offset {offset}, but the record at offset {later.offset} (index "
            f"{later.index}) was written after the journal had been synced past it: the disk lost "
            f"acknowledged entries. Refusing to start: remove this replica's data directory to "
            f"let it rejoin from the others, or restore it from a snapshot")
    return TornTail(offset, file_size - offset, reason)


class ChunkedReader:
    """Reads `chunk` bytes at a time: scanning many small records costs few system calls."""

    def __init__(self, read: Reader, *, chunk: int = SEARCH_CHUNK) -> None:
        self._read, self._chunk = read, chunk
        self._start, self._data = 0, b""

    def __call__(self, offset: int, size: int) -> bytes:
        if not (self._start <= offset and offset + size <= self._start + len(self._data)):
            self._start, self._data = offset, self._read(offset, max(size, self._chunk))
        return self._data[offset - self._start:offset - self._start + size]
