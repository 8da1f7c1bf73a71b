"""Every failure the apiserver answers with is a Kubernetes `Status` object, as clients expect.

A `StatusError` raised anywhere becomes its Status (with `Retry-After` when it carries one);
Starlette's own 404 and 405 become NotFound and MethodNotAllowed Statuses; anything else is
logged with its traceback and answered as an InternalError.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from minik8s.apiserver import errors
from minik8s.apiserver.routes import json_response

log = logging.getLogger(__name__)


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
