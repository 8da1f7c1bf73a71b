"""Warnings for the client, sent as `Warning: 299 - "text"` response headers (RFC 7234), as Kubernetes does.

The one channel every piece of the apiserver warns through (k8s.io/apiserver/pkg/warning): code
serving a request calls `add_warning(text)` — admission plugins through `AdmissionRequest.warn` —
and the text lands in the list of the innermost `collecting_warnings()` block. `WarningHeaders`, an
ASGI middleware around the whole app, runs each HTTP request in such a block and adds the headers
to its response, error responses included; kubectl prints each as `Warning: text`. As the
apiserver's recorder (endpoints/filters/warning.go): empty and repeated texts are dropped, and past
4096 characters in all, each warning is cut to 256 and no more are added. Outside a block
(bootstrap) warnings go nowhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOTAL_LIMIT = 4 * 1024
ITEM_LIMIT = 256

_recorder: ContextVar[list[str] | None] = ContextVar("minik8s_response_warnings", default=None)


def add_warning(text: str) -> None:
    """Warn the client of the current request (a no-op outside one); said once however often it is given."""
    recorded = _recorder.get()
    if recorded is not None and text and text not in recorded:
        recorded.append(text)


@contextlib.contextmanager
def collecting_warnings() -> Iterator[list[str]]:
    """The warnings given while the block runs (one request), in the order given."""
    recorded: list[str] = []
    token = _recorder.set(recorded)
    try:
        yield recorded
    finally:
        _recorder.reset(token)


def warning_header_values(texts: list[str]) -> list[str]:
    """The `Warning` header values for `texts`, truncated as Kubernetes truncates them."""
    if sum(len(text) for text in texts) <= TOTAL_LIMIT:
        return [_warning_header(text) for text in texts]
    values, written = [], 0
    for text in texts:
        if written >= TOTAL_LIMIT:
            break
        text = text[:ITEM_LIMIT]
        values.append(_warning_header(text))
        written += len(text)
    return values


def _warning_header(text: str) -> str:
    """`299 - "text"`: a quoted-string (backslash before `"` and `\\`), control characters as spaces."""
    quoted = "".join(" " if not char.isprintable() else f"\\{char}" if char in '"\\' else char for char in text)
    return f'299 - "{quoted}"'


class WarningHeaders:
    """Collects a request's warnings and sends them as headers of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with collecting_warnings() as recorded:

            async def send_with_warnings(message: Message) -> None:
                if message["type"] == "http.response.start" and recorded:
                    headers = [(b"warning", value.encode()) for value in warning_header_values(recorded)]
                    message = {**message, "headers": [*message.get("headers", []), *headers]}
                await send(message)

            await self.app(scope, receive, send_with_warnings)
