"""DNS messages as plain values: what the answering logic builds and the wire codec carries.

The cluster's answers (`minik8s.dns.records`) and the bytes on the network (`wire`) meet here,
so each side can be written and tested without the other: `records` builds `Record`s without
knowing RFC 1035's layout, and `wire` encodes any `Message` without knowing Kubernetes.

Names are text in presentation form (`web.default.svc.cluster.local.`, case kept as given);
a label holding a dot, a backslash or an unprintable byte is escaped as dig shows it (`\\.`,
`\\\\`, `\\DDD`), so every name a packet can carry has exactly one spelling here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

CLASS_IN = 1
CLASS_ANY = 255
MAX_LABEL_BYTES = 63
MAX_NAME_BYTES = 255  # on the wire, length octets and the root label included


class Rcode(IntEnum):
    """Response codes (RFC 1035 §4.1.1; BADVERS from RFC 6891 needs EDNS to be sent)."""

    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    BADVERS = 16


class RecordType(IntEnum):
    """The record types this server answers, or must recognise in a query."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    TXT = 16
    AAAA = 28
    SRV = 33
    OPT = 41
    IXFR = 251
    AXFR = 252
    ANY = 255


def type_name(record_type: int) -> str:
    """`A`, `SRV`, … or RFC 3597's `TYPE65` for a type this module does not name."""
    try:
        return RecordType(record_type).name
    except ValueError:
        return f"TYPE{record_type}"


# -- record data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class A:
    address: str  # dotted quad


@dataclass(frozen=True)
class AAAA:
    address: str  # compressed IPv6 text, as `ipaddress` prints it


@dataclass(frozen=True)
class NS:
    target: str


@dataclass(frozen=True)
class CNAME:
    target: str


@dataclass(frozen=True)
class PTR:
    target: str


@dataclass(frozen=True)
class SOA:
    primary: str
    mailbox: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


@dataclass(frozen=True)
class SRV:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class TXT:
    strings: tuple[bytes, ...]


@dataclass(frozen=True)
class Opaque:
    """Data of a type this module does not parse, kept as bytes."""

    record_type: int
    data: bytes


RecordData = A | AAAA | NS | CNAME | PTR | SOA | SRV | TXT | Opaque

_TYPE_OF_DATA: dict[type, RecordType] = {
    A: RecordType.A, AAAA: RecordType.AAAA, NS: RecordType.NS, CNAME: RecordType.CNAME,
    PTR: RecordType.PTR, SOA: RecordType.SOA, SRV: RecordType.SRV, TXT: RecordType.TXT,
}


@dataclass(frozen=True)
class Record:
    name: str
    ttl: int
    data: RecordData
    record_class: int = CLASS_IN

    @property
    def record_type(self) -> int:
        if isinstance(self.data, Opaque):
            return self.data.record_type
        return int(_TYPE_OF_DATA[type(self.data)])


@dataclass(frozen=True)
class Question:
    name: str
    record_type: int
    record_class: int = CLASS_IN


@dataclass(frozen=True)
class Edns:
    """The OPT pseudo-record of RFC 6891, carried beside the sections rather than in them."""

    payload_size: int = 1232
    version: int = 0
    dnssec_ok: bool = False
    options: bytes = b""  # raw option TLVs: none are understood, they are only carried


@dataclass(frozen=True)
class Message:
    """One query or response. `rcode` may exceed 15 only with `edns` (its upper bits go there)."""

    id: int
    response: bool = False
    opcode: int = 0
    authoritative: bool = False
    truncated: bool = False
    recursion_desired: bool = False
    recursion_available: bool = False
    rcode: int = Rcode.NOERROR
    questions: tuple[Question, ...] = ()
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    edns: Edns | None = None


# -- names in presentation form ------------------------------------------------------------------


def name_labels(name: str) -> tuple[bytes, ...]:
    """The labels of a name (`""` or `"."` is the root); ValueError for one that cannot be encoded.

    A trailing dot is optional: every name here is absolute.
    """
    if name in ("", "."):
        return ()
    labels: list[bytes] = []
    current = bytearray()
    index = 0
    while index < len(name):
        char = name[index]
        if char == "\\":
            byte, index = _unescape(name, index)
            current.append(byte)
            continue
        if char == ".":
            labels.append(_finished_label(current, name))
            current = bytearray()
        else:
            code = ord(char)
            if code > 0x7E:
                raise ValueError(f"name {name!r}: {char!r} is not ASCII (use a \\DDD escape)")
            current.append(code)
        index += 1
    if current or not name.endswith("."):
        labels.append(_finished_label(current, name))
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME_BYTES:
        raise ValueError(f"name {name!r} is longer than {MAX_NAME_BYTES} bytes")
    return tuple(labels)


def _unescape(name: str, index: int) -> tuple[int, int]:
    """The byte of the escape starting at `index` (a backslash) and the index after it."""
    digits = name[index + 1:index + 4]
    if len(digits) == 3 and all(char in "0123456789" for char in digits):
        value = int(digits)
        if value > 0xFF:
            raise ValueError(f"name {name!r}: escape \\{digits} is not a byte")
        return value, index + 4
    if index + 1 >= len(name):
        raise ValueError(f"name {name!r} ends in a lone backslash")
    code = ord(name[index + 1])
    if code > 0x7E:
        raise ValueError(f"name {name!r}: {name[index + 1]!r} is not ASCII (use a \\DDD escape)")
    return code, index + 2


def _finished_label(label: bytearray, name: str) -> bytes:
    if not label:
        raise ValueError(f"name {name!r} has an empty label")
    if len(label) > MAX_LABEL_BYTES:
        raise ValueError(f"name {name!r} has a label longer than {MAX_LABEL_BYTES} bytes")
    return bytes(label)


def labels_to_name(labels: tuple[bytes, ...]) -> str:
    """The absolute presentation form (`a.b.`; the root is `.`)."""
    if not labels:
        return "."
    return "".join(_escaped_label(label) + "." for label in labels)


def _escaped_label(label: bytes) -> str:
    parts: list[str] = []
    for byte in label:
        if byte in (0x2E, 0x5C):  # '.' and '\'
            parts.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            parts.append(chr(byte))
        else:
            parts.append(f"\\{byte:03d}")
    return "".join(parts)


def canonical_name(name: str) -> str:
    """Lower-case absolute presentation form: equal for names DNS treats as equal."""
    return labels_to_name(tuple(label.lower() for label in name_labels(name)))
