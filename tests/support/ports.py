"""Free loopback ports for the servers a test starts (every test listens on 127.0.0.1 only)."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free right now: all held open together, so none is handed out twice."""
    sockets, ports = [], []
    for _ in range(count):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        sockets.append(probe)
        ports.append(int(probe.getsockname()[1]))
    for probe in sockets:
        probe.close()
    return ports


def free_port() -> int:
    """One port free right now."""
    return free_ports(1)[0]
