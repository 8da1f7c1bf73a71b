"""RFC 6902 JSON patch (`application/json-patch+json`), the patch `kubectl rollout undo` sends.

Operations address values with RFC 6901 JSON pointers (`/spec/template`, `~1` for `/`, `~0`
for `~`, `-` for the end of an array). Like Kubernetes (evanphx/json-patch), `replace` and
`remove` need the target to exist, `add` needs its parent to, and any failure is a 422.

`copy` is the one operation that grows a document by more than the patch's own bytes: forty
copies of the whole document into itself double it forty times. As Kubernetes
(`JSONPatchMaxCopyBytes`), the copies of one patch may add at most 3 MiB in all; and as moves
and copies can also nest the document deeper than anything stored may be, the result is
refused past `MAX_NESTING_DEPTH` (copies are made by orjson, which never recurses in Python).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from minik8s.apiserver.json_values import PatchError, clone_json, json_equal
from minik8s.apiserver.limits import MAX_DEPTH_MESSAGE, MAX_JSON_PATCH_COPY_BYTES, nesting_depth_exceeds

MAX_JSON_PATCH_OPERATIONS: Final = 10_000  # Kubernetes' limit; more is 413

_ARRAY_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE: Final = re.compile(r"~(?![01])")


def json_patch(target: Any, operations: Any) -> Any:
    """Apply the operations to a copy of `target`, in order, all or nothing."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(
            f"the allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, "
            f"got {len(operations)}",
            status_code=413,
        )
    document = clone_json(target)
    copies = CopyBudget()
    for operation in operations:
        document = _apply_operation(document, operation, copies)
    if nesting_depth_exceeds(document):
        raise PatchError(f"the patched object is nested too deeply: {MAX_DEPTH_MESSAGE}")
    return document


@dataclass
class CopyBudget:
    """The bytes one patch's copies have added so far (the JSON size of each copied value)."""

    copied: int = 0
    limit: int = MAX_JSON_PATCH_COPY_BYTES

    def copy(self, value: Any) -> Any:
        try:
            encoded = orjson.dumps(value)
        except orjson.JSONEncodeError:  # nested past what any stored object may be
            raise PatchError(f"the value to copy is nested too deeply: {MAX_DEPTH_MESSAGE}") from None
        self.copied += len(encoded)
        if self.copied > self.limit:
            raise PatchError(f"Unable to complete the copy, the accumulated size increase of copy is {self.copied}, "
                             f"exceeding the limit {self.limit}", status_code=422)
        return orjson.loads(encoded)


def _apply_operation(document: Any, operation: Any, copies: CopyBudget) -> Any:
    if not isinstance(operation, dict):
        raise PatchError(f"a JSON patch operation must be an object, got {operation!r}")
    op = operation.get("op")
    path = _parse_pointer(_member(operation, "path"))
    if op == "add":
        return _add(document, path, clone_json(_member(operation, "value")))
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        return _replace(document, path, clone_json(_member(operation, "value")))
    if op == "test":
        expected = _member(operation, "value")
        if not json_equal(_locate(document, path), expected):
            raise PatchError(
                f"test operation failed: the value at {operation['path']!r} is not {expected!r}",
                status_code=422,
            )
        return document
    if op in ("move", "copy"):
        source = _parse_pointer(_member(operation, "from"))
        if op == "copy":
            return _add(document, path, copies.copy(_locate(document, source)))
        if source == path:
            _locate(document, source)
            return document
        if path[: len(source)] == source:
            raise PatchError(f"cannot move {operation['from']!r} into itself", status_code=422)
        document, value = _remove(document, source)
        return _add(document, path, value)
    raise PatchError(f"unknown JSON patch operation {op!r}")


def _member(operation: dict[str, Any], name: str) -> Any:
    if name not in operation:
        raise PatchError(f"JSON patch operation {operation.get('op')!r} lacks {name!r}")
    value = operation[name]
    if name in ("path", "from") and not isinstance(value, str):
        raise PatchError(f"JSON patch {name!r} must be a string, got {value!r}")
    return value


def _parse_pointer(pointer: str) -> list[str]:
    """RFC 6901: "" is the whole document; otherwise "/"-separated, unescaped tokens."""
    if pointer == "":
        return []
    if not pointer.startswith("/") or _BAD_ESCAPE.search(pointer):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


def _locate(document: Any, tokens: list[str]) -> Any:
    value = document
    for depth, token in enumerate(tokens):
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list):
            value = value[_array_index(value, token, tokens[: depth + 1], allow_end=False)]
        else:
            raise PatchError(f"the path {_pointer(tokens[: depth + 1])!r} does not exist", status_code=422)
    return value


def _parent(document: Any, tokens: list[str]) -> dict[str, Any] | list[Any]:
    parent = _locate(document, tokens[:-1])
    if not isinstance(parent, dict | list):
        raise PatchError(f"the path {_pointer(tokens[:-1])!r} is not an object or array", status_code=422)
    return parent


def _array_index(array: list[Any], token: str, tokens: list[str], *, allow_end: bool) -> int:
    """The index `token` names in `array`; `-` and len(array) only where adding is meant."""
    if token == "-" and allow_end:
        return len(array)
    if not _ARRAY_INDEX.fullmatch(token):
        raise PatchError(f"the path {_pointer(tokens)!r} does not name an array index", status_code=422)
    index = int(token)
    if index > len(array) or (index == len(array) and not allow_end):
        raise PatchError(f"the array index in {_pointer(tokens)!r} is out of range", status_code=422)
    return index


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(document, tokens)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_array_index(parent, tokens[-1], tokens, allow_end=True), value)
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    """The document without the value at `tokens`, and that value."""
    if not tokens:
        raise PatchError("cannot remove the whole document", status_code=422)
    parent = _parent(document, tokens)
    if isinstance(parent, list):
        return document, parent.pop(_array_index(parent, tokens[-1], tokens, allow_end=False))
    if tokens[-1] not in parent:
        raise PatchError(f"the path {_pointer(tokens)!r} does not exist", status_code=422)
    return document, parent.pop(tokens[-1])


def _replace(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(document, tokens)
    if isinstance(parent, list):
        parent[_array_index(parent, tokens[-1], tokens, allow_end=False)] = value
    elif tokens[-1] in parent:
        parent[tokens[-1]] = value
    else:
        raise PatchError(f"the path {_pointer(tokens)!r} does not exist", status_code=422)
    return document
