"""Long-lived Docker HTTP answers (logs, image pulls, exec) opened on the SDK's session.

The SDK's own helpers read TTY logs one byte at a time, cannot be cancelled while a pull
hangs, and hide the bytes the HTTP layer buffered right after an exec's protocol upgrade.
So these few endpoints are requested here directly, on the SDK client's `requests` session
(same socket, same API version), and read with `read1` so a chunk is whatever the engine has
sent so far. Everything here blocks: `DockerRuntime` calls it from a thread.

Closing a stream from another thread shuts its socket down, which is what wakes a thread
blocked in a read (closing the file descriptor alone does not, on Linux).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from minik8s.node.docker.wire import FrameDemultiplexer

logger = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")

_READ_BYTES = 65536


class ResponseError(Exception):
    """The engine answered a stream request with an HTTP error."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


class ResponseStream(Generic[ItemT]):
    """Items read from a streaming response; `close()` may come from any thread."""

    def __init__(self, items: Iterator[ItemT], response: Any) -> None:
        self._items = items
        self._response = response

    def __iter__(self) -> Iterator[ItemT]:
        return self._items

    def close(self) -> None:
        connection = response_socket(self._response)
        if connection is not None:
            with contextlib.suppress(OSError):  # already disconnected
                connection.shutdown(socket.SHUT_RDWR)
        self._response.close()


def api_url(api: Any, template: str, *parts: str) -> str:
    """The URL of an engine endpoint at the client's API version, path parts quoted."""
    path = template.format(*(quote(part, safe="") for part in parts))
    return f"{api.base_url}/v{api.api_version}{path}"


def response_socket(response: Any) -> socket.socket | None:
    """The socket under a `requests` streaming response (the SDK reaches it the same way)."""
    buffered = getattr(getattr(response.raw, "_fp", None), "fp", None)
    raw = getattr(buffered, "raw", None)
    connection = getattr(raw, "_sock", None)
    return connection if isinstance(connection, socket.socket) else None


def check_response(response: Any) -> None:
    """Raise ResponseError (and close the response) for a 4xx/5xx answer."""
    if response.status_code < 400:
        return
    try:
        message = str(response.json().get("message") or response.text)
    except ValueError:
        message = response.text
    finally:
        response.close()
    raise ResponseError(response.status_code, message.strip())


def _log_chunks(response: Any, *, tty: bool) -> Iterator[bytes]:
    demultiplexer = None if tty else FrameDemultiplexer()
    while True:
        chunk = response.raw.read1(_READ_BYTES)
        if not chunk:
            return
        if demultiplexer is None:
            yield chunk
            continue
        data = b"".join(payload for _, payload in demultiplexer.feed(chunk))
        if data:
            yield data


def open_log_stream(api: Any, container_id: str, *, tty: bool, parameters: Mapping[str, str | int]) -> ResponseStream[bytes]:
    """The container's log as raw byte chunks (stdout and stderr interleaved, frames removed)."""
    response = api.get(api_url(api, "/containers/{}/logs", container_id), params=dict(parameters), stream=True,
                       timeout=None)
    check_response(response)
    return ResponseStream(_log_chunks(response, tty=tty), response)


def _json_lines(response: Any) -> Iterator[dict[str, Any]]:
    buffer = b""
    while True:
        chunk = response.raw.read1(_READ_BYTES)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


def open_pull_stream(api: Any, repository: str, tag: str) -> ResponseStream[dict[str, Any]]:
    """`POST /images/create`: the pull's progress messages (an `error` key on failure)."""
    parameters = {"fromImage": repository}
    if tag.startswith("sha256:"):
        parameters["fromImage"] = f"{repository}@{tag}"
    else:
        parameters["tag"] = tag
    response = api.post(api_url(api, "/images/create"), params=parameters, stream=True, timeout=None)
    check_response(response)
    return ResponseStream(_json_lines(response), response)


def start_exec(api: Any, container_id: str, command: Sequence[str], *, stdin: bool,
               tty: bool) -> tuple[str, socket.socket, Any, bytes]:
    """Create and start an exec with the connection upgraded to a raw stream.

    Returns the exec id, the socket, the response (to close with it) and the output bytes
    the HTTP layer had already read past the headers, which the socket will not deliver again.
    """
    exec_id = str(api.exec_create(container_id, list(command), stdout=True, stderr=True, stdin=stdin, tty=tty)["Id"])
    response = api.post(api_url(api, "/exec/{}/start", exec_id), json={"Detach": False, "Tty": tty},
                        headers={"Connection": "Upgrade", "Upgrade": "tcp"}, stream=True)
    check_response(response)
    connection = response_socket(response)
    if connection is None or type(connection) is not socket.socket:
        response.close()
        raise ResponseError(0, "exec needs a plain (unix or tcp) connection to the engine, not TLS or ssh")
    connection.setblocking(False)
    buffered = response.raw._fp.fp
    try:
        initial_output = bytes(buffered.peek())  # what is buffered; b"" when nothing is
    except OSError:
        initial_output = b""
    return exec_id, connection, response, initial_output
