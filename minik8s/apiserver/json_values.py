"""JSON values as every patch type sees them, and the one error all patch code raises.

JSON patch `test`, strategic-merge keys and primitive-list sets all compare values the way
JSON does (1 == 1.0, but true != 1), which Python's `==` does not; and no patch may change
the stored object it was given, so each works on a copy made here.
"""

from __future__ import annotations

from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied; `status_code` is the HTTP status the apiserver answers.

    400 BadRequest: the patch is malformed (bad JSON, bad pointer, unknown op or directive).
    422 Unprocessable: a well-formed patch does not apply to this object (a JSON-patch `test`
    fails, a path or index is missing, a list cannot be merged), as Kubernetes answers.
    404 NotFound: the object to patch does not exist. 413: too many JSON-patch operations.
    415 UnsupportedMediaType: not one of the four patch content types.
    """

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON defines it: numbers by value, booleans only equal to booleans."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(json_equal(value, right[key]) for key, value in left.items())
        )
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


def clone_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars only: faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {key: clone_json(child) for key, child in value.items()}
    if isinstance(value, list):
        return [clone_json(child) for child in value]
    return value
