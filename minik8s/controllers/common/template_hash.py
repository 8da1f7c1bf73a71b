"""How a pod template becomes a short, name-safe hash: FNV-32a, then Kubernetes' SafeEncodeString.

A Deployment names its ReplicaSets `<name>-<pod-template-hash>` and a DaemonSet labels its pods
with a `controller-revision-hash`; both are the decimal FNV-32a of the template's serialised form,
each digit mapped into an alphabet without vowels (and without 0, 1, 3) so no hash spells a word.
What is serialised differs per controller; the two steps after that are these.
"""

from __future__ import annotations

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString: no vowels, no 0, 1, 3
_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of `data`."""
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each character mapped into an alphabet that cannot spell words."""
    return "".join(_SAFE_ALPHABET[ord(char) % len(_SAFE_ALPHABET)] for char in text)
