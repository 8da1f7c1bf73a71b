"""Quantities print as Kubernetes prints them, and quota arithmetic keeps the format of what was written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from minik8s.api.resource_lists import (
    Quantity,
    add,
    canonical,
    less_than_or_equal,
    mask,
    negative,
    parse_list,
    pretty,
    subtract_non_negative,
    to_json,
    without_zeros,
)


@pytest.mark.parametrize(("written", "printed"), [
    ("0", "0"), ("0m", "0"), ("1", "1"), ("1000", "1k"), ("1500", "1500"), ("1000m", "1"), ("0.5", "500m"),
    ("1.5", "1500m"), ("100m", "100m"), ("0.1234", "123400u"), ("2k", "2k"), ("1M", "1M"), ("12e6", "12e6"),
    ("1e3", "1e3"), ("1E3", "1e3"), ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"), ("1Ki", "1Ki"),
    ("512", "512"), ("0.5Ki", "512"), ("1536", "1536"), ("1.1m", "1100u"), ("0.0000000001", "1n"), ("-2", "-2"),
])  # fmt: skip
def test_a_quantity_prints_as_kubernetes_quantity_string(written: str, printed: str) -> None:
    assert str(Quantity.parse(written)) == printed


def test_numbers_from_json_are_decimal_and_huge_exponents_print_as_exponents() -> None:
    assert str(Quantity.parse(3)) == "3"
    assert str(Quantity.parse(0.25)) == "250m"
    assert canonical(Decimal("1e21")) == "1e21"


def test_a_sum_keeps_the_format_of_its_first_nonzero_term() -> None:
    assert str(Quantity.parse("0") + Quantity.parse("128Mi")) == "128Mi"
    assert str(Quantity.parse("128Mi") + Quantity.parse("100M")) == "234217728"
    assert str(Quantity.parse("100m") + Quantity.parse("250m")) == "350m"
    assert str(Quantity.parse("250m") + Quantity.parse("750m")) == "1"


def test_resource_list_helpers_follow_quota_v1() -> None:
    used, requested = parse_list({"pods": "2", "requests.cpu": "1"}), parse_list({"pods": "1", "cpu": "x"})
    assert to_json(add(used, requested)) == {"pods": "3", "requests.cpu": "1"}  # what does not parse is left out
    assert to_json(subtract_non_negative(requested, used)) == {"pods": "0", "requests.cpu": "0"}
    assert less_than_or_equal(add(used, requested), parse_list({"pods": "2", "memory": "1"})) == (False, ["pods"])
    assert less_than_or_equal(used, parse_list({"pods": "2"})) == (True, [])
    assert to_json(mask(used, ["pods", "services"])) == {"pods": "2"}
    assert negative(parse_list({"pods": "-1", "cpu": "1"})) == ["pods"]
    assert to_json(without_zeros(parse_list({"pods": "0", "cpu": "1"}))) == {"cpu": "1"}
    assert pretty(parse_list({"requests.cpu": "500m", "pods": "1"})) == "pods=1,requests.cpu=500m"


def test_large_quantities_are_exact_up_to_sixty_digits_and_refused_beyond() -> None:
    """A fuzzer's `1e20` in a LimitRange was a 500: the nano-unit check ran out of decimal precision."""
    assert str(Quantity.parse("1e20")) == "100e18"
    assert str(Quantity.parse("123456789012345678901.5")) == "123456789012345678901500m"
    assert Quantity.parse("1e60").value == Decimal("1e60")
    with pytest.raises(ValueError, match="too large"):
        Quantity.parse("1e61")
