"""The snapshot file: the whole cluster store at one revision, in minik8s's own format.

`minik8s snapshot save` writes it from the apiserver's `/snapshot` stream, the apiserver writes it for
periodic snapshots, `snapshot status` checks it and `snapshot restore` seeds a new cluster from it. The
store, the apiserver and the CLI all read and write it, so it lives here, below all three. It is a flat
stream — header, entries, checksum — so it is written while the state is walked and checked in one pass,
both with constant memory whatever the number of objects.

Layout (integers big-endian):

    header   magic b"MK8SSNAP", format version u16, revision u64, key count u64,
             created (Unix milliseconds) u64, cluster id length u16, cluster id (UTF-8)
    entries  `key count` times: key length u32, value length u32, create revision u64,
             mod revision u64, key (UTF-8), value
    trailer  b"MK8S-END", then the sha256 (32 bytes) of every byte before it

Values are kept as the store holds them: sealed at rest where the cluster's EncryptionConfiguration says so
(store/encryption.py), so a snapshot holds Secrets as ciphertext and restoring them needs the same keys.
`SnapshotError` carries one line saying what is wrong with a file (not a snapshot, another version,
truncated, corrupt), for the CLI to print as it is.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

SNAPSHOT_PATH = "/snapshot"  # where an apiserver serves it
SEED_FILE_NAME = "seed.snapshot"  # in a replica's data directory: loaded into its new store (store/seeding.py)
MAGIC = b"MK8SSNAP"
END_MARKER = b"MK8S-END"
FORMAT_VERSION = 1
SEALED_PREFIX = b"k8s:enc:"  # how a value sealed at rest begins (store/encryption.py)
MAX_KEY_BYTES = 64 * 1024
MAX_VALUE_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 256 * 1024

_HEADER = struct.Struct(">8sHQQQH")
_ENTRY = struct.Struct(">IIQQ")
_DIGEST_BYTES = 32
_READ_PIECE = 1024 * 1024


class SnapshotError(Exception):
    """A file that is not a complete, intact snapshot this version reads; the message is one line."""


@dataclass(frozen=True)
class SnapshotHeader:
    cluster_id: str
    revision: int
    keys: int
    created_ms: int  # Unix time in milliseconds
    version: int = FORMAT_VERSION

    def encode(self) -> bytes:
        cluster_id = self.cluster_id.encode()
        return _HEADER.pack(MAGIC, self.version, self.revision, self.keys, self.created_ms, len(cluster_id)) + cluster_id


class SnapshotEntry(NamedTuple):
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


def encode_snapshot(header: SnapshotHeader, entries: Iterable[SnapshotEntry], *,
                    chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file as chunks of about `chunk_bytes`; `entries` must number `header.keys` (ValueError otherwise)."""
    digest = hashlib.sha256()
    buffer = bytearray(header.encode())
    written = 0
    for entry in entries:
        key = entry.key.encode()
        if len(key) > MAX_KEY_BYTES or len(entry.value) > MAX_VALUE_BYTES:
            raise ValueError(f"the entry {entry.key[:100]!r} is larger than a snapshot entry may be")
        buffer += _ENTRY.pack(len(key), len(entry.value), entry.create_revision, entry.mod_revision)
        buffer += key
        buffer += entry.value
        written += 1
        if len(buffer) >= chunk_bytes:
            chunk = bytes(buffer)
            buffer.clear()
            digest.update(chunk)
            yield chunk
    if written != header.keys:
        raise ValueError(f"the snapshot header announces {header.keys} keys but {written} were given")
    buffer += END_MARKER
    digest.update(buffer)
    yield bytes(buffer) + digest.digest()


class _HashingReader:
    """Exact reads from a stream, every byte counted into the checksum; EOFError when the stream ends first."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.offset = 0

    def read_exact(self, count: int) -> bytes:
        pieces: list[bytes] = []
        missing = count
        while missing > 0:  # in pieces: a corrupt length must not allocate its claim up front
            piece = self.stream.read(min(missing, _READ_PIECE))
            if not piece:
                raise EOFError
            pieces.append(piece)
            missing -= len(piece)
        data = b"".join(pieces)
        self.digest.update(data)
        self.offset += count
        return data


class SnapshotReader:
    """Reads a snapshot in one pass: `header` on construction, then `entries()`, which checks the trailer last.

    `size` (the file's size, when known) lets a corrupt length be told from the end of the file; `name` is how
    messages call the file. Every problem is a `SnapshotError`.
    """

    def __init__(self, stream: BinaryIO, *, name: str = "the snapshot", size: int | None = None) -> None:
        self._reader = _HashingReader(stream)
        self._name = name
        self._size = size
        self.sha256 = ""  # hex, once `entries()` has checked it
        self.header = self._read_header()

    def _read_header(self) -> SnapshotHeader:
        try:
            magic = self._reader.read_exact(len(MAGIC))
        except EOFError:
            raise SnapshotError(f"{self._name} is not a minik8s snapshot (it is shorter than its magic bytes)") from None
        if magic != MAGIC:
            raise SnapshotError(f"{self._name} is not a minik8s snapshot (it does not begin with {MAGIC.decode()})")
        try:
            version, revision, keys, created_ms, id_length = _HEADER.unpack(
                magic + self._reader.read_exact(_HEADER.size - len(MAGIC)))[1:]
            if version != FORMAT_VERSION:
                newer = " (made by a newer minik8s)" if version > FORMAT_VERSION else ""
                raise SnapshotError(f"{self._name} is a snapshot of format version {version}{newer}; this minik8s "
                                    f"reads version {FORMAT_VERSION}")
            cluster_id = self._reader.read_exact(id_length).decode()
        except EOFError:
            raise self._error("is truncated: it ends inside its header") from None
        except UnicodeDecodeError:
            raise self._error("is corrupt: its cluster id is not UTF-8") from None
        return SnapshotHeader(cluster_id, revision, keys, created_ms, version)

    def _error(self, problem: str) -> SnapshotError:
        return SnapshotError(f"{self._name} {problem}")

    def entries(self) -> Iterator[SnapshotEntry]:
        """Every entry in file order, then the trailer is checked: a bad file raises before the iteration ends."""
        for number in range(1, self.header.keys + 1):
            yield self._read_entry(number)
        self._check_trailer()

    def _read_entry(self, number: int) -> SnapshotEntry:
        where = f"entry {number} of {self.header.keys}"
        try:
            key_length, value_length, create_revision, mod_revision = _ENTRY.unpack(
                self._reader.read_exact(_ENTRY.size))
            if key_length > MAX_KEY_BYTES or value_length > MAX_VALUE_BYTES or self._past_end(key_length + value_length):
                raise self._error(f"is corrupt or truncated: {where} claims more bytes than the file holds")
            key = self._reader.read_exact(key_length).decode()
            value = self._reader.read_exact(value_length)
        except EOFError:
            raise self._error(f"is truncated: it ends inside {where}") from None
        except UnicodeDecodeError:
            raise self._error(f"is corrupt: the key of {where} is not UTF-8") from None
        if not key.startswith("/") or not 0 < create_revision <= mod_revision <= self.header.revision:
            raise self._error(f"is corrupt: {where} has an invalid key or revisions")
        return SnapshotEntry(key, value, create_revision, mod_revision)

    def _past_end(self, length: int) -> bool:
        return self._size is not None and self._reader.offset + length > self._size

    def _check_trailer(self) -> None:
        try:
            marker = self._reader.read_exact(len(END_MARKER))
        except EOFError:
            raise self._error("is truncated: it ends before its checksum") from None
        if marker != END_MARKER:
            raise self._error(f"is corrupt: its {self.header.keys} entries are not followed by the end marker")
        computed = self._reader.digest.digest()
        stored = self._reader.stream.read(_DIGEST_BYTES)
        if len(stored) < _DIGEST_BYTES:
            raise self._error("is truncated: it ends inside its checksum")
        if stored != computed:
            raise self._error("is corrupt: its sha256 checksum does not match its contents")
        if self._reader.stream.read(1):
            raise self._error("is corrupt: bytes follow its checksum")
        self.sha256 = computed.hex()


def sealed_key_name(value: bytes) -> str | None:
    """The name of the key that sealed a value (`k8s:enc:aesgcm:v1:NAME:`…), `""` for another sealing, None
    when the value is stored in the clear."""
    if not value.startswith(SEALED_PREFIX):
        return None
    parts = value.split(b":", 5)
    return parts[4].decode(errors="replace") if len(parts) > 5 and parts[2] == b"aesgcm" else ""


@dataclass(frozen=True)
class SnapshotSummary:
    """What `check_file` learned reading a whole snapshot: its header, size, checksum and sealed values."""

    header: SnapshotHeader
    size: int
    sha256: str
    sealed_values: int
    sealing_keys: tuple[str, ...]  # names of the keys that sealed them (see `sealed_key_name`)


def check_file(path: str, *, name: str | None = None) -> SnapshotSummary:
    """Read the whole file, checking everything; SnapshotError (one line) when it is not an intact snapshot."""
    shown = name or path
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            reader = SnapshotReader(stream, name=shown, size=size)
            sealed, key_names = 0, set[str]()
            for entry in reader.entries():
                key_name = sealed_key_name(entry.value)
                if key_name is not None:
                    sealed += 1
                    key_names.add(key_name)
    except IsADirectoryError:
        raise SnapshotError(f"{shown} is a directory, not a snapshot file") from None
    except OSError as error:
        raise SnapshotError(f"cannot read {shown}: {error.strerror or error}") from None
    return SnapshotSummary(reader.header, size, reader.sha256, sealed, tuple(sorted(key_names)))


class PendingFile:
    """A snapshot being written as `path` (mode 0600: it holds every object) such that no half-written file
    ever has that name: into a temporary file beside it; `commit` syncs it, reads it back whole, renames it
    and syncs the folder; `discard` (or a failed commit) leaves nothing behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        self._temporary = Path(temporary)
        self._stream = os.fdopen(descriptor, "wb")

    def write(self, chunk: bytes) -> None:
        self._stream.write(chunk)

    def commit(self) -> SnapshotSummary:
        try:
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            summary = check_file(str(self._temporary), name=str(self.path))
            os.replace(self._temporary, self.path)
        except BaseException:
            self.discard()
            raise
        sync_folder(self.path.parent)
        return summary

    def discard(self) -> None:
        self._stream.close()
        self._temporary.unlink(missing_ok=True)


def write_file(path: Path, chunks: Iterable[bytes]) -> SnapshotSummary:
    """Write the chunks as the snapshot file `path` (see `PendingFile`); a failure leaves no file and raises."""
    pending = PendingFile(path)
    try:
        for chunk in chunks:
            pending.write(chunk)
    except BaseException:
        pending.discard()
        raise
    return pending.commit()


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
