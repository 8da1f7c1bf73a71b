"""Typed errors for everything the apiserver can answer with.

The apiserver reports failures as Kubernetes `Status` objects carrying an HTTP `code` and a
machine-readable `reason`. Callers decide what to do by kind of failure (a reconciler requeues
on Conflict, ignores NotFound, re-lists on Gone), so each (code, reason) pair maps to one
exception class here, and no caller ever parses a Status by hand.
"""

from __future__ import annotations

import orjson

from minik8s.api.meta import JsonObject

# The reason Kubernetes puts in a Status for each code, used when a body carries none.
_DEFAULT_REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

_MAX_MESSAGE_CHARS = 1000


class ApiError(Exception):
    """A request the apiserver refused or could not serve; `status` is the Status object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        status: JsonObject | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.status: JsonObject = status if status is not None else build_status(code, reason, message)
        self.retry_after = retry_after

    @property
    def details(self) -> JsonObject:
        """The Status `details` (name, kind, causes, retryAfterSeconds), empty when absent."""
        details = self.status.get("details")
        return details if isinstance(details, dict) else {}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, reason={self.reason!r}, message={self.message!r})"


class BadRequest(ApiError):
    """400: the request itself is malformed."""


class Unauthorized(ApiError):
    """401: no or wrong credentials."""


class Forbidden(ApiError):
    """403: authenticated but not allowed."""


class NotFound(ApiError):
    """404: the object (or path) does not exist."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: a create named an object that exists."""


class Conflict(ApiError):
    """409 (any other reason): a write raced another; re-read and try again."""


class Gone(ApiError):
    """410 Expired/Gone: the resourceVersion asked for is older than the kept history; re-list."""


class Invalid(ApiError):
    """422: the object failed validation; `causes` says which fields."""

    @property
    def causes(self) -> list[JsonObject]:
        causes = self.details.get("causes")
        return [cause for cause in causes if isinstance(cause, dict)] if isinstance(causes, list) else []


class TooManyRequests(ApiError):
    """429: the server is shedding load; `retry_after` says when to come back."""


class InternalError(ApiError):
    """500: a server bug."""


class ServiceUnavailable(ApiError):
    """503: the server cannot serve now (no Raft leader, outcome unknown); try again or elsewhere."""


class ServerUnreachable(ApiError):
    """No apiserver answered at all (code 0: no HTTP status was ever received)."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "ServerUnreachable", message)


_CLASS_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    500: InternalError,
    503: ServiceUnavailable,
}


def build_status(code: int, reason: str, message: str) -> JsonObject:
    """A Failure Status object as the apiserver would send it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def error_class_for(code: int, reason: str) -> type[ApiError]:
    """The exception class for an HTTP code and Status reason."""
    if code == 409:
        return AlreadyExists if reason == "AlreadyExists" else Conflict
    return _CLASS_BY_CODE.get(code, ApiError)


def error_from_status(
    status: JsonObject, *, code: int | None = None, retry_after: float | None = None
) -> ApiError:
    """The typed error for a Status object (e.g. from a watch ERROR event)."""
    reason = str(status.get("reason") or "")
    status_code = status.get("code")
    if code is None:
        if isinstance(status_code, int) and status_code > 0:
            code = status_code
        elif reason in ("Expired", "Gone"):
            code = 410
        else:
            code = 500
    reason = reason or _DEFAULT_REASONS.get(code, "Unknown")
    message = str(status.get("message") or f"the server responded with HTTP {code} ({reason})")
    if retry_after is None:
        retry_after = _retry_after_in(status)
    error_class = error_class_for(code, reason)
    return error_class(code, reason, message, status, retry_after=retry_after)


def error_from_response(code: int, body: bytes, *, retry_after: float | None = None) -> ApiError:
    """The typed error for an HTTP answer; a body that is no Status still gives a sensible error."""
    status = _parse_status(body)
    if status is not None:
        return error_from_status(status, code=code, retry_after=retry_after)
    reason = _DEFAULT_REASONS.get(code, "Unknown")
    text = body.decode("utf-8", errors="replace").strip()
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS] + "…"
    message = text or f"the server responded with HTTP {code} ({reason})"
    return error_class_for(code, reason)(code, reason, message, retry_after=retry_after)


def _parse_status(body: bytes) -> JsonObject | None:
    """The Status object in a body, or None when the body is not one."""
    if not body:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    if parsed.get("kind") == "Status" or "reason" in parsed or "message" in parsed:
        return parsed
    return None


def _retry_after_in(status: JsonObject) -> float | None:
    details = status.get("details")
    if isinstance(details, dict):
        seconds = details.get("retryAfterSeconds")
        if isinstance(seconds, int | float) and seconds >= 0:
            return float(seconds)
    return None


class TlsFailure(ServerUnreachable):
    """The TLS handshake failed for a reason retrying cannot fix: the server's certificate is not
    trusted (wrong CA, wrong name) or the server refused this client's certificate."""
