"""Status answers become the typed errors callers branch on."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from minik8s.client import errors
from minik8s.client.errors import error_from_response, error_from_status


def status_body(code: int, reason: str, message: str = "boom", **extra: Any) -> bytes:
    return orjson.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "code": code, "reason": reason, "message": message, **extra})


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", errors.BadRequest),
        (401, "Unauthorized", errors.Unauthorized),
        (403, "Forbidden", errors.Forbidden),
        (404, "NotFound", errors.NotFound),
        (409, "AlreadyExists", errors.AlreadyExists),
        (409, "Conflict", errors.Conflict),
        (410, "Expired", errors.Gone),
        (410, "Gone", errors.Gone),
        (422, "Invalid", errors.Invalid),
        (429, "TooManyRequests", errors.TooManyRequests),
        (500, "InternalError", errors.InternalError),
        (503, "ServiceUnavailable", errors.ServiceUnavailable),
        (413, "RequestEntityTooLarge", errors.ApiError),
    ],
)
def test_status_maps_to_its_class(code: int, reason: str, expected: type[errors.ApiError]) -> None:
    error = error_from_response(code, status_body(code, reason, 'pods "x" not found'))
    assert type(error) is expected
    assert (error.code, error.reason, error.message) == (code, reason, 'pods "x" not found')
    assert error.status["kind"] == "Status"
    assert str(error) == 'pods "x" not found'


def test_already_exists_is_not_a_conflict() -> None:
    """Controllers retry Conflict at once; an AlreadyExists must not spin that way."""
    error = error_from_response(409, status_body(409, "AlreadyExists"))
    assert not isinstance(error, errors.Conflict)


@pytest.mark.parametrize(
    ("code", "body", "expected", "reason", "message"),
    [
        (404, b"404 page not found", errors.NotFound, "NotFound", "404 page not found"),
        (502, b"", errors.ApiError, "Unknown", "the server responded with HTTP 502 (Unknown)"),
        (500, b"[1, 2]", errors.InternalError, "InternalError", "[1, 2]"),
        (409, b"{}", errors.Conflict, "Conflict", "{}"),
    ],
)
def test_a_body_that_is_no_status_still_gives_a_sensible_error(
    code: int, body: bytes, expected: type[errors.ApiError], reason: str, message: str
) -> None:
    error = error_from_response(code, body)
    assert type(error) is expected
    assert (error.code, error.reason, error.message) == (code, reason, message)
    assert error.status["code"] == code


def test_invalid_exposes_its_causes() -> None:
    cause = {"reason": "FieldValueInvalid", "message": "must be >= 0", "field": "spec.replicas"}
    error = error_from_response(422, status_body(422, "Invalid", details={"causes": [cause]}))
    assert isinstance(error, errors.Invalid)
    assert error.causes == [cause]


@pytest.mark.parametrize(
    ("header", "details", "expected"),
    [(2.0, None, 2.0), (None, {"retryAfterSeconds": 3}, 3.0), (None, None, None)],
)
def test_service_unavailable_carries_retry_after(
    header: float | None, details: dict[str, int] | None, expected: float | None
) -> None:
    body = status_body(503, "ServiceUnavailable", details=details) if details else status_body(503, "ServiceUnavailable")
    error = error_from_response(503, body, retry_after=header)
    assert isinstance(error, errors.ServiceUnavailable)
    assert error.retry_after == expected


def test_watch_error_status_without_http_code() -> None:
    gone = error_from_status({"kind": "Status", "status": "Failure", "reason": "Expired",
                              "message": "too old resource version: 1 (5)"})
    assert isinstance(gone, errors.Gone)
    assert gone.code == 410
    assert isinstance(error_from_status({"code": 410, "reason": "Gone", "message": "x"}), errors.Gone)


def test_server_unreachable_is_an_api_error() -> None:
    error = errors.ServerUnreachable("no apiserver answered")
    assert isinstance(error, errors.ApiError)
    assert (error.code, error.reason) == (0, "ServerUnreachable")
