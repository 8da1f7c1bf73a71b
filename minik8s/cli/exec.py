"""`minik8s exec`: run a command in a container, over the apiserver's exec WebSocket.

Like kubectl 1.32, the CLI opens `pods/NAME/exec` as a WebSocket speaking `v5.channel.k8s.io`
(the apiserver checks the pod and bridges to the node agent): every binary frame starts with
its channel — 0 stdin, 1 stdout, 2 stderr, 3 the final status, 4 terminal size — and `[255, 0]`
closes stdin. With `-i` our stdin is forwarded until EOF; with `-t` the local terminal goes to
raw mode (restored on exit) and its size follows SIGWINCH. The command's exit code becomes
ours, with kubectl's `command terminated with exit code N`. The replicas are tried in turn
until one accepts the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import ssl
import stat
import sys
import termios
import tty
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import typer

from minik8s.api.kinds import PODS
from minik8s.api.meta import metadata_of
from minik8s.cli.api_calls import pick_container, pod_for
from minik8s.cli.errors import CliError
from minik8s.cli.flags import (
    KubeconfigOption,
    NamespaceOption,
    RequestTimeoutOption,
    ServerOption,
    connection_of,
)
from minik8s.cli.kubeconfig_context import Session, Target, resolve_target, run_verb
from minik8s.cli.resources import fail, parse_kind_name
from minik8s.client.errors import ServerUnreachable, TlsFailure, error_from_response
from minik8s.client.paths import object_path
from minik8s.client.tls import tls_failure_of

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

PROTOCOL = "v5.channel.k8s.io"
STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
CLOSE_STDIN = bytes([255, STDIN])
OPEN_TIMEOUT_SECONDS = 10.0


def register(app: typer.Typer) -> None:
    app.command("exec")(exec_command)


def exec_command(
    arguments: Annotated[list[str], typer.Argument(help="POD (or TYPE/NAME) -- COMMAND [ARGS...]")],
    container: Annotated[str | None, typer.Option("--container", "-c", help="the container",
                                                  show_default=False)] = None,
    stdin: Annotated[bool, typer.Option("--stdin", "-i", help="pass our stdin to the command")] = False,
    tty_mode: Annotated[bool, typer.Option("--tty", "-t", help="give the command a terminal")] = False,
    kubeconfig: KubeconfigOption = None,
    server: ServerOption = None,
    namespace: NamespaceOption = None,
    request_timeout: RequestTimeoutOption = None,
) -> int:
    """Execute a command in a container."""
    if len(arguments) < 2:
        raise fail("error: you must specify at least one command for the container")
    kind, name = parse_kind_name(arguments[:1], default_kind="pods", verb="exec")
    command = arguments[1:]
    connection = connection_of(kubeconfig, server, namespace, request_timeout)
    target = resolve_target(connection)

    async def action(session: Session) -> int:
        pod, _ = await pod_for(session.client, kind, name, namespace=session.namespace)
        pod_name = str(metadata_of(pod).get("name"))
        chosen, notice = pick_container(pod, container)
        if notice:
            typer.echo(notice, err=True)
        query: list[tuple[str, str]] = [("command", part) for part in command]
        query += [("stdout", "true"), ("stderr", "false" if tty_mode else "true")]
        query += [("stdin", "true")] if stdin else []
        query += [("tty", "true")] if tty_mode else []
        query += [("container", chosen)] if chosen else []
        path = f"{object_path(PODS, pod_name, namespace=session.namespace, subresource='exec')}?{urlencode(query)}"
        socket = await open_socket(session, path, target=target)
        with raw_terminal(tty_mode and stdin and sys.stdin.isatty()):
            code = await pump(socket, forward_stdin=stdin, tty_mode=tty_mode)
        if code:
            typer.echo(f"command terminated with exit code {code}", err=True)
        return code

    return run_verb(connection, action)


def websocket_url(server: str, path: str) -> str:
    parts = urlsplit(server)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path.split("?", 1)[0],
                       path.split("?", 1)[1] if "?" in path else "", ""))


async def open_socket(session: Session, path: str, *, target: Target) -> ClientConnection:
    """Connect to the first replica that accepts; a refusal with a Status is kubectl's error line.

    wss:// uses the kubeconfig's TLS context (CA, client certificate, tls-server-name) as every
    other request does; an untrusted server is a `TlsFailure` at once."""
    from websockets.asyncio.client import connect  # only exec needs it: keep other verbs' start fast
    from websockets.exceptions import InvalidHandshake, InvalidStatus
    from websockets.typing import Subprotocol

    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    last_error: Exception | None = None
    for server in session.servers:
        tls: dict[str, Any] = {}
        if server.startswith("https://"):
            tls = {"ssl": target.verify if isinstance(target.verify, ssl.SSLContext) else ssl.create_default_context()}
            if target.tls_server_name:
                tls["server_hostname"] = target.tls_server_name
        try:
            return await connect(websocket_url(server, path), subprotocols=[Subprotocol(PROTOCOL)],
                                 additional_headers=headers, max_size=None, compression=None, proxy=None,
                                 open_timeout=OPEN_TIMEOUT_SECONDS, **tls)
        except InvalidStatus as refusal:
            response = refusal.response
            if response.status_code == 503:
                last_error = refusal
                continue
            raise error_from_response(response.status_code, bytes(response.body or b"")) from None
        except (OSError, TimeoutError, InvalidHandshake) as error:
            problem = tls_failure_of(error)
            if problem is not None:
                raise TlsFailure(f"{problem} (server {server})") from None
            last_error = error
    raise ServerUnreachable(f"no apiserver accepted the exec connection (last error: ConnectError {last_error!r})")


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Put the terminal in raw mode for `-it`, and always put it back."""
    if not enabled:
        yield
        return
    descriptor = sys.stdin.fileno()
    saved = termios.tcgetattr(descriptor)
    try:
        tty.setraw(descriptor)
        yield
    finally:
        termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)


def exit_code_of(status: dict[str, Any]) -> int:
    """The exit code in a channel-3 status; a failure that is no exit code is an error line."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message"))
                except (TypeError, ValueError):
                    break
        return 1
    reason = status.get("reason")
    message = status.get("message") or "the command could not be run"
    raise CliError(f"Error from server ({reason}): {message}" if reason else f"error: {message}", verbatim=True)


async def pump(socket: ClientConnection, *, forward_stdin: bool, tty_mode: bool) -> int:
    """Move bytes between the socket and our stdio until the command's status arrives."""
    from websockets.exceptions import ConnectionClosed

    senders: list[asyncio.Task[None]] = []
    if forward_stdin:
        senders.append(asyncio.create_task(_send_stdin(socket)))
    if tty_mode:
        senders.append(asyncio.create_task(_send_sizes(socket)))
    code = 0
    try:
        async for message in socket:
            if isinstance(message, str) or not message:
                continue
            channel, data = message[0], message[1:]
            if channel in (STDOUT, STDERR):
                stream = sys.stdout.buffer if channel == STDOUT else sys.stderr.buffer
                stream.write(data)
                stream.flush()
            elif channel == STATUS:
                code = exit_code_of(json.loads(data))
                break
    except ConnectionClosed:
        pass
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        await socket.close()
    return code


async def _send_stdin(socket: ClientConnection) -> None:
    descriptor = sys.stdin.fileno()
    if stat.S_ISREG(os.fstat(descriptor).st_mode):  # a regular file cannot be polled: send it whole
        data = sys.stdin.buffer.read()
        if data:
            await socket.send(bytes([STDIN]) + data)
        await socket.send(CLOSE_STDIN)
        return
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    loop.add_reader(descriptor, lambda: chunks.put_nowait(os.read(descriptor, 65536)))
    try:
        while chunk := await chunks.get():
            await socket.send(bytes([STDIN]) + chunk)
        await socket.send(CLOSE_STDIN)
    finally:
        loop.remove_reader(descriptor)


async def _send_sizes(socket: ClientConnection) -> None:
    changed = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGWINCH, changed.set)
    while True:
        size = shutil.get_terminal_size()
        await socket.send(bytes([RESIZE]) + json.dumps({"Width": size.columns, "Height": size.lines}).encode())
        await changed.wait()
        changed.clear()

