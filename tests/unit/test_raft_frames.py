"""How a replica reads a peer that has not proved the cluster secret: one capped frame at a time."""

from __future__ import annotations

import struct

import pytest

from minik8s.store.raft_transport import ReadStep, unauthenticated_read_step

LIMIT = 1024


def frame(length: int, body: bytes = b"") -> bytes:
    return struct.pack("i", length) + body


@pytest.mark.parametrize(("buffered", "step"), [
    (b"", ReadStep.READ_ON),
    (b"\x01\x00", ReadStep.READ_ON),  # not even the length yet
    (frame(2**31 - 1), ReadStep.DROP),  # the 2 GiB announcement of issue #13
    (frame(LIMIT + 1), ReadStep.DROP),
    (frame(-5), ReadStep.DROP),
    (frame(LIMIT, b"x" * 10), ReadStep.READ_ON),  # a frame within the cap, still arriving
    (frame(3, b"abc"), ReadStep.PARSE_FIRST),
    (frame(3, b"abc") + frame(2**31 - 1), ReadStep.PARSE_FIRST),  # the next frame is judged after this one
    (frame(0), ReadStep.PARSE_FIRST),
])
def test_an_unauthenticated_peer_is_read_one_capped_frame_at_a_time(buffered: bytes, step: ReadStep) -> None:
    assert unauthenticated_read_step(buffered, LIMIT) is step
