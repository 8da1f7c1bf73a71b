"""Protobuf message bytes → the JSON-shaped dict kubectl would have sent, driven by a schema.

The rest of the apiserver (defaults, validation, storage) speaks only JSON dicts, so a
protobuf body is turned into exactly that dict: camelCase names, zero scalars dropped as
Go's `omitempty` drops them (unless the field is a pointer), `IntOrString`, `Quantity` and
`Time` in their JSON spellings. Unknown field numbers are skipped, as Go's decoder does.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from minik8s.api.meta import format_time
from minik8s.apiserver.protobuf.schema import MAP_TYPES, SCALAR_TYPES, Field, Message
from minik8s.apiserver.protobuf.wire import (
    LENGTH_DELIMITED,
    VARINT,
    ProtobufError,
    WireField,
    as_signed,
    iter_fields,
    iter_packed_varints,
)

_INT_STRING_TYPE = 1  # IntOrString.type: 0 is an int, 1 a string
_ZERO_SCALARS: tuple[Any, ...] = ("", 0, False)


def decode_message(data: bytes, schema: Message) -> dict[str, Any]:
    """Decode one message; raises ProtobufError when the bytes do not fit the schema."""
    result: dict[str, Any] = {}
    for wire_field in iter_fields(data):
        known = schema.fields.get(wire_field.number)
        if known is None:
            continue
        _store(result, known, _decode_field(wire_field, known, schema))
    return result


def _store(result: dict[str, Any], known: Field, values: list[Any]) -> None:
    """Put a field's decoded values into the result, honouring repeated, map and inline fields."""
    if known.value_type in MAP_TYPES:
        result.setdefault(known.name, {}).update(values[0])
    elif known.repeated:
        result.setdefault(known.name, []).extend(values)
    elif known.inline:
        result.update(values[-1])
    elif known.value_type == "message" and isinstance(result.get(known.name), dict):
        result[known.name].update(values[-1])  # a repeated occurrence of a message merges into it
    else:
        result[known.name] = values[-1]
    if not known.repeated and not known.inline and known.value_type not in MAP_TYPES:
        _drop_if_unset(result, known)


def _drop_if_unset(result: dict[str, Any], known: Field) -> None:
    """Go's omitempty: a zero scalar that is not a pointer, or a zero Time (null), is left out."""
    value = result[known.name]
    is_zero_scalar = (known.value_type in SCALAR_TYPES and not known.keep_zero
                      and any(value == zero and type(value) is type(zero) for zero in _ZERO_SCALARS))
    if value is None or is_zero_scalar:
        del result[known.name]


def _decode_field(wire_field: WireField, known: Field, parent: Message) -> list[Any]:
    """The field's value(s): a list, since one packed occurrence may hold several."""
    where = f"{parent.name}.{known.name} (field {wire_field.number})"
    value = wire_field.value
    if known.value_type in ("int32", "int64", "bool"):
        if isinstance(value, bytes) and known.repeated and wire_field.wire_type == LENGTH_DELIMITED:
            return [_number(item, known) for item in iter_packed_varints(value)]
        if wire_field.wire_type != VARINT or not isinstance(value, int):
            raise ProtobufError(f"{where}: expected a varint, got {wire_field.wire_type_name}")
        return [_number(value, known)]
    if wire_field.wire_type != LENGTH_DELIMITED or not isinstance(value, bytes):
        raise ProtobufError(f"{where}: expected length-delimited bytes, got {wire_field.wire_type_name}")
    return [_decode_bytes(value, known, where)]


def _number(value: int, known: Field) -> int | bool:
    if known.value_type == "bool":
        return value != 0
    return as_signed(value, bits=32 if known.value_type == "int32" else 64)


def _decode_bytes(value: bytes, known: Field, where: str) -> Any:
    kind = known.value_type
    if kind == "string":
        return _text(value, where)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "message":
        assert known.message is not None, f"{where}: a message field needs its schema"
        return decode_message(value, known.message)
    if kind == "int_or_string":
        return _int_or_string(value, where)
    if kind == "quantity":
        return _quantity(value, where)
    if kind == "time":
        return _time(value, where)
    return _map_entry(value, known, where)


def _text(value: bytes, where: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"{where}: a string that is not UTF-8") from None


def _scalars(value: bytes, where: str) -> dict[int, int | bytes]:
    """The last occurrence of each field of a small well-known message (IntOrString, Time, …)."""
    try:
        return {field.number: field.value for field in iter_fields(value)}
    except ProtobufError as error:
        raise ProtobufError(f"{where}: {error}") from None


def _int_or_string(value: bytes, where: str) -> int | str:
    fields = _scalars(value, where)
    kind, number, text = fields.get(1, 0), fields.get(2, 0), fields.get(3, b"")
    if not isinstance(kind, int) or not isinstance(number, int) or not isinstance(text, bytes):
        raise ProtobufError(f"{where}: a malformed IntOrString")
    if kind == _INT_STRING_TYPE:
        return _text(text, where)
    return as_signed(number, bits=32)


def _quantity(value: bytes, where: str) -> str:
    text = _scalars(value, where).get(1, b"")
    if not isinstance(text, bytes):
        raise ProtobufError(f"{where}: a malformed Quantity")
    return _text(text, where) or "0"


def _time(value: bytes, where: str) -> str | None:
    """RFC 3339 in UTC to the second, as metav1.Time writes JSON; an empty Time is Go's zero (null)."""
    if not value:
        return None
    seconds = _scalars(value, where).get(1, 0)
    if not isinstance(seconds, int):
        raise ProtobufError(f"{where}: a malformed Time")
    try:
        moment = datetime.fromtimestamp(as_signed(seconds, bits=64), UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"{where}: a Time out of range") from None
    return format_time(moment)


def _map_entry(value: bytes, known: Field, where: str) -> dict[str, Any]:
    """One map entry (key = field 1, value = field 2) as a one-item dict."""
    fields = _scalars(value, where)
    key, item = fields.get(1, b""), fields.get(2, b"")
    if not isinstance(key, bytes) or not isinstance(item, bytes):
        raise ProtobufError(f"{where}: a malformed map entry")
    if known.value_type == "string_map":
        return {_text(key, where): _text(item, where)}
    if known.value_type == "bytes_map":
        return {_text(key, where): base64.b64encode(item).decode("ascii")}
    return {_text(key, where): _quantity(item, where)}
