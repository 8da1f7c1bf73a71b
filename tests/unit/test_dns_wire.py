"""DNS wire format and the packet responder: round trips, known bytes, truncation, hostile packets."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minik8s.dns.records import Answer
from minik8s.dns.responder import respond
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
    Rcode,
    Record,
    RecordType,
    canonical_name,
    labels_to_name,
    name_labels,
)
from minik8s.dnswire.wire import WireError, decode_message, encode_message

# `dig +noedns example.com` as captured: id 0x1234, RD, one question.
DIG_QUERY = bytes.fromhex("12340100000100000000000007" + "6578616d706c65" + "03636f6d00" + "00010001")


def full_message() -> Message:
    zone = "cluster.local."
    return Message(
        id=4660, response=True, authoritative=True, recursion_desired=True, rcode=Rcode.NXDOMAIN,
        questions=(Question("Web.default.svc.cluster.local.", RecordType.A),),
        answers=(
            Record("web.default.svc.cluster.local.", 5, A("10.96.1.1")),
            Record("web.default.svc.cluster.local.", 5, AAAA("fd00::1")),
            Record("_http._tcp.web.default.svc.cluster.local.", 5, SRV(0, 100, 80, "web.default.svc.cluster.local.")),
            Record("ext.default.svc.cluster.local.", 5, CNAME("example.com.")),
            Record("1.1.96.10.in-addr.arpa.", 5, PTR("web.default.svc.cluster.local.")),
            Record("dns-version.cluster.local.", 28800, TXT((b"1.1.0", b"", b"x" * 255))),
            Record("odd\\.label\\000.cluster.local.", 5, Opaque(99, b"\x01\x02")),
        ),
        authority=(Record(zone, 5, SOA("ns.dns." + zone, "hostmaster." + zone, 7, 7200, 1800, 86400, 5)),),
        additional=(Record(zone, 5, NS("ns.dns." + zone)),),
        edns=Edns(payload_size=1232, dnssec_ok=True, options=b"\x00\x0a\x00\x02ab"),
    )


def test_a_message_survives_encoding_and_decoding() -> None:
    message = full_message()
    assert decode_message(encode_message(message)) == message


def test_names_are_compressed_when_encoding() -> None:
    answers = tuple(Record("web.default.svc.cluster.local.", 5, A(f"10.0.0.{i}")) for i in range(10))
    encoded = encode_message(Message(id=1, questions=(Question("web.default.svc.cluster.local.", 1),),
                                     answers=answers))
    assert len(encoded) == 12 + 35 + 10 * (2 + 10 + 4)  # each answer owner is a 2-byte pointer


def test_a_real_query_decodes() -> None:
    query = decode_message(DIG_QUERY)
    assert query == Message(id=0x1234, recursion_desired=True, questions=(Question("example.com.", 1, 1),))
    assert encode_message(query) == DIG_QUERY


def test_compression_pointers_are_followed() -> None:
    header = struct.pack("!HHHHHH", 7, 0x8400, 1, 1, 0, 0)
    question = b"\x03web\x07default\x03svc\x07cluster\x05local\x00" + struct.pack("!HH", 1, 1)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + bytes([10, 96, 1, 1])
    cname = b"\x05alias\xc0\x10" + struct.pack("!HHIH", 5, 1, 5, 2) + b"\xc0\x0c"  # pointer inside rdata
    packet = header[:6] + struct.pack("!H", 2) + header[8:] + question + answer + cname
    message = decode_message(packet)
    assert message.answers == (Record("web.default.svc.cluster.local.", 5, A("10.96.1.1")),
                               Record("alias.default.svc.cluster.local.", 5, CNAME("web.default.svc.cluster.local.")))


@pytest.mark.parametrize(("name", "labels"), [
    ("", ()), (".", ()), ("a.b", (b"a", b"b")), ("a.b.", (b"a", b"b")), ("A\\.b.c", (b"A.b", b"c")),
    ("x\\\\y", (b"x\\y",)), ("\\000\\255", (b"\x00\xff",)),
])
def test_presentation_names(name: str, labels: tuple[bytes, ...]) -> None:
    assert name_labels(name) == labels
    assert name_labels(labels_to_name(labels)) == labels


@pytest.mark.parametrize("name", ["a..b", ".a", "x" * 64, "a\\", "a\\256", "é.com", ".".join(["abcdefgh"] * 29)])
def test_names_that_cannot_be_encoded_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        name_labels(name)


def test_canonical_names_ignore_case_and_the_trailing_dot() -> None:
    assert canonical_name("Web.Default.SVC.cluster.local") == canonical_name("web.default.svc.cluster.local.")


labels = st.binary(min_size=1, max_size=20)
names = st.lists(labels, max_size=5).map(lambda parts: labels_to_name(tuple(parts)))
ipv4 = st.ip_addresses(v=4).map(str)
record_data = st.one_of(
    ipv4.map(A), st.ip_addresses(v=6).map(lambda ip: AAAA(str(ip))), names.map(CNAME), names.map(NS),
    st.builds(SRV, st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535), names),
    st.lists(st.binary(max_size=40), max_size=3).map(lambda strings: TXT(tuple(strings))),
)
records = st.builds(Record, names, st.integers(0, 2**31 - 1), record_data)


@settings(max_examples=150, deadline=None)
@given(ident=st.integers(0, 65535), question_names=st.lists(names, max_size=2),
       answers=st.lists(records, max_size=6), extra=st.lists(records, max_size=3), rcode=st.integers(0, 15))
def test_any_message_round_trips(ident: int, question_names: list[str], answers: list[Record],
                                 extra: list[Record], rcode: int) -> None:
    message = Message(id=ident, response=True, rcode=rcode, questions=tuple(Question(n, 1) for n in question_names),
                      answers=tuple(answers), additional=tuple(extra))
    assert decode_message(encode_message(message)) == message


def test_answers_that_do_not_fit_set_tc_and_keep_what_fits() -> None:
    answers = tuple(Record("db.default.svc.cluster.local.", 5, A(f"10.244.0.{i}")) for i in range(100))
    message = Message(id=1, response=True, questions=(Question("db.default.svc.cluster.local.", 1),), answers=answers)
    packet = encode_message(message, limit=512)
    decoded = decode_message(packet)
    assert len(packet) <= 512 and decoded.truncated
    assert 0 < len(decoded.answers) < 100 and decoded.answers == answers[:len(decoded.answers)]
    assert not decode_message(encode_message(message)).truncated


def test_additional_records_that_do_not_fit_are_dropped_without_tc() -> None:
    extra = tuple(Record(f"host-{i}.db.default.svc.cluster.local.", 5, A("10.244.0.1")) for i in range(40))
    message = Message(id=1, response=True, answers=(Record("x.cluster.local.", 5, A("10.0.0.1")),), additional=extra)
    decoded = decode_message(encode_message(message, limit=512))
    assert not decoded.truncated and len(decoded.answers) == 1 and len(decoded.additional) < 40


def header(*, count_questions: int = 1, answers: int = 0, flags: int = 0x0100) -> bytes:
    return struct.pack("!HHHHHH", 99, flags, count_questions, answers, 0, 0)


QUESTION = b"\x03web\x07cluster\x05local\x00\x00\x01\x00\x01"


@pytest.mark.parametrize(("packet", "problem"), [
    (b"", "shorter than a header"),
    (b"\x00" * 11, "shorter than a header"),
    (header(), "ends early|past the end"),  # a question announced, none sent
    (header() + b"\x05ab", "past the end"),
    (header() + b"\xc0\x0c\x00\x01\x00\x01", "backwards"),  # a pointer to itself
    (header() + b"\x01a\xc0\x0e\x00\x01\x00\x01", "backwards"),  # a pointer forward
    (header() + b"\x01a\xc0\x0c\x00\x01\x00\x01", "backwards"),  # a loop through the name's start
    (header() + b"\x41abc\x00\x00\x01\x00\x01", "label type"),
    (header() + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x00"
     + b"\x00\x01\x00\x01", "longer than 255"),
    (header() + QUESTION + b"\x00", "after the last record"),
    (header(answers=1) + QUESTION + b"\x00" + struct.pack("!HHIH", 1, 1, 5, 5) + b"\x0a\x00\x00\x01\x02",
     "wrong length"),
    (header(answers=1) + QUESTION + b"\x00" + struct.pack("!HHIH", 1, 1, 5, 40) + b"\x0a\x00\x00\x01",
     "runs past"),
    (header(answers=1) + QUESTION + b"\x00" + struct.pack("!HHIH", 41, 512, 0, 0), "OPT record outside"),
    (header() + QUESTION[:-4] + b"\x00", "ends early"),
])
def test_malformed_packets_raise_one_error(packet: bytes, problem: str) -> None:
    with pytest.raises(WireError, match=problem):
        decode_message(packet)


def test_two_opt_records_are_malformed() -> None:
    opt = b"\x00" + struct.pack("!HHIH", 41, 512, 0, 0)
    packet = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 2) + QUESTION + opt + opt
    with pytest.raises(WireError, match="more than one OPT"):
        decode_message(packet)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_decoder_or_the_responder(packet: bytes) -> None:
    with contextlib.suppress(WireError):
        decode_message(packet)
    response = respond(packet, answer=fixed_answer, transport="udp")
    assert response is None or decode_message(response).response


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mangled_messages_decode_or_raise_one_error(data: st.DataObject) -> None:
    packet = bytearray(encode_message(full_message()))
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(packet) - 1))
        packet[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(packet)))
    with contextlib.suppress(WireError):
        decode_message(bytes(packet[:cut]))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mangled_queries_never_crash_the_responder(data: st.DataObject) -> None:
    packet = bytearray(query("web.default.svc.cluster.local", edns=Edns()))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(packet) - 1))
        packet[position] = data.draw(st.integers(0, 255))
    response = respond(bytes(packet), answer=fixed_answer, transport="udp")
    assert response is None or len(response) <= 1232


# -- the responder ---------------------------------------------------------------------------------


def fixed_answer(name: str, qtype: str) -> Answer:
    if not name.lower().endswith("cluster.local."):
        return Answer(Rcode.REFUSED)
    return Answer(Rcode.NOERROR, tuple(Record(name, 5, A(f"10.244.{i // 250}.{i % 250}")) for i in range(60)))


def query(name: str, qtype: int = 1, *, ident: int = 7, edns: Edns | None = None, opcode: int = 0,
          qclass: int = 1) -> bytes:
    return encode_message(Message(id=ident, opcode=opcode, recursion_desired=True,
                                  questions=(Question(name, qtype, qclass),), edns=edns))


def answer_to(packet: bytes, transport: str = "udp") -> Message:
    response = respond(packet, answer=fixed_answer, transport="tcp" if transport == "tcp" else "udp")
    assert response is not None
    return decode_message(response)


def test_a_query_gets_its_answer_with_its_id_and_question() -> None:
    reply = answer_to(query("Web.cluster.local", ident=4242))
    assert reply.id == 4242 and reply.response and reply.authoritative and reply.recursion_desired
    assert reply.questions == (Question("Web.cluster.local.", 1),)
    assert reply.rcode == Rcode.NOERROR and reply.edns is None


def test_udp_answers_are_truncated_at_512_bytes_or_the_edns_size_and_tcp_gets_all() -> None:
    plain = respond(query("big.cluster.local"), answer=fixed_answer, transport="udp")
    assert plain is not None and len(plain) <= 512 and decode_message(plain).truncated
    with_edns = respond(query("big.cluster.local", edns=Edns(payload_size=4096)), answer=fixed_answer,
                        transport="udp")
    assert with_edns is not None and 512 < len(with_edns) <= 1232
    assert decode_message(with_edns).edns == Edns(payload_size=1232)
    over_tcp = answer_to(query("big.cluster.local"), "tcp")
    assert not over_tcp.truncated and len(over_tcp.answers) == 60


@pytest.mark.parametrize(("packet", "rcode"), [
    (query("web.cluster.local", opcode=2), Rcode.NOTIMP),
    (encode_message(Message(id=7, questions=(Question("a.cluster.local", 1), Question("b.cluster.local", 1)))),
     Rcode.FORMERR),
    (encode_message(Message(id=7)), Rcode.FORMERR),
    (query("web.cluster.local", edns=Edns(version=1)), Rcode.BADVERS),
    (query("version.bind", 16, qclass=3), Rcode.REFUSED),
    (query("cluster.local", RecordType.AXFR), Rcode.REFUSED),
    (query("cluster.local", RecordType.OPT), Rcode.FORMERR),
    (query("example.com"), Rcode.REFUSED),
    (DIG_QUERY[:12] + b"\x07example", Rcode.FORMERR),
])
def test_queries_that_cannot_be_answered_get_the_right_rcode(packet: bytes, rcode: Rcode) -> None:
    reply = answer_to(packet)
    assert reply.rcode == rcode and reply.answers == ()
    assert reply.id == struct.unpack("!H", packet[:2])[0]


def test_responses_and_runts_are_dropped() -> None:
    response = encode_message(Message(id=1, response=True, questions=(Question("x.cluster.local", 1),)))
    assert respond(response, answer=fixed_answer, transport="udp") is None
    assert respond(b"\x00\x01\x00", answer=fixed_answer, transport="udp") is None


def test_a_failing_answer_source_is_servfail() -> None:
    def broken(name: str, qtype: str) -> Answer:
        raise RuntimeError("cache exploded")

    response = respond(query("web.cluster.local"), answer=broken, transport="udp")
    assert response is not None and decode_message(response).rcode == Rcode.SERVFAIL
