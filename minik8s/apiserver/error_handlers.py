"""Every failure the apiserver answers with is a Kubernetes `Status` object, as clients expect.

A `StatusError` raised anywhere becomes its Status (with `Retry-After` when it carries one);
Starlette's own 404 and 405 become NotFound and MethodNotAllowed Statuses; anything else is
logged with its traceback and answered as an InternalError — by `UnexpectedErrors`, because
Starlette's last-resort handler re-raises after answering and uvicorn then closes the client's
keep-alive connection: every 500 cost the client its connection. Only an error after a response
has started (a watch stream's) still closes it: nothing else can end half a response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from minik8s.apiserver import errors
from minik8s.apiserver.routes import json_response

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.StatusError, status_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


async def status_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, errors.StatusError)
    response = json_response(error.status(), error.code)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return response


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return await status_error(request, errors.path_not_found(request.url.path))
    if error.status_code == 405:
        return await status_error(request, errors.method_not_allowed(str(error.detail)))
    return await status_error(request, errors.StatusError(error.status_code, "BadRequest", str(error.detail)))


async def unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return await status_error(request, errors.internal(f"{type(error).__name__}: {error}"))


class UnexpectedErrors:
    """ASGI middleware: an exception nothing else handled is a 500 Status on a connection that stays open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception as error:
            if started:
                raise
            response = await unexpected(Request(scope), error)
            await response(scope, receive, send)
