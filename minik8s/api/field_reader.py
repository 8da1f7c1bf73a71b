"""Safe, typed reads of JSON objects for the validators.

Objects arrive as plain JSON from any client, so any field may hold the wrong type
(`"replicas": "three"`). Kubernetes rejects those while decoding; here validation must
do it, and must never crash on them (a crash would be a 500). `FieldReader` hands each
validator values of the type it expects, records a `FieldValueTypeInvalid` error for
every misfit, and collects all other errors the validators add.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_index, join_path

_EMPTY: Mapping[str, Any] = {}


class FieldReader:
    """Collects the errors of one validation while reading fields of unknown shape."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, *errors: FieldError) -> None:
        self.errors.extend(errors)

    def extend(self, errors: Iterable[FieldError]) -> None:
        self.errors.extend(errors)

    def mapping(self, obj: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
        """`obj[name]` as an object; {} when absent or null."""
        value = obj.get(name)
        if value is None:
            return _EMPTY
        if not isinstance(value, Mapping):
            self._report_mistyped(join_path(path, name), value, "object")
            return _EMPTY
        return value

    def optional_mapping(self, obj: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any] | None:
        return self.mapping(obj, name, path) if obj.get(name) is not None else None

    def items(self, obj: Mapping[str, Any], name: str, path: str) -> list[Any]:
        """`obj[name]` as a list; [] when absent or null."""
        value = obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self._report_mistyped(join_path(path, name), value, "array")
            return []
        return value

    def objects(self, obj: Mapping[str, Any], name: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
        """The object elements of list `obj[name]`, each with its path (`spec.containers[0]`)."""
        found = []
        list_path = join_path(path, name)
        for position, item in enumerate(self.items(obj, name, path)):
            if isinstance(item, Mapping):
                found.append((join_index(list_path, position), item))
            else:
                self._report_mistyped(join_index(list_path, position), item, "object")
        return found

    def string(self, obj: Mapping[str, Any], name: str, path: str) -> str:
        """`obj[name]` as a string; "" when absent or null."""
        value = self.optional_string(obj, name, path)
        return "" if value is None else value

    def optional_string(self, obj: Mapping[str, Any], name: str, path: str) -> str | None:
        value = obj.get(name)
        if value is None or isinstance(value, str):
            return value
        self._report_mistyped(join_path(path, name), value, "string")
        return None

    def integer(self, obj: Mapping[str, Any], name: str, path: str) -> int | None:
        """`obj[name]` as an integer (never a bool or a float); None when absent."""
        value = obj.get(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self._report_mistyped(join_path(path, name), value, "integer")
        return None

    def boolean(self, obj: Mapping[str, Any], name: str, path: str) -> bool | None:
        value = obj.get(name)
        if value is None or isinstance(value, bool):
            return value
        self._report_mistyped(join_path(path, name), value, "boolean")
        return None

    def int_or_string(self, obj: Mapping[str, Any], name: str, path: str) -> int | str | None:
        value = obj.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self._report_mistyped(join_path(path, name), value, "integer or string")
        return None

    def string_map(self, obj: Mapping[str, Any], name: str, path: str) -> dict[str, str]:
        """`obj[name]` as a map of strings to strings; entries of other types are reported."""
        found: dict[str, str] = {}
        map_path = join_path(path, name)
        for entry_key, entry_value in self.mapping(obj, name, path).items():
            if isinstance(entry_value, str):
                found[str(entry_key)] = entry_value
            else:
                self._report_mistyped(f"{map_path}[{entry_key}]", entry_value, "string")
        return found

    def strings(self, obj: Mapping[str, Any], name: str, path: str) -> list[tuple[str, str]]:
        """The string elements of list `obj[name]`, each with its path."""
        found = []
        list_path = join_path(path, name)
        for position, item in enumerate(self.items(obj, name, path)):
            if isinstance(item, str):
                found.append((join_index(list_path, position), item))
            else:
                self._report_mistyped(join_index(list_path, position), item, "string")
        return found

    def _report_mistyped(self, field: str, value: Any, expected: str) -> None:
        self.errors.append(FieldError.type_invalid(field, value, f"must be of type {expected}"))


def drop_nulls(value: Any) -> Any:
    """`value` with null members dropped at every depth (JSON null and absent mean the same)."""
    if isinstance(value, Mapping):
        return {name: drop_nulls(item) for name, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value
