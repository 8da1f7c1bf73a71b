"""pysyncobj's TCP transport with a frame-size cap for peers that have not authenticated yet.

pysyncobj frames each message as a 4-byte length and then buffers until that many bytes arrived,
whatever the length says. One connection that announced 2 GiB and kept sending made the Raft thread
grow (and copy, `bytes +=`) an ever larger buffer in its read loop: every write timed out for about
40 s, and nobody needed the cluster secret to do it (issue #13).

A peer proves it holds the secret when a frame of its decrypts (Fernet: HMAC checked before anything
is unpickled) *and* carries the random key this side chose for the connection (so a replayed frame
proves nothing). Until then a connection may announce at most `UNAUTHENTICATED_FRAME_LIMIT` bytes per frame — the
handshake's frames are a few hundred — and is dropped at once when it announces more; and it is read
one frame at a time, so its next frame is looked at only after this one was parsed.
Peers that proved the secret are trusted as before: they could send any command anyway.

pysyncobj also keeps every accepted connection until it authenticates, without a deadline (its
timeout is checked only when it sends, and it sends nothing to a peer that has said nothing): idle
connections would pile up until the process runs out of descriptors and real peers cannot connect.
So at most `UNAUTHENTICATED_CONNECTION_LIMIT` wait to authenticate (a new one pushes out the oldest;
a real peer's handshake takes milliseconds), and none waits longer than `HANDSHAKE_DEADLINE`.

Outgoing connections leave from the replica's own Raft host (pysyncobj lets the kernel pick the source,
which on loopback is always 127.0.0.1): so a peer, a firewall or the fault suite's partitions
(tests/faults/) see which replica a connection comes from, and several replicas on one machine, each on
its own address, can be cut apart by address.

The hook: the transport (pysyncobj's `transportClass` argument) turns each connection it makes or
accepts into a `GuardedConnection` before it reads anything, and that subclass wraps the connection's
own read and parse steps; the source address is bound in `setSockoptKeepalive`, the step pysyncobj's
`connect` takes between making the socket and connecting it. pysyncobj itself stays as published.
"""

from __future__ import annotations

import enum
import logging
import struct
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from pysyncobj.tcp_connection import CONNECTION_STATE, TcpConnection
from pysyncobj.transport import TCPTransport

log = logging.getLogger(__name__)

FRAME_HEADER = struct.calcsize("i")  # pysyncobj's length prefix: a native signed 32-bit int
UNAUTHENTICATED_FRAME_LIMIT = 64 * 1024
UNAUTHENTICATED_CONNECTION_LIMIT = 32
HANDSHAKE_DEADLINE = 10.0  # seconds an accepted connection may take to prove the secret


class ReadStep(enum.Enum):
    READ_ON = "read on"  # the frame being received is not complete yet
    PARSE_FIRST = "parse first"  # a whole frame is buffered: stop reading until it has been parsed
    DROP = "drop"  # the frame announces more than an unauthenticated peer may send


def unauthenticated_read_step(buffered: bytes, limit: int) -> ReadStep:
    """What to do after a read from a peer that has not authenticated yet.

    Stopping at a whole frame lets it be parsed (perhaps authenticating the peer) before anything
    after it is buffered, so what is buffered never exceeds one capped frame plus one read.
    """
    if len(buffered) < FRAME_HEADER:
        return ReadStep.READ_ON
    (announced,) = struct.unpack("i", buffered[:FRAME_HEADER])
    if announced < 0 or announced > limit:
        return ReadStep.DROP
    return ReadStep.PARSE_FIRST if len(buffered) >= FRAME_HEADER + announced else ReadStep.READ_ON


Connection = TypeVar("Connection")


def connections_to_drop(waiting: Iterable[tuple[float, Connection]], now: float, *, limit: int,
                        deadline: float) -> list[Connection]:
    """Of the connections waiting to authenticate (accepted at, connection), those to hang up: every
    one older than `deadline`, then the oldest until at most `limit` remain."""
    by_age = sorted(waiting, key=lambda entry: entry[0])
    expired = [connection for accepted, connection in by_age if now - accepted > deadline]
    alive = [connection for accepted, connection in by_age if now - accepted <= deadline]
    return expired + alive[:max(0, len(alive) - limit)]


class GuardedConnection(TcpConnection):  # type: ignore[misc]
    """A pysyncobj connection that drops an unauthenticated peer trying to send an oversized frame.

    The two overridden steps are TcpConnection's private `__processRead` and `__processParseMessage`
    (name-mangled, hence the spelled-out names): its poll handler looks both up on the instance.
    """

    authenticated = False
    accepted_at = 0.0  # monotonic time an incoming connection was accepted
    source_host: str | None = None  # outgoing connections: the local address they leave from

    def setSockoptKeepalive(self) -> None:
        """Also, on a socket about to connect (not yet connected), bind `source_host` (any port)."""
        sock = self._TcpConnection__socket
        if self.source_host and sock is not None and self._TcpConnection__state == CONNECTION_STATE.DISCONNECTED:
            try:
                sock.bind((self.source_host, 0))
            except OSError as error:  # connect from whatever the kernel picks rather than not at all
                log.warning("cannot bind the Raft connection to %s: %s", self.source_host, error)
        super().setSockoptKeepalive()

    def _TcpConnection__processRead(self) -> bool:
        more: bool = TcpConnection._TcpConnection__processRead(self)
        if not more or self.authenticated:
            return more
        step = unauthenticated_read_step(self._TcpConnection__readBuffer, UNAUTHENTICATED_FRAME_LIMIT)
        if step is ReadStep.DROP:
            log.warning("dropping a Raft connection that announced an oversized frame before it authenticated")
            self.disconnect()
        return step is ReadStep.READ_ON

    def _TcpConnection__processParseMessage(self) -> Any:
        carries_our_key = self.recvRandKey is not None  # the parse checks the frame carries it
        message = TcpConnection._TcpConnection__processParseMessage(self)
        if message is not None and carries_our_key:
            self.authenticated = True
        return message

    def disconnect(self) -> None:
        self.authenticated = False  # an outgoing connection object is reused for the next attempt
        super().disconnect()


class GuardedTransport(TCPTransport):  # type: ignore[misc]
    """pysyncobj's TCP transport whose every connection is a `GuardedConnection`."""

    def _onNewIncomingConnection(self, conn: TcpConnection) -> None:
        conn.__class__ = GuardedConnection  # before its first read: the poller calls it later
        conn.accepted_at = time.monotonic()
        super()._onNewIncomingConnection(conn)
        self._drop_waiting_connections()

    def _onTick(self) -> None:
        super()._onTick()
        self._drop_waiting_connections()

    def _drop_waiting_connections(self) -> None:
        waiting = [(conn.accepted_at, conn) for conn in self._unknownConnections]
        for conn in connections_to_drop(waiting, time.monotonic(), limit=UNAUTHENTICATED_CONNECTION_LIMIT,
                                        deadline=HANDSHAKE_DEADLINE):
            log.warning("dropping a Raft connection that did not authenticate in time or in number")
            conn.disconnect()  # its disconnect callback removes it from the waiting set

    def addNode(self, node: Any) -> None:
        super().addNode(node)
        outgoing = self._connections.get(node)
        if type(outgoing) is TcpConnection:
            outgoing.__class__ = GuardedConnection
            outgoing.source_host = source_host_of(self._selfNode)


def source_host_of(self_node: Any) -> str | None:
    """The host outgoing connections bind to: this replica's Raft host, unless it is a wildcard."""
    host = getattr(self_node, "host", None)
    return host if isinstance(host, str) and host not in ("", "0.0.0.0", "::") else None
