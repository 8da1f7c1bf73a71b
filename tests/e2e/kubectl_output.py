"""Reading what the real kubectl prints: its column-aligned tables and its long-running output.

kubectl pads table columns with a tabwriter, so a cell starts where its header starts; headers such
as `NOMINATED NODE` contain single spaces while columns are at least three spaces apart. Commands
that never end by themselves (`get -w`, `logs -f`) run as subprocesses whose lines a background
thread collects, so a test can wait for one line with a deadline and then stop the command.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

_HEADER_CELL = re.compile(r"\S+(?: \S+)*")


def header_of(table: str) -> list[str]:
    """The column names of a printed table (its first line)."""
    return _HEADER_CELL.findall(table.splitlines()[0])


def parse_table(table: str) -> list[dict[str, str]]:
    """The rows of one printed table as {column name: cell}, cut at the header's column starts."""
    lines = [line for line in table.splitlines() if line.strip()]
    starts = [match.start() for match in _HEADER_CELL.finditer(lines[0])]
    names = _HEADER_CELL.findall(lines[0])
    bounds = [*starts[1:], None]
    return [{name: line[start:end].strip() for name, start, end in zip(names, starts, bounds, strict=True)}
            for line in lines[1:]]


def parse_tables(output: str) -> list[list[dict[str, str]]]:
    """Several tables one after another, separated by blank lines (`get all`, `get a,b`)."""
    blocks = [block for block in re.split(r"\n\s*\n", output) if block.strip()]
    return [parse_table(block) for block in blocks]


def column(rows: Sequence[dict[str, str]], name: str) -> list[str]:
    return [row[name] for row in rows]


class LineStream:
    """A kubectl command that keeps printing; lines are read until one matches, then it is stopped."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, what: str, matches: Callable[[str], bool], *, timeout: float = 30.0) -> str:
        """The first line (from now on) that matches; fails at the deadline or when the command ends."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"kubectl ended before printing {what}: {self.lines}")
            self.lines.append(line)
            if matches(line):
                return line
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {self.lines}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def __enter__(self) -> LineStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
