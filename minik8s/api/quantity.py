"""Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) as exact decimals.

Requests, limits, capacity and allocatable are all quantities. The scheduler compares
them, the node agent turns limits into Docker CPU quota and memory limits, validation
checks requests against limits; all of them need the same parse and the same rounding
(Kubernetes rounds CPU up to whole millicores and memory up to whole bytes).
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE](?P<exponent>[+-]?\d+))?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_BY_SIZE = sorted(_BINARY.items(), key=lambda item: item[1], reverse=True)
_CONTEXT = decimal.Context(prec=80)
_MAX_EXPONENT = 1000

QuantityLike = str | int | float | Decimal

FORMAT_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse_quantity(text: QuantityLike) -> Decimal:
    """The exact value of a quantity; raise ValueError when Kubernetes would reject it."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r}: {FORMAT_MESSAGE}")
    if isinstance(text, Decimal | int):
        return Decimal(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise ValueError(f"{text!r}: {FORMAT_MESSAGE}")
        return Decimal(repr(text))
    if not isinstance(text, str):
        raise ValueError(f"{text!r}: {FORMAT_MESSAGE}")
    match = _QUANTITY.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r}: {FORMAT_MESSAGE}")
    number = Decimal(match["number"])
    if match["suffix"] in _BINARY:
        return _CONTEXT.multiply(number, Decimal(_BINARY[match["suffix"]]))
    exponent = _DECIMAL[match["suffix"]] if match["suffix"] else int(match["exponent"] or 0)
    if abs(exponent) > _MAX_EXPONENT:
        raise ValueError(f"{text!r}: quantity exponent out of range")
    return _CONTEXT.multiply(number, Decimal(1).scaleb(exponent))


def cpu_millis(quantity: QuantityLike) -> int:
    """Whole millicores, rounded up as Kubernetes does (`0.1` → 100, `1u` → 1)."""
    return _ceil(_CONTEXT.multiply(parse_quantity(quantity), Decimal(1000)))


def memory_bytes(quantity: QuantityLike) -> int:
    """Whole bytes, rounded up (`1Ki` → 1024, `1.5k` → 1500, `0.5` → 1)."""
    return _ceil(parse_quantity(quantity))


def format_cpu_millis(millis: int) -> str:
    """Canonical CPU text: whole cores when exact (`2`), else millicores (`250m`)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory_bytes(size: int) -> str:
    """Canonical memory text: the largest binary suffix that divides exactly (`1536Mi`)."""
    if size != 0:
        for suffix, factor in _BINARY_BY_SIZE:
            if size % factor == 0:
                return f"{size // factor}{suffix}"
    return str(size)


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=decimal.ROUND_CEILING))
