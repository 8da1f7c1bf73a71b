"""HTTPS serving: the server's TLS context, and each connection's client certificate in the ASGI scope.

The apiserver authenticates a request by the certificate its connection presented, but uvicorn does
not (yet) implement the ASGI TLS extension. Rather than patch uvicorn, each protocol class it uses
(HTTP and WebSocket) is subclassed: when a connection is made, the protocol's `app` is wrapped in a
per-connection `TlsScope` that adds `scope["extensions"]["tls"]` (ASGI TLS extension 0.2 keys) to every
scope of that connection — every keep-alive request, and the WebSocket an upgrade hands the transport
to. The certificate was verified by the TLS handshake against `--client-ca-file`; it is optional
(CERT_OPTIONAL), as Kubernetes' is, so bearer tokens and anonymous requests still connect.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

TLS_EXTENSION = "tls"
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


@dataclass(frozen=True)
class ServerTls:
    """The serving certificate and key, and the CA client certificates are verified against (optional)."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn.Config keywords: client certificates requested, and verified when a CA is given."""
        return {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file,
                "ssl_ca_certs": self.client_ca_file or None,
                "ssl_cert_reqs": ssl.CERT_OPTIONAL if self.client_ca_file else ssl.CERT_NONE}


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension of a connection, or None when it is not TLS.

    `client_cert_chain` holds the verified client certificate (PEM), first; Python's ssl exposes the
    leaf only before 3.13, which is all authentication reads. A certificate that fails verification
    never gets here: the handshake refuses it.
    """
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    return {"server_cert": None, "client_cert_chain": chain, "client_cert_name": None,
            "client_cert_error": None, "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
            "cipher_suite": None}


class TlsScope:
    """One connection's app: the server's app, with that connection's TLS extension in every scope."""

    def __init__(self, app: Asgi, extension: dict[str, Any]) -> None:
        self.app = app
        self.extension = extension

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("extensions", {})[TLS_EXTENSION] = self.extension
        await self.app(scope, receive, send)


def _with_tls_scope(protocol: type[Any]) -> type[Any]:
    """A subclass of a uvicorn protocol whose connections put their TLS extension in the scope."""

    def connection_made(self: Any, transport: asyncio.BaseTransport) -> None:
        protocol.connection_made(self, transport)
        extension = tls_extension(transport)
        if extension is not None and not isinstance(self.app, TlsScope):
            self.app = TlsScope(self.app, extension)

    return type(f"Tls{protocol.__name__}", (protocol,), {"connection_made": connection_made,
                                                          "__doc__": _with_tls_scope.__doc__})


TlsHttpToolsProtocol = _with_tls_scope(HttpToolsProtocol)
TlsH11Protocol = _with_tls_scope(H11Protocol)
TlsWebSocketProtocol = _with_tls_scope(WebSocketsSansIOProtocol)
