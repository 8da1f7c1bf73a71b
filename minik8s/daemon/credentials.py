"""The credentials a request carries, read from its ASGI scope and headers.

Every listener that authenticates (the apiserver, a node agent) reads them the same way: the client
certificate its TLS connection presented and verified (the ASGI TLS extension `tls` puts in the scope),
and a bearer token in the `Authorization` header. No project imports, so every daemon may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from minik8s.daemon.tls import TLS_EXTENSION


def client_certificate_of(scope: MutableMapping[str, Any]) -> str | None:
    """The verified client certificate (PEM) of the request's connection, from the ASGI tls extension."""
    chain = (scope.get("extensions") or {}).get(TLS_EXTENSION, {}).get("client_cert_chain") or []
    return str(chain[0]) if chain else None


def bearer_token_of(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer …` header; None for none, another scheme or an empty token."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def bearer_token_in(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of a scope's raw headers (the first `Authorization` header), if any."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return bearer_token_of(value.decode("latin-1"))
    return None
