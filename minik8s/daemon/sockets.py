"""Listening sockets on addresses this host may not have yet.

A daemon that serves pods listens on a node network's gateway (10.244.1.1): the cluster DNS,
and the apiserver for the `kubernetes` Service. That address appears only when the node agent
creates its bridge, which happens after the control plane starts. IP_FREEBIND lets the bind
succeed now; the kernel delivers to the socket as soon as the address exists. Binding to the
one address (not 0.0.0.0) keeps the listener off every other interface, and makes UDP answers
leave from the address the client asked.
"""

from __future__ import annotations

import socket

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


def bound_socket(kind: socket.SocketKind, host: str, port: int, *, backlog: int = 128) -> socket.socket:
    """A non-blocking socket bound to host:port (listening, for TCP); OSError when it cannot be bound."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sock.family == socket.AF_INET:
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
