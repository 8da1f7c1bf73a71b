"""A lean HTTP/1.1 client over one keep-alive socket, so the load generator is not what we measure.

Measured on a 2-core machine: httpx tops out at a few hundred requests/s under concurrency, with one core busy in the
client. Here a request is one pre-built `bytes` and one `sendall`; the response is read by its
Content-Length. It speaks exactly what the benchmarks need (POST/GET with JSON, no chunked bodies) and
nothing more. It blocks, so the GIL is released while waiting: threads and processes scale it.
Given a TLS context, the socket is wrapped once: one handshake, then every request goes over that one
encrypted connection, as a real client's keep-alive does. The context carries the client certificate.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

CONFIG_MAPS = "/api/v1/namespaces/default/configmaps"
_HEADER_END = b"\r\n\r\n"


class ProtocolError(Exception):
    """The server's answer was not an HTTP/1.1 response this client can read."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


def config_map_body(name: str, *, size: int = 1024) -> bytes:
    """A ConfigMap named `name` whose JSON encoding is about `size` bytes (~1 KB by default)."""
    skeleton = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"payload": ""}}
    filler = max(0, size - len(json.dumps(skeleton, separators=(",", ":"))))
    skeleton["data"] = {"payload": "x" * filler}
    return json.dumps(skeleton, separators=(",", ":")).encode()


@dataclass(frozen=True)
class CreateCall:
    """How a client creates one object on the server under test: the path to POST to, the body for a name, and
    what says "created" (the status, and a marker the answer must hold: an etcd transaction answers 200 either way).

    `body` is a module-level function, so a load plan carrying a CreateCall pickles into spawned workers."""

    path: str
    body: Callable[[str], bytes]
    created_status: int
    created_marker: bytes = b""

    def created(self, status: int, answer: bytes) -> bool:
        return status == self.created_status and self.created_marker in answer


CONFIG_MAP_CREATE = CreateCall(CONFIG_MAPS, config_map_body, 201)


def encode_request(method: str, path: str, *, endpoint: Endpoint, body: bytes = b"") -> bytes:
    """A complete HTTP/1.1 request with a JSON body (if any), ready for one sendall."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {endpoint.netloc}\r\nAccept: application/json\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode("ascii") + b"\r\n" + body


def parse_head(head: bytes) -> tuple[int, int]:
    """The status code and Content-Length of a response head (without the blank line)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(parts[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise ProtocolError("chunked responses are not supported by the lean client")
    return status, 0


class LeanConnection:
    """One keep-alive connection to one replica. Not thread-safe: one thread per connection."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> None:
        self.endpoint = endpoint
        self.tls = tls
        plain = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket = tls.wrap_socket(plain, server_hostname=endpoint.host) if tls is not None else plain
        except BaseException:
            plain.close()
            raise
        self._buffer = bytearray()

    def negotiated(self) -> str:
        """The TLS version and cipher of this connection ("plain" when it has none)."""
        if not isinstance(self._socket, ssl.SSLSocket):
            return "plain"
        cipher = self._socket.cipher()
        return f"{self._socket.version()} {cipher[0] if cipher else ''}".strip()

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self.send(encode_request("POST", path, endpoint=self.endpoint, body=body))

    def get(self, path: str) -> tuple[int, bytes]:
        return self.send(encode_request("GET", path, endpoint=self.endpoint))

    def send(self, request: bytes) -> tuple[int, bytes]:
        """Send one pre-encoded request and read its whole response: (status, body)."""
        self._socket.sendall(request)
        while (end := self._buffer.find(_HEADER_END)) < 0:
            self._receive()
        status, length = parse_head(bytes(self._buffer[:end]))
        del self._buffer[: end + len(_HEADER_END)]
        while len(self._buffer) < length:
            self._receive()
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return status, body

    def _receive(self) -> None:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError(f"{self.endpoint.netloc} closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> LeanConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def post_or_reconnect(connection: LeanConnection, path: str, body: bytes,
                      failures: Counter[str]) -> tuple[LeanConnection, tuple[int, bytes] | None]:
    """POST once: (connection, (status, answer)). A transport failure is counted in `failures` by its type,
    never resent (a lost create is a failure), and answered with a fresh connection to the same endpoint and
    no answer."""
    try:
        return connection, connection.post(path, body)
    except (OSError, ProtocolError) as error:
        failures[type(error).__name__] += 1
        connection.close()
        return LeanConnection(connection.endpoint, tls=connection.tls), None
