"""RFC 1035 wire format: `Message` values to bytes and back, for the DNS server and its clients.

Anyone on the pod network can send this server any bytes, so decoding trusts nothing: every
read is bounds-checked, compression pointers must each point before the last one (so no
packet can loop the decoder), names stay within 255 bytes, and whatever is wrong surfaces as
one `WireError` the server turns into FORMERR. Encoding compresses names and fits a response
into the room the transport allows: additional records go first, and if the answers
themselves do not fit, as many as fit are sent with the TC bit so the client retries on TCP.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from minik8s.dnswire.message import (
    AAAA,
    CNAME,
    NS,
    PTR,
    SOA,
    SRV,
    TXT,
    A,
    Edns,
    Message,
    Opaque,
    Question,
    Record,
    RecordData,
    RecordType,
    labels_to_name,
    name_labels,
    type_name,
)

HEADER = struct.Struct("!HHHHHH")
MAX_MESSAGE_BYTES = 65535
_POINTER_FLAG = 0xC0
_MAX_POINTER_OFFSET = 0x3FFF
_OPT_FIXED_BYTES = 11  # root name, type, class, ttl, rdlength


class WireError(ValueError):
    """The bytes are not a well-formed DNS message."""


# -- encoding ------------------------------------------------------------------------------------


@dataclass
class _Writer:
    buffer: bytearray = field(default_factory=bytearray)
    compression: dict[tuple[bytes, ...], int] = field(default_factory=dict)

    def mark(self) -> int:
        return len(self.buffer)

    def rollback(self, mark: int) -> None:
        del self.buffer[mark:]
        self.compression = {suffix: offset for suffix, offset in self.compression.items() if offset < mark}

    def write_name(self, name: str, *, compress: bool = True) -> None:
        labels = name_labels(name)
        for index in range(len(labels)):
            suffix = labels[index:]
            known = self.compression.get(suffix)
            if compress and known is not None:
                self.buffer += struct.pack("!H", 0xC000 | known)
                return
            if len(self.buffer) <= _MAX_POINTER_OFFSET:
                self.compression.setdefault(suffix, len(self.buffer))
            label = labels[index]
            self.buffer.append(len(label))
            self.buffer += label
        self.buffer.append(0)

    def write_record(self, record: Record) -> None:
        self.write_name(record.name)
        self.buffer += struct.pack("!HHI", record.record_type, record.record_class, record.ttl)
        length_at = len(self.buffer)
        self.buffer += b"\0\0"
        self._write_data(record.data)
        struct.pack_into("!H", self.buffer, length_at, len(self.buffer) - length_at - 2)

    def _write_data(self, data: RecordData) -> None:
        match data:
            case A(address):
                self.buffer += ipaddress.IPv4Address(address).packed
            case AAAA(address):
                self.buffer += ipaddress.IPv6Address(address).packed
            case NS(target) | CNAME(target) | PTR(target):
                self.write_name(target)
            case SOA():
                self.write_name(data.primary)
                self.write_name(data.mailbox)
                self.buffer += struct.pack("!IIIII", data.serial, data.refresh, data.retry, data.expire,
                                           data.minimum)
            case SRV(priority, weight, port, target):
                self.buffer += struct.pack("!HHH", priority, weight, port)
                self.write_name(target, compress=False)  # RFC 2782: the target is never compressed
            case TXT(strings):
                for text in strings:
                    if len(text) > 255:
                        raise ValueError("a TXT string is longer than 255 bytes")
                    self.buffer.append(len(text))
                    self.buffer += text
            case Opaque(_, raw):
                self.buffer += raw


def _flags(message: Message) -> int:
    return ((message.response << 15) | ((message.opcode & 0xF) << 11) | (message.authoritative << 10)
            | (message.truncated << 9) | (message.recursion_desired << 8)
            | (message.recursion_available << 7) | (message.rcode & 0xF))


def _opt_record_bytes(edns: Edns, rcode: int) -> bytes:
    ttl = ((rcode >> 4) & 0xFF) << 24 | (edns.version & 0xFF) << 16 | (0x8000 if edns.dnssec_ok else 0)
    return (b"\0" + struct.pack("!HHIH", RecordType.OPT, edns.payload_size, ttl, len(edns.options))
            + edns.options)


def encode_message(message: Message, *, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The message's bytes, at most `limit` long (the header and questions always go in).

    Records that do not fit are left out: leaving out additional records alone sets no flag,
    leaving out an answer or authority record sets TC (RFC 2181 §9).
    """
    if message.rcode > 0xF and message.edns is None:
        raise ValueError(f"rcode {message.rcode} needs EDNS")
    opt = _opt_record_bytes(message.edns, message.rcode) if message.edns is not None else b""
    room = min(limit, MAX_MESSAGE_BYTES) - len(opt)
    writer = _Writer()
    writer.buffer += bytes(HEADER.size)
    for question in message.questions:
        writer.write_name(question.name)
        writer.buffer += struct.pack("!HH", question.record_type, question.record_class)
    counts: list[int] = []
    truncated = full = False
    for required, records in ((True, message.answers), (True, message.authority), (False, message.additional)):
        written = 0
        for record in records if not full else ():
            mark = writer.mark()
            writer.write_record(record)
            if len(writer.buffer) > room:
                writer.rollback(mark)
                truncated = full = required
                break
            written += 1
        counts.append(written)
    writer.buffer += opt
    flags = _flags(message) | (0x0200 if truncated else 0)  # TC: answers or authority left out
    HEADER.pack_into(writer.buffer, 0, message.id, flags, len(message.questions), counts[0], counts[1],
                     counts[2] + (1 if opt else 0))
    return bytes(writer.buffer)


# -- decoding ------------------------------------------------------------------------------------


@dataclass
class _Reader:
    data: bytes
    position: int = 0

    def take(self, count: int, *, end: int | None = None) -> bytes:
        stop = self.position + count
        if stop > (len(self.data) if end is None else end):
            raise WireError(f"message ends early (wanted {count} bytes at offset {self.position})")
        chunk = self.data[self.position:stop]
        self.position = stop
        return chunk

    def unpack(self, layout: struct.Struct, *, end: int | None = None) -> tuple[int, ...]:
        values: tuple[int, ...] = layout.unpack(self.take(layout.size, end=end))
        return values

    def read_name(self, *, end: int | None = None) -> str:
        """A possibly compressed name; the reader moves past its first, uncompressed part."""
        labels: list[bytes] = []
        wire_length = 1
        cursor = self.position
        boundary = len(self.data) if end is None else end
        resume: int | None = None
        lowest_jump = cursor
        while True:
            if cursor >= boundary:
                raise WireError("name runs past the end of its data")
            length = self.data[cursor]
            if length & _POINTER_FLAG == _POINTER_FLAG:
                if cursor + 2 > boundary:
                    raise WireError("compression pointer runs past the end of its data")
                target = ((length & 0x3F) << 8) | self.data[cursor + 1]
                if target >= lowest_jump:
                    raise WireError("compression pointer does not point backwards")
                if resume is None:
                    resume = cursor + 2
                cursor = lowest_jump = target
                boundary = len(self.data)
                continue
            if length & _POINTER_FLAG:
                raise WireError(f"unsupported label type 0x{length & _POINTER_FLAG:02x}")
            if length == 0:
                self.position = cursor + 1 if resume is None else resume
                return labels_to_name(tuple(labels))
            wire_length += length + 1
            if wire_length > 255:
                raise WireError("name is longer than 255 bytes")
            if cursor + 1 + length > boundary:
                raise WireError("label runs past the end of its data")
            labels.append(self.data[cursor + 1:cursor + 1 + length])
            cursor += 1 + length


_QUESTION_TAIL = struct.Struct("!HH")
_RECORD_TAIL = struct.Struct("!HHIH")
_SOA_NUMBERS = struct.Struct("!IIIII")
_SRV_NUMBERS = struct.Struct("!HHH")


def decode_header(data: bytes) -> Message:
    """Only the header (id, flags, rcode) of a message: enough to answer one that fails to decode."""
    if len(data) < HEADER.size:
        raise WireError(f"message is shorter than a header ({len(data)} bytes)")
    ident, flags, *_ = HEADER.unpack_from(data)
    return Message(
        id=ident, response=bool(flags & 0x8000), opcode=(flags >> 11) & 0xF,
        authoritative=bool(flags & 0x0400), truncated=bool(flags & 0x0200),
        recursion_desired=bool(flags & 0x0100), recursion_available=bool(flags & 0x0080), rcode=flags & 0xF,
    )


def decode_message(data: bytes) -> Message:
    """Parse a whole message; `WireError` for anything malformed, trailing bytes included."""
    header = decode_header(data)
    reader = _Reader(data, HEADER.size)
    _, _, question_count, answer_count, authority_count, additional_count = HEADER.unpack_from(data)
    questions = tuple(_read_question(reader) for _ in range(question_count))
    answers = tuple(_read_record(reader) for _ in range(answer_count))
    authority = tuple(_read_record(reader) for _ in range(authority_count))
    additional: list[Record] = []
    edns: Edns | None = None
    rcode = header.rcode
    for _ in range(additional_count):
        record = _read_record(reader)
        if isinstance(record.data, Opaque) and record.data.record_type == RecordType.OPT:
            if edns is not None:
                raise WireError("more than one OPT record")
            if record.name != ".":
                raise WireError("OPT record not owned by the root")
            edns = Edns(payload_size=record.record_class, version=(record.ttl >> 16) & 0xFF,
                        dnssec_ok=bool(record.ttl & 0x8000), options=record.data.data)
            rcode |= (record.ttl >> 24) << 4
        else:
            additional.append(record)
    if any(isinstance(r.data, Opaque) and r.data.record_type == RecordType.OPT for r in (*answers, *authority)):
        raise WireError("OPT record outside the additional section")
    if reader.position != len(data):
        raise WireError(f"{len(data) - reader.position} bytes after the last record")
    return Message(
        id=header.id, response=header.response, opcode=header.opcode, authoritative=header.authoritative,
        truncated=header.truncated, recursion_desired=header.recursion_desired,
        recursion_available=header.recursion_available, rcode=rcode, questions=questions, answers=answers,
        authority=authority, additional=tuple(additional), edns=edns,
    )


def _read_question(reader: _Reader) -> Question:
    name = reader.read_name()
    record_type, record_class = reader.unpack(_QUESTION_TAIL)
    return Question(name, record_type, record_class)


def _read_record(reader: _Reader) -> Record:
    name = reader.read_name()
    record_type, record_class, ttl, length = reader.unpack(_RECORD_TAIL)
    end = reader.position + length
    if end > len(reader.data):
        raise WireError("record data runs past the end of the message")
    data = _read_data(reader, record_type, end=end)
    if reader.position != end:
        raise WireError(f"{type_name(record_type)} record data has the wrong length")
    return Record(name, ttl, data, record_class)


def _read_data(reader: _Reader, record_type: int, *, end: int) -> RecordData:
    if record_type == RecordType.A:
        return A(str(ipaddress.IPv4Address(reader.take(4, end=end))))
    if record_type == RecordType.AAAA:
        return AAAA(str(ipaddress.IPv6Address(reader.take(16, end=end))))
    if record_type == RecordType.NS:
        return NS(reader.read_name(end=end))
    if record_type == RecordType.CNAME:
        return CNAME(reader.read_name(end=end))
    if record_type == RecordType.PTR:
        return PTR(reader.read_name(end=end))
    if record_type == RecordType.SOA:
        primary = reader.read_name(end=end)
        mailbox = reader.read_name(end=end)
        serial, refresh, retry, expire, minimum = reader.unpack(_SOA_NUMBERS, end=end)
        return SOA(primary, mailbox, serial, refresh, retry, expire, minimum)
    if record_type == RecordType.SRV:
        priority, weight, port = reader.unpack(_SRV_NUMBERS, end=end)
        return SRV(priority, weight, port, reader.read_name(end=end))
    if record_type == RecordType.TXT:
        strings: list[bytes] = []
        while reader.position < end:
            (length,) = reader.take(1, end=end)
            strings.append(reader.take(length, end=end))
        return TXT(tuple(strings))
    return Opaque(record_type, reader.take(end - reader.position, end=end))
