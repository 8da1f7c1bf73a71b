"""The declarative shape of a protobuf message: field number → JSON name and value type.

The tables in `meta_schema`, `core_schema` and `apps_schema` are written with the small
constructors here, so each reads like the upstream `generated.proto` it mirrors; the
decoder walks them. Field numbers come from Kubernetes' generated.proto files.

Go's generated marshaller writes every non-pointer scalar, even when it is zero, while the
JSON kubectl would send omits it (`omitempty`); pointer fields (`replicas *int32`) are
written only when set, and then a zero is meaningful. `keep_zero` marks those pointers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ValueType = Literal[
    "string", "int32", "int64", "bool", "bytes", "message",
    "int_or_string", "quantity", "time",
    "string_map", "bytes_map", "quantity_map",
]

SCALAR_TYPES: frozenset[ValueType] = frozenset({"string", "int32", "int64", "bool", "bytes"})
MAP_TYPES: frozenset[ValueType] = frozenset({"string_map", "bytes_map", "quantity_map"})


@dataclass(frozen=True)
class Field:
    """One field of a message as kubectl's JSON would name and type it."""

    name: str
    value_type: ValueType
    message: Message | None = None
    repeated: bool = False
    keep_zero: bool = False  # a Go pointer (or a field without omitempty): a present zero is kept
    inline: bool = False  # an embedded Go struct: its fields merge into the parent's JSON object


@dataclass(frozen=True)
class Message:
    """A message: its proto name (for error messages) and its known fields by number."""

    name: str
    fields: dict[int, Field] = field(default_factory=dict)


def message(name: str, fields: dict[int, Field] | None = None) -> Message:
    return Message(name, dict(fields or {}))


def string(name: str, *, repeated: bool = False, keep_zero: bool = False) -> Field:
    return Field(name, "string", repeated=repeated, keep_zero=keep_zero)


def int32(name: str, *, repeated: bool = False, keep_zero: bool = False) -> Field:
    return Field(name, "int32", repeated=repeated, keep_zero=keep_zero)


def int64(name: str, *, repeated: bool = False, keep_zero: bool = False) -> Field:
    return Field(name, "int64", repeated=repeated, keep_zero=keep_zero)


def boolean(name: str, *, keep_zero: bool = False) -> Field:
    return Field(name, "bool", keep_zero=keep_zero)


def nested(name: str, of: Message, *, repeated: bool = False, inline: bool = False) -> Field:
    return Field(name, "message", message=of, repeated=repeated, inline=inline)


def string_map(name: str) -> Field:
    return Field(name, "string_map")


def bytes_map(name: str) -> Field:
    """map<string, bytes>: values become base64 strings, as Go's JSON writes []byte."""
    return Field(name, "bytes_map")


def quantity_map(name: str) -> Field:
    return Field(name, "quantity_map")


def int_or_string(name: str) -> Field:
    return Field(name, "int_or_string")


def quantity(name: str) -> Field:
    return Field(name, "quantity")


def time(name: str) -> Field:
    return Field(name, "time")
