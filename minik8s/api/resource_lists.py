"""Quantities as Kubernetes prints them, and the ResourceList arithmetic of quotas and limit ranges.

A quota's `status.used` is a sum of what pods request (`100m` + `250m` = `350m`), its errors print
`requested: pods=1, used: pods=2, limited: pods=2`, and LimitRanger's messages quote the limit it
enforces (`maximum cpu usage per Container is 1, but limit is 2`). Users compare those strings with
what they wrote, so they must be Kubernetes' own: `Quantity.String()` keeps the format the value was
written in (`Mi` stays binary, `m` and `k` decimal, `1e3` an exponent), picks the largest exact
suffix and never rounds; a sum keeps the format of its first non-zero term. `quantity.py` parses;
this module adds the formats and the helpers of apiserver's `quota/v1` package (Add, Mask,
LessThanOrEqual, ...) over `ResourceList` (resource name → Quantity).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from minik8s.api.quantity import parse_quantity

Format = Literal["DecimalSI", "BinarySI", "DecimalExponent"]
DECIMAL_SI: Format = "DecimalSI"
BINARY_SI: Format = "BinarySI"
DECIMAL_EXPONENT: Format = "DecimalExponent"

_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_BINARY_BY_POWER = {power: suffix for suffix, power in _BINARY_SUFFIXES.items()}
_DECIMAL_BY_EXPONENT = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_NANO = Decimal("1e-9")
_CONTEXT = decimal.Context(prec=80)
_MOST_DIGITS = 60


def _format_of(text: str) -> Format:
    """The format a written quantity asks for: binary suffix, exponent, or decimal SI."""
    stripped = text.strip()
    if stripped[-2:] in _BINARY_SUFFIXES:
        return BINARY_SI
    body = stripped.lstrip("+-")
    if any(letter in body for letter in "eE") and not body.endswith("E"):
        return DECIMAL_EXPONENT
    return DECIMAL_SI


@dataclass(frozen=True)
class Quantity:
    """An exact amount and the format Kubernetes prints it in."""

    value: Decimal
    format: Format = DECIMAL_SI

    @classmethod
    def parse(cls, raw: Any) -> Quantity:
        """A quantity as written in JSON (`"500m"`, `2`); ValueError when Kubernetes would refuse it.

        As Kubernetes, an amount finer than a nano-unit is rounded up to the next one. Amounts of more than
        60 digits are refused: no resource comes near, and exact arithmetic on them would need unbounded
        precision."""
        value = parse_quantity(raw)
        if value.is_finite() and value and value.adjusted() > _MOST_DIGITS:
            raise ValueError("quantity is too large")
        remainder = _CONTEXT.remainder(value, _NANO)
        rounded = value.quantize(_NANO, rounding=decimal.ROUND_CEILING, context=_CONTEXT) if remainder else value
        return cls(rounded, _format_of(raw) if isinstance(raw, str) else DECIMAL_SI)

    @classmethod
    def of(cls, number: int) -> Quantity:
        return cls(Decimal(number), DECIMAL_SI)

    def __str__(self) -> str:
        return canonical(self.value, self.format)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(_CONTEXT.add(self.value, other.value), self.format if self.value else other.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(_CONTEXT.subtract(self.value, other.value), self.format if self.value else other.format)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __gt__(self, other: Quantity) -> bool:
        return self.value > other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def __ge__(self, other: Quantity) -> bool:
        return self.value >= other.value

    def is_zero(self) -> bool:
        return self.value == 0


ZERO = Quantity(Decimal(0))


def canonical(value: Decimal, number_format: Format = DECIMAL_SI) -> str:
    """Kubernetes' `Quantity.String()`: `0`, `1500m`, `1k`, `128Mi`, `1536` (binary but not exact), `1e3`."""
    if value == 0:
        return "0"
    if number_format == BINARY_SI and (abs(value) < 1024 or value != value.to_integral_value()):
        number_format = DECIMAL_SI
    if number_format == BINARY_SI:
        amount, power = int(value), 0
        while amount % 1024 == 0 and power < 6:
            amount, power = amount // 1024, power + 1
        return f"{amount}{_BINARY_BY_POWER.get(power, '')}"
    mantissa, exponent = _decimal_parts(value)
    if number_format == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    suffix = _DECIMAL_BY_EXPONENT.get(exponent)
    return f"{mantissa}{suffix}" if suffix is not None else f"{mantissa}e{exponent}"


def _decimal_parts(value: Decimal) -> tuple[int, int]:
    """`value` = mantissa * 10^exponent, the exponent a multiple of 3 and as large as keeps the mantissa whole."""
    sign, digits, exponent = value.normalize(_CONTEXT).as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    shift = exponent % 3  # Python's modulo floors: -1 % 3 == 2, so the exponent only ever goes down
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    return (-mantissa if sign else mantissa), exponent


ResourceList = dict[str, Quantity]


def parse_list(raw: Any) -> ResourceList:
    """A JSON resource list (`{"cpu": "500m"}`) as Quantities; what does not parse is left out (validation reports it)."""
    parsed: ResourceList = {}
    for name, text in (raw.items() if isinstance(raw, Mapping) else ()):
        try:
            parsed[str(name)] = Quantity.parse(text)
        except ValueError:
            continue
    return parsed


def to_json(resources: Mapping[str, Quantity]) -> dict[str, str]:
    return {name: str(quantity) for name, quantity in resources.items()}


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    """quota.Add: every name of either list, summed where both have it."""
    total = dict(a)
    for name, quantity in b.items():
        total[name] = total[name] + quantity if name in total else quantity
    return total


def subtract(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    """quota.Subtract: a - b for every name of either list."""
    result = dict(a)
    for name, quantity in b.items():
        result[name] = result.get(name, ZERO) - quantity
    return result


def subtract_non_negative(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    """quota.SubtractWithNonNegativeResult: a - b, floored at zero."""
    return {name: quantity if quantity.value >= 0 else Quantity(Decimal(0), quantity.format)
            for name, quantity in subtract(a, b).items()}


def mask(resources: Mapping[str, Quantity], names: Iterable[str]) -> ResourceList:
    """quota.Mask: only the named resources."""
    wanted = set(names)
    return {name: quantity for name, quantity in resources.items() if name in wanted}


def less_than_or_equal(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> tuple[bool, list[str]]:
    """quota.LessThanOrEqual: whether every name of `a` that `b` bounds is within it, and those that are not."""
    exceeded = sorted(name for name, quantity in a.items() if name in b and quantity > b[name])
    return not exceeded, exceeded


def negative(resources: Mapping[str, Quantity]) -> list[str]:
    """quota.IsNegative: the names whose amount is below zero."""
    return sorted(name for name, quantity in resources.items() if quantity.value < 0)


def without_zeros(resources: Mapping[str, Quantity]) -> ResourceList:
    """quota.RemoveZeros."""
    return {name: quantity for name, quantity in resources.items() if not quantity.is_zero()}


def equal(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> bool:
    """quota.Equals: the same names with the same amounts (formats aside)."""
    return a.keys() == b.keys() and all(a[name].value == b[name].value for name in a)


def pretty(resources: Mapping[str, Quantity]) -> str:
    """prettyPrint of the quota admission errors: `name=value` sorted by name, joined by commas."""
    return ",".join(f"{name}={resources[name]}" for name in sorted(resources))
