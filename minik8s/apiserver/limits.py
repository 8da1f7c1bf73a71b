"""The sizes every request body and stored object must fit, and the one walk that measures nesting.

Kubernetes reads at most 3 MiB of a request body (`limitedReadBody`, 413 past it) and its store
takes objects up to etcd's 1.5 MiB request limit. Deep nesting costs more than its bytes: orjson
decodes 1,024 levels but encodes only 254, and Python's YAML composer recurses once per level, so
an unbounded depth is a 500 waiting to happen. Every real object is a few dozen levels deep at
most (a Deployment's pod template affinity terms are the deepest, about 15); 100 is a cap every real
object fits, far below what either encoder or Python's recursion limit refuses, and it is checked
on the way in (request bodies and patches) and on the way to the store, so decoding and encoding
agree and nothing stored can fail to encode.
"""

from __future__ import annotations

from typing import Any, Final

MAX_REQUEST_BODY_BYTES: Final = 3 * 1024 * 1024  # Kubernetes' MaxRequestBodyBytes
MAX_OBJECT_BYTES: Final = 1536 * 1024  # etcd's default --max-request-bytes (1.5 MiB)
MAX_NESTING_DEPTH: Final = 100
MAX_JSON_PATCH_COPY_BYTES: Final = 3 * 1024 * 1024  # Kubernetes' JSONPatchMaxCopyBytes
MAX_DEPTH_MESSAGE: Final = f"exceeded max depth of {MAX_NESTING_DEPTH}"


def nesting_depth_exceeds(value: Any, limit: int = MAX_NESTING_DEPTH) -> bool:
    """True when `value` has more than `limit` levels of objects and arrays (a scalar has none).

    Iterative, so a value nested far deeper than Python's recursion limit is measured too, and it
    stops at the first container past the limit.
    """
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        container, depth = pending.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def too_large_message(what: str, size: int, limit: int) -> str:
    """Kubernetes' 413 wording (`NewRequestEntityTooLargeError`), saying what was too large."""
    return f"Request entity too large: {what} is {size} bytes, limit is {limit}"
