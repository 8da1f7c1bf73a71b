"""The DNS server's sockets: UDP and TCP on one address, answering from the live caches.

Pods ask over UDP and fall back to TCP when an answer comes back truncated, so both listen on
the same port; each packet goes through `responder.respond`, which holds every rule. A TCP
client may send several length-prefixed queries on one connection (RFC 7766); idle or broken
connections are closed, and their number is capped so no client can exhaust the server.
`ClusterZone` is what the sockets answer from: the Service and Endpoints informers, read
through `records.resolve`, with SERVFAIL for cluster names until both caches have synced
(an NXDOMAIN before that would be cached by clients for names that do exist).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import cast

from minik8s.api.meta import JsonObject
from minik8s.client.informer import Informer
from minik8s.daemon.sockets import bound_socket
from minik8s.dns.records import DEFAULT_DOMAIN, DEFAULT_TTL, Answer, in_domain, resolve
from minik8s.dns.responder import AnswerSource, respond
from minik8s.dnswire.message import Rcode

log = logging.getLogger(__name__)

_LENGTH_PREFIX_BYTES = 2
_BIND_TRIES_FOR_ANY_PORT = 20


class ClusterZone:
    """Answers for the cluster domain from shared Service and Endpoints informers."""

    def __init__(self, services: Informer, endpoints: Informer, *, domain: str = DEFAULT_DOMAIN,
                 ttl: int = DEFAULT_TTL) -> None:
        self.services = services
        self.endpoints = endpoints
        self.domain = domain
        self.ttl = ttl
        self.serial = int(time.time())  # the SOA serial: when the caches last changed, like CoreDNS
        for informer in (services, endpoints):
            informer.add_handler(on_add=self._changed, on_update=self._changed_from, on_delete=self._changed)

    @property
    def synced(self) -> bool:
        return self.services.has_synced and self.endpoints.has_synced

    def answer(self, name: str, qtype: str) -> Answer:
        if not self.synced and in_domain(name, self.domain):
            return Answer(Rcode.SERVFAIL)
        return resolve(name, qtype, services=self.services, endpoints=self.endpoints, domain=self.domain,
                       ttl=self.ttl, serial=self.serial)

    def _changed(self, _: JsonObject) -> None:
        self.serial = max(self.serial, int(time.time()))

    def _changed_from(self, old: JsonObject, new: JsonObject) -> None:
        if old is not new:
            self._changed(new)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: AnswerSource) -> None:
        self._answer = answer
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # (3.11's is no subclass of it)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            response = respond(data, answer=self._answer, transport="udp")
        except Exception:  # respond handles its own failures; this is the last guard of the socket
            log.exception("UDP query from %s could not be answered", addr)
            return
        if response is not None and self._transport is not None:
            self._transport.sendto(response, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP socket error: %r", exc)


class DnsServer:
    """UDP and TCP listeners on `host:port` (port 0: one free port, the same for both)."""

    def __init__(self, answer: AnswerSource, *, host: str, port: int, tcp_idle_seconds: float = 10.0,
                 max_tcp_connections: int = 256) -> None:
        self._answer = answer
        self.host = host
        self.port = port
        self._tcp_idle_seconds = tcp_idle_seconds
        self._max_tcp_connections = max_tcp_connections
        self._tcp_connections = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind both sockets; OSError (e.g. the port is taken, or 53 without privilege) if either fails."""
        tries = _BIND_TRIES_FOR_ANY_PORT if self.port == 0 else 1
        for attempt in range(tries):
            tcp = await asyncio.start_server(self._serve_connection, sock=bound_socket(
                socket.SOCK_STREAM, self.host, self.port))
            port = int(tcp.sockets[0].getsockname()[1])
            try:
                loop = asyncio.get_running_loop()
                udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self._answer),
                                                             sock=bound_socket(socket.SOCK_DGRAM, self.host, port))
            except OSError:
                tcp.close()
                await tcp.wait_closed()
                if attempt + 1 == tries:
                    raise
                continue
            self._tcp, self._udp, self.port = tcp, udp, port
            log.info("DNS listening on %s:%d (UDP and TCP)", self.host, port)
            return

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tcp_connections >= self._max_tcp_connections:
            writer.close()
            return
        self._tcp_connections += 1
        try:
            while await self._answer_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass  # the client went away or went quiet: nothing to answer
        except Exception:
            log.exception("TCP connection from %s failed", writer.get_extra_info("peername"))
        finally:
            self._tcp_connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one length-prefixed query and answer it; False when the connection should close."""
        async with asyncio.timeout(self._tcp_idle_seconds):
            length = int.from_bytes(await reader.readexactly(_LENGTH_PREFIX_BYTES), "big")
            packet = await reader.readexactly(length)
        response = respond(packet, answer=self._answer, transport="tcp")
        if response is None:
            return False
        writer.write(len(response).to_bytes(_LENGTH_PREFIX_BYTES, "big") + response)
        await writer.drain()
        return True
