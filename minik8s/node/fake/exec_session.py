"""The exec session of the in-memory runtime: a canned answer instead of a process.

Agent tests drive exec probes and `kubectl exec` through `FakeRuntime`; what a command
"prints" and how it exits is decided by a handler the test installs. A handler may return
an awaitable to model a command that takes time (or never ends, for probe timeouts). Like a
real process reading stdin, the handler runs only once stdin is closed when stdin is open.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from minik8s.node.runtime import ContainerInfo, RuntimeFailure


@dataclass(frozen=True)
class ExecResult:
    exit_code: int = 0
    stdout: bytes = b""
    stderr: bytes = b""


# (container, command, everything written to stdin) -> the outcome
ExecHandler = Callable[[ContainerInfo, tuple[str, ...], bytes], ExecResult | Awaitable[ExecResult]]


class FakeExecSession:
    """One canned exec; `resizes` records the terminal sizes asked for."""

    def __init__(self, *, info: ContainerInfo, command: tuple[str, ...], stdin: bool, tty: bool,
                 handler: ExecHandler) -> None:
        self._info = info
        self._command = command
        self._tty = tty
        self._handler = handler
        self._stdin = bytearray()
        self._stdin_closed = asyncio.Event()
        if not stdin:
            self._stdin_closed.set()
        self._result: ExecResult | None = None
        self._closed = False
        self.resizes: list[tuple[int, int]] = []

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin_closed.is_set():
            raise RuntimeFailure("exec: stdin is closed")
        self._stdin += data

    async def close_stdin(self) -> None:
        self._stdin_closed.set()

    async def _outcome(self) -> ExecResult:
        await self._stdin_closed.wait()
        if self._result is None:
            answer = self._handler(self._info, self._command, bytes(self._stdin))
            self._result = await answer if inspect.isawaitable(answer) else answer
        return self._result

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        result = await self._outcome()
        if self._closed:
            return
        if self._tty:  # a terminal has one output stream
            if result.stdout + result.stderr:
                yield 1, result.stdout + result.stderr
            return
        if result.stdout:
            yield 1, result.stdout
        if result.stderr:
            yield 2, result.stderr

    async def resize(self, *, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def wait(self) -> int:
        return (await self._outcome()).exit_code

    async def close(self) -> None:
        self._closed = True
        self._stdin_closed.set()
