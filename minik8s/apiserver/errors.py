"""Kubernetes `Status` errors: the only way the apiserver reports a failure.

Handlers raise `StatusError`; the app turns it into the exact JSON Kubernetes clients parse
(`kind: Status`, `reason`, `code`, `details.causes[].field`), so kubectl prints its usual
`Error from server (NotFound): ...` lines.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.registry import ResourceKind


class StatusError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(resource: ResourceKind, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource.plural}
    if resource.group:
        details["group"] = resource.group
    return details


def not_found(resource: ResourceKind, name: str) -> StatusError:
    return StatusError(
        404, "NotFound", f'{resource.group_resource} "{name}" not found', details=_details(resource, name)
    )


def already_exists(resource: ResourceKind, name: str) -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{resource.group_resource} "{name}" already exists',
        details=_details(resource, name),
    )


def conflict(resource: ResourceKind, name: str, why: str) -> StatusError:
    return StatusError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {resource.group_resource} "{name}": {why}',
        details=_details(resource, name),
    )


def stale_conflict(resource: ResourceKind, name: str) -> StatusError:
    return conflict(
        resource, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def invalid(resource: ResourceKind, name: str, causes: list[dict[str, str]]) -> StatusError:
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    details = _details(resource, name)
    details["kind"] = resource.kind
    details["causes"] = causes
    return StatusError(
        422, "Invalid", f'{resource.kind} "{name}" is invalid: {summary}', details=details
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed(message: str) -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def forbidden(resource: ResourceKind, name: str, why: str) -> StatusError:
    return StatusError(
        403, "Forbidden", f'{resource.group_resource} "{name}" is forbidden: {why}',
        details=_details(resource, name),
    )


def path_not_found(path: str) -> StatusError:
    return StatusError(404, "NotFound", f"the server could not find the requested resource ({path})",
                       details={"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unavailable(message: str, retry_after: float = 1.0) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message, retry_after=retry_after)


def too_many_requests(message: str) -> StatusError:
    return StatusError(429, "TooManyRequests", message, retry_after=1.0)


def too_large(message: str) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")
