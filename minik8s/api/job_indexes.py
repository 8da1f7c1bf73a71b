"""Sets of completion indexes in the text form Indexed Jobs use: `1,3-5,7`.

An Indexed Job reports `status.completedIndexes` and `status.failedIndexes` as ordered,
non-overlapping intervals, and a success policy names `succeededIndexes` the same way. Validation
(is the text well formed, below `completions`?) and the Job controller (which indexes are done,
which to start next) both read and write this form, so it lives in `api`.
"""

from __future__ import annotations

from collections.abc import Iterable


class IndexesError(ValueError):
    """Malformed indexes text; the message says where (Kubernetes' validateIndexesFormat wording)."""


def parse_indexes(text: str, completions: int) -> list[int]:
    """The indexes `text` names, in increasing order; IndexesError when malformed or >= `completions`."""
    found: list[int] = []
    previous = -1
    for part in text.split(",") if text else []:
        bounds = part.split("-")
        if len(bounds) > 2:
            raise IndexesError(f"too many parts separated by '-' in \"{part}\"")
        numbers = [_number(bound) for bound in bounds]
        for number in numbers:
            if number >= completions:
                raise IndexesError(f'too large index: "{number}"')
        if len(numbers) == 2 and numbers[0] >= numbers[1]:
            raise IndexesError(f'first index is larger than the second: "{part}"')
        if numbers[0] <= previous:
            raise IndexesError(f"non-increasing order, previous: {previous}, current: {numbers[0]}")
        found.extend(range(numbers[0], numbers[-1] + 1))
        previous = numbers[-1]
    return found


def lenient_indexes(text: str, completions: int) -> set[int]:
    """Every well-formed index below `completions` in `text`, skipping what does not parse
    (parseIndexesFromString: the controller must not stop on a status someone else wrote)."""
    found: set[int] = set()
    for part in text.split(",") if text else []:
        bounds = part.split("-")
        try:
            numbers = [int(bound) for bound in bounds]
        except ValueError:
            continue
        if len(numbers) in (1, 2) and all(number >= 0 for number in numbers):
            found.update(index for index in range(numbers[0], numbers[-1] + 1) if index < completions)
    return found


def format_indexes(indexes: Iterable[int]) -> str:
    """`[1, 3, 4, 5, 7, 8]` → `1,3-5,7,8` (three or more in a row as a range, as Kubernetes writes them)."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(index) for index in ordered[start:end + 1])
        start = end + 1
    return ",".join(parts)


def _number(text: str) -> int:
    if not text.isdigit():
        raise IndexesError(f'cannot convert string to integer for index: "{text}"')
    return int(text)
