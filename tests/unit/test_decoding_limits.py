"""What a request body may decode to: nesting depth, YAML alias expansion, JSON-patch copies."""

from __future__ import annotations

import time

import orjson
import pytest
import yaml

from minik8s.apiserver.json_patch import json_patch
from minik8s.apiserver.json_values import PatchError
from minik8s.apiserver.limits import MAX_JSON_PATCH_COPY_BYTES, MAX_NESTING_DEPTH, nesting_depth_exceeds
from minik8s.apiserver.yaml_loader import JsonCompatibleLoader


def load(text: str) -> object:
    return yaml.load(text, Loader=JsonCompatibleLoader)


@pytest.mark.parametrize(("value", "depth"), [
    (1, 0), ("s", 0), ({}, 1), ([], 1), ({"a": 1}, 1), ({"a": {"b": [1]}}, 3), ([[], [[]]], 3),
])
def test_nesting_depth_counts_containers(value: object, depth: int) -> None:
    assert not nesting_depth_exceeds(value, depth)
    assert nesting_depth_exceeds(value, depth - 1) == (depth > 0)


def test_nesting_depth_of_a_deep_value_is_found_without_recursion() -> None:
    value: list = []
    for _ in range(50_000):
        value = [value]
    assert nesting_depth_exceeds(value, MAX_NESTING_DEPTH)


def test_every_object_at_the_cap_encodes() -> None:
    value: list = []
    for _ in range(MAX_NESTING_DEPTH - 1):
        value = [value]
    assert not nesting_depth_exceeds(value, MAX_NESTING_DEPTH)
    orjson.dumps(value)  # orjson refuses past 254 levels: the cap must stay below it


def test_yaml_keeps_timestamps_as_strings_and_plain_documents_load() -> None:
    assert load("a: 2024-01-01T00:00:00Z\nb: [1, two, {c: null}]\n") == {
        "a": "2024-01-01T00:00:00Z", "b": [1, "two", {"c": None}]}


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 1_000, 100_000])
def test_yaml_nested_past_the_cap_is_a_yaml_error(depth: int) -> None:
    with pytest.raises(yaml.YAMLError, match=r"max\w* (nesting )?depth"):  # ours, or libyaml's own at 1,000
        load("[" * depth + "]" * depth)


def test_yaml_block_nesting_past_the_cap_is_a_yaml_error() -> None:
    text = "".join(f"{'  ' * level}k:\n" for level in range(MAX_NESTING_DEPTH + 5)) + "  " * 200 + "v\n"
    with pytest.raises(yaml.YAMLError, match="max depth"):
        load(text)


def test_yaml_at_the_cap_loads() -> None:
    depth = MAX_NESTING_DEPTH
    loaded = load("[" * depth + "]" * depth)
    assert not nesting_depth_exceeds(loaded, MAX_NESTING_DEPTH)


def test_a_billion_laughs_is_refused_before_it_is_expanded() -> None:
    levels = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for index in range(1, 9):
        before, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        levels.append(f"{name}: &{name} [" + ",".join([f"*{before}"] * 9) + "]")
    started = time.monotonic()
    with pytest.raises(yaml.YAMLError, match="excessive aliasing"):
        load("\n".join(levels) + "\n")
    assert time.monotonic() - started < 1.0


def test_an_anchor_that_contains_itself_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError, match="contains itself"):
        load("a: &a [1, *a]\n")


def test_an_unknown_alias_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        load("a: *nowhere\n")


def test_ordinary_aliases_are_expanded() -> None:
    assert load("base: &b {x: 1}\nuse: [*b, *b]\n") == {"base": {"x": 1}, "use": [{"x": 1}, {"x": 1}]}


def test_many_aliases_of_small_values_in_a_large_document_are_fine() -> None:
    text = "anchor: &s small\n" + "".join(f"k{index}: *s\n" for index in range(2_000))
    loaded = load(text)
    assert isinstance(loaded, dict) and loaded["k1999"] == "small"


def test_json_patch_copies_are_capped_in_total_size() -> None:
    document = {"a": "x" * 1024}
    doubling = [{"op": "copy", "from": "", "path": f"/c{index}"} for index in range(30)]
    with pytest.raises(PatchError, match="copy") as refused:
        json_patch(document, doubling)
    assert refused.value.status_code == 422
    assert str(MAX_JSON_PATCH_COPY_BYTES) in str(refused.value)


def test_json_patch_cannot_nest_past_the_cap() -> None:
    document: dict = {"a": {}}
    operations = [{"op": "copy", "from": "", "path": "/a" * (2 ** index)} for index in range(8)]
    with pytest.raises(PatchError, match="max depth"):
        json_patch(document, operations)


def test_json_patch_within_the_caps_still_copies() -> None:
    patched = json_patch({"a": {"b": [1, 2]}}, [{"op": "copy", "from": "/a", "path": "/c"}])
    assert patched == {"a": {"b": [1, 2]}, "c": {"b": [1, 2]}}
