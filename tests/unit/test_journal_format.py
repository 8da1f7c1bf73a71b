"""The journal's record format: what a start keeps, cuts off, or refuses (minik8s/store/journal_format.py)."""

from __future__ import annotations

import pytest

from minik8s.store.journal_format import (
    FILE_HEADER_SIZE,
    RECORD_HEADER_SIZE,
    JournalCorrupt,
    encode_file_header,
    encode_record,
    scan,
)

COMMANDS = [b"\x00first command", b"\x00second" * 50, b"\x00third", b"\x00fourth" * 3]


def journal(*, synced_after_each: bool) -> tuple[bytearray, list[int]]:
    """A journal of COMMANDS (indexes 1..4, term 2) and each record's offset.

    synced_after_each: each record was written after a sync of everything before it (one write
    acknowledged at a time); otherwise all four were written as one batch after a sync of nothing.
    """
    data = bytearray(encode_file_header())
    offsets = []
    for index, command in enumerate(COMMANDS, start=1):
        offsets.append(len(data))
        synced = len(data) if synced_after_each else FILE_HEADER_SIZE
        data += encode_record(index, 2, command, synced_upto=synced)
    return data, offsets


def scanned(data: bytes | bytearray) -> tuple[list[int], int, tuple[int, int] | None]:
    """(indexes kept, where the next record goes, (offset, bytes) of a torn tail to cut)."""
    content = bytes(data)
    found = scan(lambda offset, size: content[offset:offset + size], len(content), name="raft.wal")
    torn = (found.torn.offset, found.torn.size) if found.torn is not None else None
    return [record.index for record in found.records], found.end, torn


def test_a_whole_journal_keeps_every_record() -> None:
    data, _ = journal(synced_after_each=True)
    assert scanned(data) == ([1, 2, 3, 4], len(data), None)


def test_an_empty_journal_is_just_its_header() -> None:
    assert scanned(encode_file_header()) == ([], FILE_HEADER_SIZE, None)


@pytest.mark.parametrize("keep", [1, RECORD_HEADER_SIZE - 1, RECORD_HEADER_SIZE + 3])
def test_a_torn_tail_is_cut_back_to_the_last_whole_record(keep: int) -> None:
    data, offsets = journal(synced_after_each=True)
    torn = data[:offsets[3] + keep]
    assert scanned(torn) == ([1, 2, 3], offsets[3], (offsets[3], keep))


def test_a_corrupt_last_record_is_cut_off() -> None:
    data, offsets = journal(synced_after_each=True)
    data[-2] ^= 0x40
    assert scanned(data) == ([1, 2, 3], offsets[3], (offsets[3], len(data) - offsets[3]))


def test_a_tail_of_zeros_a_page_never_written_is_cut_off() -> None:
    data, offsets = journal(synced_after_each=True)
    data[offsets[3]:] = bytes(len(data) - offsets[3])
    assert scanned(data) == ([1, 2, 3], offsets[3], (offsets[3], len(data) - offsets[3]))


def test_a_corrupt_record_in_the_middle_stops_the_start_naming_its_offset() -> None:
    data, offsets = journal(synced_after_each=True)
    data[offsets[1] + RECORD_HEADER_SIZE + 5] ^= 0x01
    with pytest.raises(JournalCorrupt, match=f"raft.wal: .* at offset {offsets[1]}.*record at offset {offsets[2]}"):
        scanned(data)


def test_a_corrupt_length_in_the_middle_does_not_swallow_the_records_after_it() -> None:
    data, offsets = journal(synced_after_each=True)
    data[offsets[1] + 4] ^= 0x10  # the payload length: the header's checksum catches it
    with pytest.raises(JournalCorrupt, match=f"at offset {offsets[1]}"):
        scanned(data)


def test_a_bad_record_in_a_batch_never_synced_is_a_torn_tail_even_with_whole_records_after_it() -> None:
    """Pages of one unsynced batch reach the disk in any order: none of them was acknowledged."""
    data, offsets = journal(synced_after_each=False)
    data[offsets[1] + RECORD_HEADER_SIZE:offsets[2]] = bytes(offsets[2] - offsets[1] - RECORD_HEADER_SIZE)
    assert scanned(data) == ([1], offsets[1], (offsets[1], len(data) - offsets[1]))


def test_records_whose_indexes_do_not_follow_each_other_are_refused() -> None:
    data = bytearray(encode_file_header())
    data += encode_record(1, 1, b"a", synced_upto=FILE_HEADER_SIZE)
    data += encode_record(3, 1, b"b", synced_upto=FILE_HEADER_SIZE)
    with pytest.raises(JournalCorrupt, match="index 3 after 1"):
        scanned(data)


def test_a_file_that_is_not_a_journal_is_refused() -> None:
    with pytest.raises(JournalCorrupt, match="not a minik8s journal"):
        scanned(b"PYSYNCOBJ\x00" + bytes(40))
    header = bytearray(encode_file_header())
    header[-1] ^= 0xFF
    with pytest.raises(JournalCorrupt, match="header fails its checksum"):
        scanned(header)
