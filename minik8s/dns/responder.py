"""One query packet in, one response packet (or silence) out: the DNS server without sockets.

Both transports share this, so UDP and TCP answer alike and every rule about hostile or odd
packets is tested without a network: too short to carry a header or itself a response →
dropped (answering responses invites reflection loops); undecodable → FORMERR; an opcode other
than QUERY → NOTIMP; not exactly one question → FORMERR; an EDNS version above 0 → BADVERS;
a class other than IN, or a zone transfer → REFUSED. A failure while answering is logged and
becomes SERVFAIL, never a dead server. The size limit is the transport's: 512 bytes on UDP, or
what the client's EDNS allows up to 1232; 65535 on TCP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from minik8s.dns.records import Answer
from minik8s.dnswire.message import CLASS_ANY, CLASS_IN, Edns, Message, Rcode, RecordType, type_name
from minik8s.dnswire.wire import MAX_MESSAGE_BYTES, WireError, decode_header, decode_message, encode_message

log = logging.getLogger(__name__)

AnswerSource = Callable[[str, str], Answer]  # (name, type name) -> answer
Transport = Literal["udp", "tcp"]

UDP_PAYLOAD_WITHOUT_EDNS = 512
SERVER_UDP_PAYLOAD = 1232  # what we advertise in EDNS: the 2020 DNS flag day's safe size
_OPCODE_QUERY = 0
_REFUSED_TYPES = (RecordType.AXFR, RecordType.IXFR)


def respond(packet: bytes, *, answer: AnswerSource, transport: Transport) -> bytes | None:
    """The response to `packet`, or None when it deserves none."""
    try:
        header = decode_header(packet)
    except WireError:
        return None
    if header.response:
        return None
    try:
        query = decode_message(packet)
    except WireError as error:
        log.debug("malformed query %d from the wire: %s", header.id, error)
        return encode_message(_reply(header, Rcode.FORMERR, questions=False), limit=UDP_PAYLOAD_WITHOUT_EDNS)
    try:
        return encode_message(_reply_to(query, answer), limit=size_limit(query, transport))
    except Exception:
        log.exception("answering query %d %s failed", query.id, query.questions[:1])
        return encode_message(_reply(query, Rcode.SERVFAIL), limit=size_limit(query, transport))


def size_limit(query: Message, transport: Transport) -> int:
    """How large the response may be on this transport for this query."""
    if transport == "tcp":
        return MAX_MESSAGE_BYTES
    if query.edns is None:
        return UDP_PAYLOAD_WITHOUT_EDNS
    return max(UDP_PAYLOAD_WITHOUT_EDNS, min(query.edns.payload_size, SERVER_UDP_PAYLOAD))


def _reply_to(query: Message, answer: AnswerSource) -> Message:
    if query.opcode != _OPCODE_QUERY:
        return _reply(query, Rcode.NOTIMP)
    if len(query.questions) != 1:
        return _reply(query, Rcode.FORMERR)
    if query.edns is not None and query.edns.version != 0:
        return _reply(query, Rcode.BADVERS)
    question = query.questions[0]
    if question.record_type == RecordType.OPT:
        return _reply(query, Rcode.FORMERR)
    if question.record_class not in (CLASS_IN, CLASS_ANY) or question.record_type in _REFUSED_TYPES:
        return _reply(query, Rcode.REFUSED)
    result = answer(question.name, type_name(question.record_type))
    return Message(
        id=query.id, response=True, opcode=query.opcode, authoritative=result.authoritative,
        recursion_desired=query.recursion_desired, rcode=result.rcode, questions=query.questions,
        answers=result.records, authority=result.authority, additional=result.additional,
        edns=_edns_of(query),
    )


def _reply(query: Message, rcode: Rcode, *, questions: bool = True) -> Message:
    """An answerless reply; `questions=False` when the query could not be decoded."""
    return Message(
        id=query.id, response=True, opcode=query.opcode, recursion_desired=query.recursion_desired,
        rcode=rcode, questions=query.questions if questions else (), edns=_edns_of(query),
    )


def _edns_of(query: Message) -> Edns | None:
    """EDNS in a response only when the query used it (RFC 6891 §7)."""
    return Edns(payload_size=SERVER_UDP_PAYLOAD) if query.edns is not None else None
