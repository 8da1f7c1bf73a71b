"""A running `docker exec`, spoken over the hijacked socket with asyncio.

`POST /exec/{id}/start` with `Upgrade: tcp` turns the HTTP connection into a raw duplex
stream: the process's stdin one way, its output the other (8-byte-header frames without a
TTY, raw bytes with one). Reading and writing that socket with the loop's `sock_recv` /
`sock_sendall` needs no thread per session, which matters because exec probes run one exec
per container every few seconds. The exit code comes from `exec_inspect` once Docker says
the process stopped running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from minik8s.node.docker.wire import STDOUT, FrameDemultiplexer
from minik8s.node.runtime import RuntimeFailure

logger = logging.getLogger(__name__)

_READ_BYTES = 65536
_FIRST_POLL_SECONDS = 0.005
_MAX_POLL_SECONDS = 0.5
# Once the output has ended, Docker must report the process gone within this bound.
_EXIT_AFTER_EOF_SECONDS = 10.0


class Closable(Protocol):
    def close(self) -> None: ...


class DockerExecSession:
    """One exec; `output()` may be iterated once, `wait()` works whether or not it was."""

    def __init__(
        self,
        *,
        exec_id: str,
        sock: socket.socket,
        response: Closable,
        initial_output: bytes,
        tty: bool,
        inspect_exec: Callable[[], Awaitable[Mapping[str, Any]]],
        resize_exec: Callable[[int, int], Awaitable[None]],
    ) -> None:
        sock.setblocking(False)
        self.exec_id = exec_id
        self._sock = sock
        self._response = response
        self._pending = initial_output  # bytes the HTTP layer had already buffered
        self._tty = tty
        self._inspect_exec = inspect_exec
        self._resize_exec = resize_exec
        self._reading = False
        self._closed = False
        self._output_ended = asyncio.Event()

    async def write_stdin(self, data: bytes) -> None:
        if self._closed:
            raise RuntimeFailure(f"exec {self.exec_id[:12]} is closed")
        try:
            await asyncio.get_running_loop().sock_sendall(self._sock, data)
        except OSError as exc:
            raise RuntimeFailure(f"exec {self.exec_id[:12]}: writing stdin failed: {exc}") from exc

    async def close_stdin(self) -> None:
        """EOF on the process's stdin; its output can still be read."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            logger.debug("exec %s: shutting stdin down failed", self.exec_id[:12], exc_info=True)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(stream, data) until the process ends or the session is closed."""
        demultiplexer = None if self._tty else FrameDemultiplexer()
        loop = asyncio.get_running_loop()
        self._reading = True
        try:
            data, self._pending = self._pending, b""
            while True:
                if data:
                    if demultiplexer is None:
                        yield STDOUT, data
                    else:
                        for frame in demultiplexer.feed(data):
                            yield frame
                if self._closed:
                    return
                try:
                    data = await loop.sock_recv(self._sock, _READ_BYTES)
                except OSError as exc:
                    logger.debug("exec %s: output ended: %r", self.exec_id[:12], exc)
                    return
                if not data:
                    return
        finally:
            self._reading = False
            self._output_ended.set()
            if self._closed:
                self._release()

    async def resize(self, *, width: int, height: int) -> None:
        if self._tty:
            await self._resize_exec(width, height)

    async def wait(self) -> int:
        """The exit code; polls Docker until the process is no longer running."""
        loop = asyncio.get_running_loop()
        interval = _FIRST_POLL_SECONDS
        deadline: float | None = None
        while True:
            details = await self._inspect_exec()
            if not details.get("Running"):
                exit_code = details.get("ExitCode")
                if exit_code is None:
                    raise RuntimeFailure(f"exec {self.exec_id[:12]} ended without an exit code")
                return int(exit_code)
            if self._output_ended.is_set():
                deadline = deadline or loop.time() + _EXIT_AFTER_EOF_SECONDS
                if loop.time() > deadline:
                    raise RuntimeFailure(f"exec {self.exec_id[:12]}: output ended but Docker reports it running")
            await asyncio.sleep(interval)
            interval = min(interval * 2, _MAX_POLL_SECONDS)

    async def close(self) -> None:
        """Hang up; a reader of `output()` sees the end. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        if not self._reading:
            self._release()

    def _release(self) -> None:
        try:
            self._sock.close()
            self._response.close()
        except Exception:
            logger.debug("exec %s: closing the connection failed", self.exec_id[:12], exc_info=True)
