"""HTTP/1.1 on a bare socket: a connection a test keeps, reuses and pipelines on, answer by answer.

Client libraries hide what the tests about load need to see: whether the server kept a connection
open after an error, and thousands of requests (watches, refused ones) without a library's cost per
request. `RawConnection` writes requests by hand and reads each answer's head, then its body when it
has a Content-Length (a watch's chunked stream is left unread: the test holds it open).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

WAIT = 10.0


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str = "127.0.0.1"
    sent: int = field(default=0)

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
        return cls(reader, writer)

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Queue one request (pipelining: answers come back in order)."""
        fields = {"Host": self.host, **(headers or {})}
        if body or method in ("POST", "PUT", "PATCH"):
            fields["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        self.sent += 1

    async def answer(self) -> RawAnswer:
        """The next answer: its head, and its body unless it streams (chunked)."""
        async with asyncio.timeout(WAIT):
            head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status_line, *lines = head.rstrip("\r\n").split("\r\n")
            headers = {name.strip().lower(): value.strip() for name, value in
                       (line.split(":", 1) for line in lines)}
            length = headers.get("content-length")
            body = await self.reader.readexactly(int(length)) if length else b""
            return RawAnswer(int(status_line.split(" ", 2)[1]), headers, body)

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> RawAnswer:
        self.send(method, path, body, headers)
        await self.writer.drain()
        return await self.answer()

    async def closed_by_server(self) -> bool:
        """True when the server has closed its side (a read returns end of file at once)."""
        try:
            return await asyncio.wait_for(self.reader.read(1), 0.5) == b""
        except TimeoutError:
            return False

    def close(self) -> None:
        self.writer.close()
