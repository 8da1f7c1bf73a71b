"""The snapshot file format: what is written is read back, and a damaged file is refused in one line."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from minik8s.api.snapshot_format import (
    FORMAT_VERSION,
    MAGIC,
    SnapshotEntry,
    SnapshotError,
    SnapshotHeader,
    SnapshotReader,
    check_file,
    encode_snapshot,
    sealed_key_name,
    write_file,
)

ENTRIES = [
    SnapshotEntry("/registry/configmaps/default/a", b'{"data":{"k":"v"}}', 3, 7),
    SnapshotEntry("/registry/namespaces/default", b"{}", 1, 1),
    SnapshotEntry("/registry/secrets/default/s", b"k8s:enc:aesgcm:v1:key1:" + bytes(range(40)), 8, 9),
    SnapshotEntry("/registry/empty/x", b"", 10, 10),
]
HEADER = SnapshotHeader("5f0c-cluster", 10, len(ENTRIES), 1_700_000_000_123)


def encoded(entries: list[SnapshotEntry] = ENTRIES, header: SnapshotHeader = HEADER, chunk_bytes: int = 64) -> bytes:
    return b"".join(encode_snapshot(header, entries, chunk_bytes=chunk_bytes))


def read_all(data: bytes, *, with_size: bool = True) -> tuple[SnapshotHeader, list[SnapshotEntry]]:
    reader = SnapshotReader(io.BytesIO(data), name="snap.db", size=len(data) if with_size else None)
    return reader.header, list(reader.entries())


def refusal(data: bytes, *, with_size: bool = True) -> str:
    with pytest.raises(SnapshotError) as raised:
        read_all(data, with_size=with_size)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_round_trip_keeps_header_entries_and_revisions() -> None:
    header, entries = read_all(encoded())
    assert header == HEADER
    assert entries == ENTRIES


def test_chunk_size_does_not_change_the_bytes() -> None:
    assert encoded(chunk_bytes=1) == encoded(chunk_bytes=1 << 20)


def test_an_empty_store_is_a_valid_snapshot() -> None:
    header, entries = read_all(encoded([], SnapshotHeader("", 0, 0, 0)))
    assert (header.revision, header.keys, entries) == (0, 0, [])


@pytest.mark.parametrize("offset", [30, 60, 100, -40])
def test_a_changed_byte_anywhere_is_refused(offset: int) -> None:
    data = bytearray(encoded())
    data[offset] ^= 0x01
    message = refusal(bytes(data))
    assert "snap.db" in message and ("corrupt" in message or "truncated" in message)


def test_a_changed_byte_in_a_value_fails_the_checksum() -> None:
    data = encoded()
    position = data.index(b'"k":"v"')
    damaged = data[:position] + b'"k":"w"' + data[position + 7:]
    assert refusal(damaged) == "snap.db is corrupt: its sha256 checksum does not match its contents"


@pytest.mark.parametrize("with_size", [True, False])
def test_every_truncation_is_refused(with_size: bool) -> None:
    data = encoded()
    for length in range(len(data)):
        message = refusal(data[:length], with_size=with_size)
        assert "truncated" in message or "not a minik8s snapshot" in message, (length, message)


def test_truncation_says_where_the_file_ends() -> None:
    data = encoded()
    assert refusal(data[:-10]) == "snap.db is truncated: it ends inside its checksum"
    assert refusal(data[:-32 - 8]) == "snap.db is truncated: it ends before its checksum"
    assert refusal(data[:50], with_size=False) == "snap.db is truncated: it ends inside entry 1 of 4"


def test_bytes_after_the_checksum_are_refused() -> None:
    assert refusal(encoded() + b"\0") == "snap.db is corrupt: bytes follow its checksum"


def test_wrong_magic_is_not_a_snapshot() -> None:
    data = encoded()
    assert refusal(b"XXXXXXXX" + data[8:]) == f"snap.db is not a minik8s snapshot (it does not begin with {MAGIC.decode()})"
    assert refusal(b"{}") == "snap.db is not a minik8s snapshot (it is shorter than its magic bytes)"
    assert refusal(b"hello, world") == f"snap.db is not a minik8s snapshot (it does not begin with {MAGIC.decode()})"


def test_another_format_version_is_refused() -> None:
    data = bytearray(encoded())
    struct.pack_into(">H", data, len(MAGIC), FORMAT_VERSION + 1)
    assert refusal(bytes(data)) == (f"snap.db is a snapshot of format version {FORMAT_VERSION + 1} (made by a newer "
                                    f"minik8s); this minik8s reads version {FORMAT_VERSION}")


def test_a_key_count_that_disagrees_with_the_entries_is_refused() -> None:
    with pytest.raises(ValueError):
        encoded(ENTRIES[:2])
    fewer = encoded(ENTRIES[:2], SnapshotHeader("c", 10, 2, 0))
    data = bytearray(fewer)
    struct.pack_into(">Q", data, len(MAGIC) + 2 + 8, 1)  # the header now announces one entry
    assert refusal(bytes(data)) == "snap.db is corrupt: its 1 entries are not followed by the end marker"


def test_a_huge_length_is_refused_without_reading_it() -> None:
    data = bytearray(encoded())
    header_size = len(HEADER.encode())
    struct.pack_into(">I", data, header_size + 4, 200 * 1024 * 1024)  # the first entry's value length
    assert "entry 1 of 4 claims more bytes than the file holds" in refusal(bytes(data))


def test_check_file_summarises_and_counts_sealed_values(tmp_path: Path) -> None:
    path = tmp_path / "s.snap"
    summary = write_file(path, encode_snapshot(HEADER, ENTRIES))
    assert summary == check_file(str(path))
    assert (summary.header, summary.size, summary.sealed_values, summary.sealing_keys) == (
        HEADER, path.stat().st_size, 1, ("key1",))
    assert len(summary.sha256) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["s.snap"]


def test_write_file_leaves_nothing_when_the_source_fails(tmp_path: Path) -> None:
    def failing() -> list[bytes]:
        raise OSError("connection lost")

    def chunks() -> object:
        yield encoded()[:100]
        failing()

    with pytest.raises(OSError):
        write_file(tmp_path / "s.snap", chunks())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_write_file_refuses_to_name_a_damaged_stream(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="truncated"):
        write_file(tmp_path / "s.snap", [encoded()[:-1]])
    assert list(tmp_path.iterdir()) == []


def test_check_file_of_a_missing_file_or_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"^cannot read .*nope: No such file or directory$"):
        check_file(str(tmp_path / "nope"))
    with pytest.raises(SnapshotError, match="is a directory"):
        check_file(str(tmp_path))


def test_sealed_key_names() -> None:
    assert sealed_key_name(b"k8s:enc:aesgcm:v1:old-key:xyz") == "old-key"
    assert sealed_key_name(b"k8s:enc:kms:v2:whatever") == ""
    assert sealed_key_name(b'{"kind":"Secret"}') is None
