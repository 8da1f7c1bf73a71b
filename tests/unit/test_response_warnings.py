"""Warning headers as Kubernetes writes them (and kubectl parses them)."""

from __future__ import annotations

from minik8s.apiserver.response_warnings import ITEM_LIMIT, TOTAL_LIMIT, warning_header_values


def test_a_warning_is_a_299_quoted_string() -> None:
    assert warning_header_values(['would violate PodSecurity "restricted:latest": x']) == [
        '299 - "would violate PodSecurity \\"restricted:latest\\": x"']
    assert warning_header_values(["back\\slash", "new\nline\ttab"]) == ['299 - "back\\\\slash"', '299 - "new line tab"']


def test_warnings_beyond_4k_are_cut_to_256_characters_each_until_4k() -> None:
    short = ["a" * 100, "b" * 100]
    assert warning_header_values(short) == [f'299 - "{text}"' for text in short]
    many = [f"{n:02}" + "x" * 998 for n in range(30)]
    values = warning_header_values(many)
    assert len(values) == TOTAL_LIMIT // ITEM_LIMIT
    assert values[0] == f'299 - "00{"x" * (ITEM_LIMIT - 2)}"'
