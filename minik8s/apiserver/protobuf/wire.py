"""The protobuf wire format, read without a generated class or a protobuf library.

kubectl's typed clients send Kubernetes protobuf; decoding it needs only the wire layer
(varints, length-delimited bytes, fixed 32/64-bit words) plus a field-number table, so the
apiserver reads the bytes itself instead of vendoring Kubernetes' `.proto` files.
Every malformed input raises `ProtobufError`, never IndexError or a silent truncation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

_MAX_VARINT_BYTES = 10
_WIRE_TYPE_NAMES = {VARINT: "varint", FIXED64: "fixed64", LENGTH_DELIMITED: "length-delimited", FIXED32: "fixed32"}


class ProtobufError(ValueError):
    """The bytes are not well-formed protobuf (or do not match the expected message)."""


@dataclass(frozen=True)
class WireField:
    """One field occurrence: its number, wire type and raw value (an int, or bytes)."""

    number: int
    wire_type: int
    value: int | bytes

    @property
    def wire_type_name(self) -> str:
        return _WIRE_TYPE_NAMES.get(self.wire_type, str(self.wire_type))


def read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """The unsigned varint at `offset` and the offset just after it."""
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        position = offset + index
        if position >= len(data):
            raise ProtobufError(f"truncated varint at byte {offset}")
        byte = data[position]
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            return value & 0xFFFF_FFFF_FFFF_FFFF, position + 1
    raise ProtobufError(f"varint longer than {_MAX_VARINT_BYTES} bytes at byte {offset}")


def _read_fixed(data: bytes, offset: int, size: int) -> tuple[int, int]:
    end = offset + size
    if end > len(data):
        raise ProtobufError(f"truncated fixed{size * 8} value at byte {offset}")
    return int.from_bytes(data[offset:end], "little"), end


def _read_length_delimited(data: bytes, offset: int) -> tuple[bytes, int]:
    length, start = read_varint(data, offset)
    end = start + length
    if end > len(data):
        raise ProtobufError(f"length-delimited field of {length} bytes at byte {offset} runs past the end")
    return data[start:end], end


def iter_fields(data: bytes) -> Iterator[WireField]:
    """Every field of one message, in the order they appear (repeated fields appear repeatedly)."""
    offset = 0
    while offset < len(data):
        tag, offset = read_varint(data, offset)
        number, wire_type = tag >> 3, tag & 0x07
        if number == 0:
            raise ProtobufError(f"field number 0 at byte {offset}")
        value: int | bytes
        if wire_type == VARINT:
            value, offset = read_varint(data, offset)
        elif wire_type == FIXED64:
            value, offset = _read_fixed(data, offset, 8)
        elif wire_type == LENGTH_DELIMITED:
            value, offset = _read_length_delimited(data, offset)
        elif wire_type == FIXED32:
            value, offset = _read_fixed(data, offset, 4)
        else:
            raise ProtobufError(f"unsupported wire type {wire_type} for field {number}")
        yield WireField(number, wire_type, value)


def iter_packed_varints(data: bytes) -> Iterator[int]:
    """The values of a packed repeated varint field."""
    offset = 0
    while offset < len(data):
        value, offset = read_varint(data, offset)
        yield value


def as_signed(value: int, *, bits: int) -> int:
    """A varint read as two's complement (int32 and int64 fields, which Go sign-extends to 64 bits)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value
