"""Resource quantities parse and round exactly as Kubernetes does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minik8s.api.quantity import (
    cpu_millis,
    format_cpu_millis,
    format_memory_bytes,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Decimal("0.1")),
        ("1", Decimal(1)),
        ("0.5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("1Ki", Decimal(1024)),
        ("1.5Gi", Decimal(1610612736)),
        ("2Mi", Decimal(2097152)),
        ("1Ei", Decimal(2**60)),
        ("1k", Decimal(1000)),
        ("129M", Decimal(129000000)),
        ("2E", Decimal(2 * 10**18)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("5e-3", Decimal("0.005")),
        ("250u", Decimal("0.00025")),
        ("3n", Decimal("0.000000003")),
        ("-1", Decimal(-1)),
        ("+2", Decimal(2)),
        (" 7 ", Decimal(7)),
        (2, Decimal(2)),
        (0.25, Decimal("0.25")),
    ],
)
def test_quantities_parse_to_exact_values(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Kb", "1.2.3", "m", "1e", "--1", "1 Gi", "Gi", "1ki", "0x10"])
def test_malformed_quantities_are_rejected(text):
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(text)


@pytest.mark.parametrize("value", [True, None, float("nan"), float("inf"), [1]])
def test_non_quantity_values_are_rejected(value):
    with pytest.raises(ValueError):
        parse_quantity(value)


@pytest.mark.parametrize(
    ("quantity", "millis"),
    [("100m", 100), ("0.1", 100), ("1", 1000), ("1.5", 1500), (2, 2000), ("1u", 1), ("2500u", 3), ("0", 0)],
)
def test_cpu_rounds_up_to_whole_millicores(quantity, millis):
    assert cpu_millis(quantity) == millis


@pytest.mark.parametrize(
    ("quantity", "size"),
    [("1Ki", 1024), ("1.5k", 1500), ("128Mi", 134217728), ("129e6", 129000000), ("0.5", 1), ("1G", 10**9)],
)
def test_memory_rounds_up_to_whole_bytes(quantity, size):
    assert memory_bytes(quantity) == size


@pytest.mark.parametrize(
    ("millis", "text"), [(1000, "1"), (250, "250m"), (0, "0"), (1500, "1500m"), (4000, "4")]
)
def test_cpu_formats_canonically(millis, text):
    assert format_cpu_millis(millis) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(2**30, "1Gi"), (1536 * 2**20, "1536Mi"), (1000, "1000"), (0, "0"), (2048, "2Ki")],
)
def test_memory_formats_with_the_largest_exact_binary_suffix(size, text):
    assert format_memory_bytes(size) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_formatted_cpu_parses_back_to_the_same_millicores(millis):
    assert cpu_millis(format_cpu_millis(millis)) == millis


@given(st.integers(min_value=0, max_value=2**62))
def test_formatted_memory_parses_back_to_the_same_bytes(size):
    assert memory_bytes(format_memory_bytes(size)) == size
