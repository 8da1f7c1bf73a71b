"""Log-compaction dumps that a crash leaves whole (old or new), checked before they are believed.

pysyncobj 0.3.17's Serializer forks, and the child pickles and gzips the state into `raft.dump.tmp`
and renames it over `raft.dump` without any fsync; a dump received from the leader is renamed in the
same way; and a dump that fails to load is logged and then ignored, so the replica would run on a
state missing everything the dump covered. `DurableSerializer` subclasses it and replaces those steps:

- `serialize` (in the forked child, as before): header, then the zlib-compressed pickle; fsync,
  rename, fsync of the directory. The header holds the dump's first Raft entry (index, term) — the
  journal uses it at open to drop what the dump covers (`DurableJournal.drop_before`) — and the
  payload's length and crc32, under a crc32 of its own.
- `setTransmissionData` (a dump sent by the leader): synced before it is renamed in.
- `deserialize`: checks header and checksum first. A damaged dump stops the process (`fail_stop`),
  since pysyncobj would swallow the error. `check_dump` makes the same check when a replica opens,
  so a damaged dump found then is a clear start error instead. A dump of the previous version
  (pysyncobj's gzip format) is still read, once; the next compaction writes the new format.
  Before handing the dump over it calls `on_load(first index, first term)`: pysyncobj then compares
  the journal's first two entries with the dump's and, when they differ, throws the whole journal
  away — also when a crash came between writing a dump and compacting the journal, which then
  starts earlier than the dump and holds entries after it. `DurableJournal.drop_before` cuts the
  journal to the dump's first entry (when it holds that entry) so that nothing after it is lost.
- the forked child dies with the thread that forked it (PR_SET_PDEATHSIG): a dump still being
  written by a replica that stopped must not land later over the newer dump of its next run.

Why not SyncObjConf's `serializer`/`deserializer` hooks: with a custom serializer pysyncobj stops
forking (the whole state would be pickled on the Raft thread: 1.6 s for 22 MB, longer than an
election timeout), and it hands the state neither in (`data[0]` is None) nor back (it prefixes the
deserializer's result with None, so it restores no consumer).
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import logging
import os
import pickle
import signal
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pysyncobj.serializer import Serializer

from minik8s.store.durable_files import PRIVATE_FILE_MODE, fail_stop, sync_directory, write_all

log = logging.getLogger(__name__)

DUMP_MAGIC = b"MINIK8S-RAFTDUMP"
DUMP_VERSION = 1
_HEADER_FIELDS = struct.Struct("<16sIQQQI")  # magic, version, first index, first term, payload length, crc
HEADER_SIZE = _HEADER_FIELDS.size + 4
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 20
COMPRESSION_LEVEL = 1  # the values are JSON: level 1 gets most of the size for a fraction of the CPU
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the forked child should load nothing


class DumpCorrupt(ValueError):
    """The dump cannot be trusted: the replica must not start with it."""


@dataclass(frozen=True)
class DumpInfo:
    first_index: int
    first_term: int


def encode_header(first_index: int, first_term: int, length: int, checksum: int) -> bytes:
    fields = _HEADER_FIELDS.pack(DUMP_MAGIC, DUMP_VERSION, first_index, first_term, length, checksum)
    return fields + struct.pack("<I", zlib.crc32(fields))


def decode_header(header: bytes, *, name: str) -> tuple[DumpInfo, int, int]:
    """(the dump's first entry, payload length, payload crc32); DumpCorrupt when the header is bad."""
    if len(header) < HEADER_SIZE:
        raise DumpCorrupt(f"{name}: the dump is cut short (no whole header)")
    fields = header[:_HEADER_FIELDS.size]
    if zlib.crc32(fields) != struct.unpack_from("<I", header, _HEADER_FIELDS.size)[0]:
        raise DumpCorrupt(f"{name}: the dump header fails its checksum")
    magic, version, first_index, first_term, length, checksum = _HEADER_FIELDS.unpack(fields)
    if magic != DUMP_MAGIC or version != DUMP_VERSION:
        raise DumpCorrupt(f"{name}: not a minik8s dump of version {DUMP_VERSION}")
    return DumpInfo(first_index, first_term), length, checksum


class _CompressingWriter:
    """A file-like sink for pickle.dump: compresses, writes and checksums as the pickle streams out."""

    def __init__(self, descriptor: int, offset: int) -> None:
        self._descriptor, self.offset = descriptor, offset
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL)
        self.checksum = 0

    def write(self, data: bytes) -> int:
        self._emit(self._compressor.compress(data))
        return len(data)

    def finish(self) -> None:
        self._emit(self._compressor.flush())

    def _emit(self, compressed: bytes) -> None:
        if compressed:
            write_all(self._descriptor, compressed, self.offset)
            self.offset += len(compressed)
            self.checksum = zlib.crc32(compressed, self.checksum)


def write_dump(path: Path, data: tuple[Any, ...]) -> None:
    """pysyncobj's dump tuple (state, last applied entry, the one before, cluster) to `path`, durably."""
    _, _, first_entry, _ = data
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        writer = _CompressingWriter(descriptor, HEADER_SIZE)
        pickle.dump(data, writer, protocol=pickle.HIGHEST_PROTOCOL)
        writer.finish()
        header = encode_header(first_entry[1], first_entry[2], writer.offset - HEADER_SIZE, writer.checksum)
        write_all(descriptor, header, 0)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    sync_directory(path.parent)


def _checked_payload(handle: IO[bytes], *, name: str) -> tuple[DumpInfo, bytes]:
    info, length, checksum = decode_header(handle.read(HEADER_SIZE), name=name)
    payload = handle.read(length)
    if len(payload) != length or handle.read(1):
        raise DumpCorrupt(f"{name}: the dump is {'cut short' if len(payload) != length else 'too long'}")
    if zlib.crc32(payload) != checksum:
        raise DumpCorrupt(f"{name}: the dump fails its checksum")
    return info, payload


def check_dump(path: Path) -> DumpInfo | None:
    """Verify a dump before the replica uses it: its first entry, or None for the previous version's
    format (gzip, whose own CRC is checked by reading it to the end). Raises DumpCorrupt."""
    with path.open("rb") as handle:
        if handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC:
            try:
                with gzip.open(path) as unzipped:
                    while unzipped.read(READ_CHUNK):
                        pass
            except (OSError, EOFError, zlib.error) as error:
                raise DumpCorrupt(f"{path}: the dump (previous format) is damaged: {error}") from None
            return None
        handle.seek(0)
        info, _ = _checked_payload(handle, name=str(path))
        return info


def read_dump(path: Path) -> Any:
    with path.open("rb") as handle:
        _, payload = _checked_payload(handle, name=str(path))
    return pickle.loads(zlib.decompress(payload))


class DurableSerializer(Serializer):  # type: ignore[misc]
    """pysyncobj's Serializer for a dump file, with the steps of the module docstring replaced."""

    _Serializer__pid: int  # pysyncobj's: the forked child's pid while a dump is being written, else 0
    _Serializer__currentID: int

    def __init__(self, dump_file: Path, transmission_batch_size: int, *,
                 on_load: Callable[[int, int], object] = lambda index, term: None) -> None:
        super().__init__(str(dump_file), transmission_batch_size, True, None, None, None)
        if not self._Serializer__useFork:
            raise RuntimeError("durable dumps need os.fork")
        self._path = dump_file
        self._on_load = on_load
        self._incoming: IO[bytes] | None = None

    def serialize(self, data: tuple[Any, ...], id: int) -> None:
        if self._Serializer__pid != 0:
            return
        self._Serializer__currentID = id
        parent = os.getpid()
        pid = os.fork()
        if pid != 0:
            self._Serializer__pid = pid  # pysyncobj's checkSerializing waits for it
            return
        code = 1
        try:  # the child: a copy of the state as of the fork; no logging (its locks may be held)
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() == parent:  # else the replica is gone already
                write_dump(self._path, data)
                code = 0
        finally:
            os._exit(code)

    def deserialize(self) -> Any:
        try:
            with self._path.open("rb") as handle:
                previous_format = handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            data = super().deserialize() if previous_format else read_dump(self._path)
            _, _, first_entry, _ = data
            self._on_load(first_entry[1], first_entry[2])
            return data
        except Exception as error:  # pysyncobj would log it and run on without the dump's state
            fail_stop("loading the dump", self._path, error)

    def setTransmissionData(self, data: tuple[bytes, bool, bool] | None) -> bool:
        """A chunk of the leader's dump; True once the whole dump is durable under the dump's name."""
        if data is None:
            return False
        chunk, first, last = data
        temporary = self._path.with_name(self._path.name + ".1.tmp")
        try:
            if first:
                self._drop_incoming()
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
                self._incoming = os.fdopen(descriptor, "wb")
            if self._incoming is None:
                return False
            self._incoming.write(chunk)
            if not last:
                return False
            self._incoming.flush()
            os.fsync(self._incoming.fileno())
            self._drop_incoming()
            os.replace(temporary, self._path)
            sync_directory(self._path.parent)
            return True
        except OSError as error:  # nothing is lost: the leader sends the dump again
            log.warning("could not store the dump sent by the leader: %s", error)
            self._drop_incoming()
            return False

    def _drop_incoming(self) -> None:
        incoming, self._incoming = self._incoming, None
        if incoming is not None:
            with contextlib.suppress(OSError):
                incoming.close()
