"""Serving an ASGI app with uvicorn inside a daemon whose signals `run_daemon` owns.

uvicorn installs its own SIGTERM/SIGINT handlers while it serves and re-raises the signal once
it has stopped; inside a daemon that would stop one listener and leave the rest running. Here
uvicorn leaves signals alone, and cancelling `serve_http` shuts it down gracefully instead:
listeners closed, in-flight requests given `timeout_graceful_shutdown` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import uvicorn

from minik8s.daemon.entry import StartupError
from minik8s.daemon.sockets import bound_socket
from minik8s.daemon.tls import ServerTls, TlsH11Protocol, TlsHttpToolsProtocol, TlsWebSocketProtocol

HttpProtocol = Literal["httptools", "h11"]


class _Server(uvicorn.Server):
    """A uvicorn server that never touches signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(app: Callable[..., Any], *, host: str, port: int, lifespan: Literal["on", "off"] = "off",
                     graceful_seconds: int | None = None, tls: ServerTls | None = None,
                     http: HttpProtocol = "httptools", also_on: Sequence[tuple[str, int]] = ()) -> None:
    """Serve `app` until cancelled (then stop gracefully); StartupError if an address cannot be bound.

    uvicorn logs through the daemon's own handlers (so `--log-format json` covers it), warnings only.
    With `tls`, it serves HTTPS and each scope carries its connection's client certificate (see tls).
    `also_on`: more addresses served the same way, which may appear on this host later (see sockets).
    """
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False,
                            lifespan=lifespan, timeout_graceful_shutdown=graceful_seconds,
                            **(_tls_options(tls, http) if tls is not None else {}))
    if tls is not None:
        config.load()  # builds the SSLContext (a bad certificate or key file fails here, an OSError)
        assert config.ssl is not None
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    server = _Server(config)
    sockets = _listeners([(host, port), *also_on]) if also_on else None
    serving = asyncio.ensure_future(_serve(server, f"{host}:{port}", sockets))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving
        raise


def _tls_options(tls: ServerTls, http: HttpProtocol) -> dict[str, Any]:
    protocol = TlsHttpToolsProtocol if http == "httptools" else TlsH11Protocol
    return {**tls.uvicorn_options(), "http": protocol, "ws": TlsWebSocketProtocol}


def _listeners(addresses: Sequence[tuple[str, int]]) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    try:
        for host, port in addresses:
            sockets.append(bound_socket(socket.SOCK_STREAM, host, port, backlog=2048))
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise StartupError(f"could not listen on {host}:{port}: {error.strerror or error}") from None
    return sockets


async def _serve(server: uvicorn.Server, address: str, sockets: list[socket.socket] | None) -> None:
    try:
        await server.serve(sockets=sockets)
    except SystemExit:  # uvicorn exits when it cannot listen, after logging why
        raise StartupError(f"could not listen on {address}") from None
    if not server.started and not server.should_exit:
        raise StartupError(f"could not listen on {address}")
