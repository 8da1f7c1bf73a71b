"""Query parameter values read as Kubernetes reads them, with the errors it gives.

kube-apiserver decodes `?limit=`, `?timeoutSeconds=`, `?gracePeriodSeconds=` with Go's
strconv.ParseInt (int64), `?resourceVersion=` with strconv.ParseUint, and booleans such as
`?watch=` by its own rule (only absent, "0" and "false" in any case are false). A value those
refuse is the caller's 400 with Go's message — `strconv.ParseInt: parsing "x": invalid syntax` —
which clients and scripts match on; Python's int() would accept `" 12"`, `"1_000"` or `"١٢"`.
Pure functions raising ValueError, and `int64_param`, which answers the caller's 400 itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from minik8s.apiserver import errors

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")
_FALSE = "false"


def go_quote(text: str) -> str:
    """A string as Go's %q shows it (close enough: JSON quoting, non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)


def parse_int64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64)."""
    if _SIGNED.fullmatch(text) is None:
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


def int64_param(params: Mapping[str, str], name: str) -> int | None:
    """An int64 query parameter (`limit`, `timeoutSeconds`, `gracePeriodSeconds`); 400 with Go's words
    when it is none."""
    text = params.get(name)
    if text is None:
        return None
    try:
        return parse_int64(text)
    except ValueError as error:
        raise errors.bad_request(str(error)) from None


def parse_uint64(text: str) -> int:
    """strconv.ParseUint(text, 10, 64)."""
    if _UNSIGNED.fullmatch(text) is None:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if value > UINT64_MAX:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: value out of range")
    return value


def parse_flag(text: str | None) -> bool:
    """A boolean query parameter as Kubernetes converts one: absent, "0" or "false" (any case) is false,
    anything else (even empty) true."""
    if text is None:
        return False
    return not (text == "0" or text.lower() == _FALSE)


def parse_resource_version(text: str | None) -> int:
    """A resourceVersion to read at or after: 0 for none ("" and "0" mean any), else a uint64 —
    worded as the apiserver's storage versioner words its refusal."""
    if not text or text == "0":
        return 0
    try:
        return parse_uint64(text)
    except ValueError as error:
        raise ValueError(f"resourceVersion: Invalid value: {go_quote(text)}: {error}") from None
