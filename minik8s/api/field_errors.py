"""Field-level validation errors, worded as Kubernetes words them.

A 422 `Invalid` Status lists `details.causes[]` of `{reason, message, field}`; kubectl
prints them as `spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
`FieldError` is one such cause, with constructors named after apimachinery's
`field.Required`, `field.Invalid`, ... that render the message the same way (including
how the offending value is shown). Also the small helpers to build field paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

REQUIRED: Final = "FieldValueRequired"
INVALID: Final = "FieldValueInvalid"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
DUPLICATE: Final = "FieldValueDuplicate"
FORBIDDEN: Final = "FieldValueForbidden"
TOO_LONG: Final = "FieldValueTooLong"
TYPE_INVALID: Final = "FieldValueTypeInvalid"
NOT_FOUND: Final = "FieldValueNotFound"

OMITTED: Final = object()
"""Pass as the value to leave it out of the message (e.g. secret data)."""


@dataclass(frozen=True)
class FieldError:
    """One cause of an Invalid error: `field` path, Kubernetes cause `reason`, `message` body."""

    field: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        return cls(field, REQUIRED, _append_detail("Required value", detail))

    @classmethod
    def invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        return cls(field, INVALID, _append_detail(_append_value("Invalid value", value), detail))

    @classmethod
    def type_invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        return cls(field, TYPE_INVALID, _append_detail(_append_value("Invalid value", value), detail))

    @classmethod
    def not_supported(cls, field: str, value: Any, supported: Iterable[str]) -> FieldError:
        quoted = ", ".join(render_value(option) for option in supported)
        detail = f"supported values: {quoted}" if quoted else ""
        return cls(field, NOT_SUPPORTED, _append_detail(_append_value("Unsupported value", value), detail))

    @classmethod
    def duplicate(cls, field: str, value: Any) -> FieldError:
        return cls(field, DUPLICATE, _append_value("Duplicate value", value))

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        return cls(field, FORBIDDEN, _append_detail("Forbidden", detail))

    @classmethod
    def too_long(cls, field: str, max_bytes: int) -> FieldError:
        return cls(field, TOO_LONG, f"Too long: must have at most {max_bytes} bytes")

    @classmethod
    def not_found(cls, field: str, value: Any) -> FieldError:
        return cls(field, NOT_FOUND, _append_value("Not found", value))


def render_value(value: Any) -> str:
    """Show a value as Kubernetes does in messages: strings quoted, numbers bare, objects as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)
    except ValueError:  # circular structure: never expected from JSON input
        return str(value)


def describe_invalid(kind_label: str, name: str, errors: Sequence[FieldError]) -> str:
    """The Status message of a 422: `Deployment.apps "web" is invalid: spec.replicas: ...`."""
    rendered = [str(error) for error in dict.fromkeys(errors)]
    body = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    return f'{kind_label} "{name}" is invalid: {body}'


def join_path(path: str, *names: str) -> str:
    """`spec` + `template`, `spec` → `spec.template.spec`; an empty path starts fresh."""
    for name in names:
        path = f"{path}.{name}" if path else name
    return path


def join_index(path: str, position: int) -> str:
    return f"{path}[{position}]"


def join_key(path: str, name: str) -> str:
    return f"{path}[{name}]"


def _append_value(label: str, value: Any) -> str:
    return label if value is OMITTED else f"{label}: {render_value(value)}"


def _append_detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body
