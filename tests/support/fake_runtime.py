"""A scriptable container runtime for the tests of what drives one: the node server, probes.

It implements only `logs` and `exec` (the product's simulated runtime, `minik8s.node.fake.runtime`,
is the one to use for whole pods). Log lines are per container id and can be appended while a
client follows them; an exec session runs a tiny scripted "program" chosen by the command's first
word, reading stdin and resizes and writing to stdout or stderr like a process would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from minik8s.node.runtime import LogOptions, RuntimeFailure

Program = Callable[["FakeExecSession"], Awaitable[int]]


class FakeExecSession:
    """A scripted process: `program(session)` reads stdin and writes output, returning the exit code."""

    def __init__(self, program: Program, command: Sequence[str]) -> None:
        self.command = list(command)
        self.stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.outputs: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.resizes: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.task = asyncio.create_task(self._run(program))

    async def _run(self, program: Program) -> int:
        try:
            return await program(self)
        finally:
            self.outputs.put_nowait(None)

    def write(self, stream: int, data: bytes) -> None:
        self.outputs.put_nowait((stream, data))

    async def write_stdin(self, data: bytes) -> None:
        self.stdin.put_nowait(data)

    async def close_stdin(self) -> None:
        self.stdin.put_nowait(None)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self.outputs.get()) is not None:
            yield item

    async def resize(self, *, width: int, height: int) -> None:
        self.resizes.put_nowait((width, height))

    async def wait(self) -> int:
        return await self.task

    async def close(self) -> None:
        self.task.cancel()
        self.closed.set()


async def echo(session: FakeExecSession) -> int:
    session.write(1, (" ".join(session.command[1:]) + "\n").encode())
    return 0


async def cat(session: FakeExecSession) -> int:
    while (data := await session.stdin.get()) is not None:
        session.write(1, data)
    return 0


async def fail(session: FakeExecSession) -> int:
    session.write(1, b"out\n")
    session.write(2, b"err\n")
    return 3


async def size(session: FakeExecSession) -> int:
    width, height = await session.resizes.get()
    session.write(1, f"{width}x{height}\n".encode())
    return 0


async def sleep(session: FakeExecSession) -> int:
    await asyncio.Event().wait()
    return 0


def exits_with(code: int, output: bytes = b"") -> Program:
    """A program that writes `output` (its first 6 bytes to stdout, the rest to stderr) and exits with `code`."""
    async def program(session: FakeExecSession) -> int:
        session.write(1, output[:6])
        session.write(2, output[6:])
        return code
    return program


PROGRAMS: dict[str, Program] = {
    "echo": echo, "cat": cat, "fail": fail, "size": size, "sleep": sleep,
}


@dataclass
class FakeRuntime:
    """Log lines per container id (appendable while followed) and scripted exec programs.

    `exec` runs the program named by the command's first word (`PROGRAMS` unless the test gives its
    own), records every call in `exec_calls`, and raises `exec_error` instead when one is set.
    """

    programs: dict[str, Program] = field(default_factory=lambda: dict(PROGRAMS))
    exec_error: RuntimeFailure | None = None
    exec_calls: list[tuple[str, list[str], bool, bool]] = field(default_factory=list)
    lines: dict[str, list[bytes]] = field(default_factory=dict)
    log_calls: list[tuple[str, LogOptions]] = field(default_factory=list)
    sessions: list[FakeExecSession] = field(default_factory=list)
    followers: int = 0
    appended: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, container_id: str, line: bytes) -> None:
        self.lines.setdefault(container_id, []).append(line)
        self.appended.set()

    async def logs(self, container_id: str, options: LogOptions) -> AsyncIterator[bytes]:
        self.log_calls.append((container_id, options))
        if container_id not in self.lines:
            raise RuntimeFailure(f"no such container: {container_id}")
        lines = self.lines[container_id]
        sent = max(0, len(lines) - options.tail_lines) if options.tail_lines is not None else 0
        self.followers += options.follow
        try:
            while True:
                for line in lines[sent:]:
                    yield line
                sent = len(lines)
                if not options.follow:
                    return
                self.appended.clear()
                await self.appended.wait()
        finally:
            self.followers -= options.follow

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool, tty: bool) -> FakeExecSession:
        self.exec_calls.append((container_id, list(command), stdin, tty))
        if self.exec_error is not None:
            raise self.exec_error
        if command[0] not in self.programs:
            raise RuntimeFailure(f'exec: "{command[0]}": executable file not found in $PATH')
        session = FakeExecSession(self.programs[command[0]], command)
        self.sessions.append(session)
        return session
