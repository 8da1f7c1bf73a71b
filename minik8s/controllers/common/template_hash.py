"""How a pod template becomes a short, name-safe hash: FNV-32a, then Kubernetes' SafeEncodeString.

A Deployment names its ReplicaSets `<name>-<pod-template-hash>` and a DaemonSet labels its pods
with a `controller-revision-hash`; both are the decimal FNV-32a of the template's serialised form,
each digit mapped into an alphabet without vowels (and without 0, 1, 3) so no hash spells a word.
What is serialised differs per controller; the two steps after that are these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString: no vowels, no 0, 1, 3
_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193


def normalised(value: Any, *, drop_null_items: bool = True) -> Any:
    """Drop nulls, empty maps and empty lists, recursively (so `{a: {b: null}}` becomes absent), so
    equivalent templates serialise identically. Nulls inside lists go too unless `drop_null_items`
    is False — the DaemonSet hash has always kept them, and changing it would relabel running pods."""
    if isinstance(value, Mapping):
        kept = {str(k): normalised(v, drop_null_items=drop_null_items) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        items = [normalised(item, drop_null_items=drop_null_items) for item in value]
        return [item for item in items if item is not None] if drop_null_items else items
    return value


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of `data`."""
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each character mapped into an alphabet that cannot spell words."""
    return "".join(_SAFE_ALPHABET[ord(char) % len(_SAFE_ALPHABET)] for char in text)
