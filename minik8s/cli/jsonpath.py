"""kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`).

Scripts built around kubectl rely on its JSONPath dialect (client-go util/jsonpath), which is
not the JSONPath of other tools: text outside `{}` is printed as is, `{range ...}{end}` loops,
`{"\\n"}` is a literal, several results of one expression are joined by a space, maps and lists
print as compact JSON, and (as `kubectl get` sets it) a missing key prints nothing instead of
failing. This module parses a template once and renders it over plain JSON data.

Supported: `.field` (with `\\.` escapes), `..field`, `.*`, `[n]`, `[-n]`, `[a:b:c]`, `[*]`,
`['key']`, unions `[a,b]`, filters `[?(@.x == "v")]` (==, !=, <, >, <=, >=, and existence),
`@`/`$`, string/number/bool literals, `range`/`end`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from minik8s.cli.errors import CliError

_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_DICT_KEY = re.compile(r"^'([^']*)'$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$")


@dataclass(frozen=True)
class Node:
    """One step of an action: `kind` is text, field, wildcard, array, filter, recursive, union,
    literal or identifier; `value` its argument."""

    kind: str
    value: Any = None


Action = tuple[Node, ...]


class TemplateError(ValueError):
    """A template that does not parse, or one that fails on the data."""


def parse(template: str) -> list[Action]:
    """The template as a list of actions (text between braces is a one-node text action)."""
    try:
        return _Parser(template).parse_template()
    except TemplateError as error:
        raise CliError(f"error: error parsing jsonpath {template}, {error}", verbatim=True) from None


def render(template: str, data: Any) -> str:
    """The template's output over `data`; missing keys print nothing."""
    actions = parse(template)
    try:
        return "".join(_print_results(results) for results in _find_results(data, actions))
    except TemplateError as error:
        raise CliError(f'error: error executing jsonpath "{template}": {error}', verbatim=True) from None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse_template(self) -> list[Action]:
        actions: list[Action] = []
        while self.pos < len(self.text):
            start = self.text.find("{", self.pos)
            if start < 0:
                actions.append((Node("text", self.text[self.pos:]),))
                break
            if start > self.pos:
                actions.append((Node("text", self.text[self.pos:start]),))
            self.pos = start + 1
            actions.append(tuple(self.parse_action(closing="}")))
        return actions

    def parse_action(self, *, closing: str | None) -> list[Node]:
        """Nodes up to `closing` (or the end of the text when None)."""
        nodes: list[Node] = []
        while True:
            if self.pos >= len(self.text):
                if closing is None:
                    return nodes
                raise TemplateError("unclosed action")
            rest = self.text[self.pos:]
            char = rest[0]
            if closing is not None and char == closing:
                self.pos += 1
                return nodes
            if rest.startswith("[?("):
                nodes.append(self.parse_filter())
            elif rest.startswith(".."):
                self.pos += 2
                nodes.append(Node("recursive"))
                if self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
                    nodes.append(self.parse_field())
            elif char in " @$":
                self.pos += 1
            elif char == "[":
                nodes.extend(self.parse_array())
            elif char in "\"'":
                nodes.append(Node("text", self.parse_quote(char)))
            elif char == ".":
                self.pos += 1
                nodes.append(self.parse_field())
            elif char in "+-" or char.isdigit():
                nodes.append(self.parse_number())
            elif char.isalnum() or char == "_":
                nodes.append(self.parse_identifier())
            else:
                raise TemplateError(f"unrecognized character in action: {char!r}")

    def parse_field(self) -> Node:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _TERMINATORS:
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        name = self.text[start:self.pos].replace("\\", "")
        return Node("wildcard") if name == "*" else Node("field", name)

    def parse_identifier(self) -> Node:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _TERMINATORS:
            self.pos += 1
        word = self.text[start:self.pos]
        if word in ("true", "false"):
            return Node("literal", word == "true")
        return Node("identifier", word)

    def parse_number(self) -> Node:
        match = re.match(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", self.text[self.pos:])
        if not match:
            raise TemplateError(f"cannot parse number at {self.text[self.pos:]!r}")
        self.pos += match.end()
        number = match.group(0)
        return Node("literal", float(number) if ("." in number or "e" in number.lower()) else int(number))

    def parse_quote(self, quote: str) -> str:
        end = self.pos + 1
        while end < len(self.text) and not (self.text[end] == quote and self.text[end - 1] != "\\"):
            end += 1
        if end >= len(self.text):
            raise TemplateError("unterminated quoted string")
        raw = self.text[self.pos + 1:end]
        self.pos = end + 1
        try:
            decoded = json.loads('"' + raw.replace("\\'", "'").replace('"', '\\"').replace('\\\\"', '\\"') + '"')
        except json.JSONDecodeError as error:
            raise TemplateError(f"unquote string {quote}{raw}{quote} error {error}") from None
        return str(decoded)

    def parse_array(self) -> list[Node]:
        end = self.text.find("]", self.pos)
        if end < 0:
            raise TemplateError("unterminated array")
        inner = self.text[self.pos + 1:end].strip()
        self.pos = end + 1
        inner = ":" if inner == "*" else inner
        if "," in inner:
            return [Node("union", tuple(tuple(_Parser(f"[{part.strip()}]").parse_action(closing=None))
                                        for part in inner.split(",")))]
        key = _DICT_KEY.match(inner)
        if key:
            return [Node("field", key.group(1))]
        match = _SLICE.match(inner)
        if not match:
            raise TemplateError(f"invalid array index {inner}")
        return [Node("array", _slice_params(match.groups()))]

    def parse_filter(self) -> Node:
        self.pos += 3
        start, quote = self.pos, ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "\"'" and (not quote or char == quote) and self.text[self.pos - 1] != "\\":
                quote = "" if quote else char
            elif char == ")" and not quote:
                break
            self.pos += 1
        if self.text[self.pos + 1:self.pos + 2] != "]":
            raise TemplateError("unclosed array expect ]")
        expression = self.text[start:self.pos]
        self.pos += 2
        match = _FILTER.match(expression)
        if match is None:
            return Node("filter", (tuple(_Parser(expression).parse_action(closing=None)), "exists", ()))
        left, operator, right = match.groups()
        return Node("filter", (tuple(_Parser(left.strip()).parse_action(closing=None)), operator,
                               tuple(_Parser(right.strip()).parse_action(closing=None))))


def _slice_params(groups: Sequence[str | None]) -> tuple[int | None, int | None, int | None, bool]:
    """(start, end, step, end_derived) of `[a:b:c]`; `[n]` has the derived end n+1."""
    start_text, end_text, step_text = (group or "" for group in groups)
    start = int(start_text) if start_text else None
    if not end_text:
        return start, (start or 0) + 1, None, True
    end = int(end_text[1:]) if end_text[1:] else None
    step = int(step_text[1:]) if step_text[1:] else None
    return start, end, step, False


def _find_results(data: Any, actions: Sequence[Action]) -> list[list[Any]]:
    results: list[list[Any]] = []
    index = 0
    while index < len(actions):
        action = actions[index]
        if action and action[0] == Node("identifier", "range"):
            end = _matching_end(actions, index)
            for value in _eval_list([data], action[1:]):
                results.extend(_find_results(value, actions[index + 1:end]))
            index = end + 1
            continue
        if action and action[0] == Node("identifier", "end"):
            raise TemplateError("not in range, nothing to end")
        results.append(_eval_list([data], action))
        index += 1
    return results


def _matching_end(actions: Sequence[Action], start: int) -> int:
    depth = 0
    for index in range(start, len(actions)):
        head = actions[index][0] if actions[index] else None
        if head == Node("identifier", "range"):
            depth += 1
        elif head == Node("identifier", "end"):
            depth -= 1
            if depth == 0:
                return index
    raise TemplateError("range without end")


def _eval_list(values: list[Any], nodes: Sequence[Node]) -> list[Any]:
    for node in nodes:
        values = _eval_node(values, node)
    return values


def _eval_node(values: list[Any], node: Node) -> list[Any]:
    if node.kind == "text" or node.kind == "literal":
        return [node.value]
    if node.kind == "field":
        return [value[node.value] for value in values if isinstance(value, dict) and node.value in value]
    if node.kind == "wildcard":
        return [item for value in values for item in _children(value)]
    if node.kind == "recursive":
        return _descend(values)
    if node.kind == "union":
        return [item for branch in node.value for item in _eval_list(values, branch)]
    if node.kind == "array":
        return [item for value in values if value is not None for item in _slice(value, node.value)]
    if node.kind == "filter":
        return [item for value in values if value is not None for item in _filter(value, node.value)]
    if node.kind == "identifier":
        raise TemplateError(f"unrecognized identifier {node.value}")
    raise TemplateError(f"unexpected node {node.kind}")


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]
    return list(value) if isinstance(value, list) else []


def _descend(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        children = _children(value)
        if children:
            found.append(value)
            found.extend(_descend(children))
    return found


def _slice(value: Any, params: tuple[int | None, int | None, int | None, bool]) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"{type(value).__name__} is not array or slice")
    start, end, step, derived = params
    length = len(value)
    start = 0 if start is None else start
    start = start + length if start < 0 else start
    end = length if end is None else end
    if end < 0 or (end == 0 and derived):
        end += length
    if end == start:
        return []
    if not 0 <= start < length:
        raise TemplateError(f"array index out of bounds: index {start}, length {length}")
    if not 0 <= end <= length:
        raise TemplateError(f"array index out of bounds: index {end - 1}, length {length}")
    if start > end:
        raise TemplateError(f"starting index {start} is greater than ending index {end}")
    if step is not None and step <= 0:
        raise TemplateError("step must be > 0")
    return value[start:end:step or 1]


def _filter(value: Any, spec: tuple[Action, str, Action]) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"{type(value).__name__} is not array or slice and cannot be filtered")
    left_nodes, operator, right_nodes = spec
    passed: list[Any] = []
    for item in value:
        lefts = _eval_list([item], left_nodes)
        if operator == "exists":
            if lefts:
                passed.append(item)
            continue
        rights = _eval_list([item], right_nodes)
        if len(lefts) > 1 or len(rights) > 1:
            raise TemplateError("can only compare one element at a time")
        if lefts and rights and _compare(lefts[0], operator, rights[0]):
            passed.append(item)
    return passed


def _compare(left: Any, operator: str, right: Any) -> bool:
    numbers = (int, float)
    comparable = (isinstance(left, numbers) and isinstance(right, numbers)
                  and not isinstance(left, bool) and not isinstance(right, bool)) or type(left) is type(right)
    if operator == "==":
        return comparable and bool(left == right)
    if operator == "!=":
        return not comparable or bool(left != right)
    if not comparable or isinstance(left, dict | list | bool) or left is None:
        return False
    checks = {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}
    if operator not in checks:
        raise TemplateError(f"unrecognized filter operator {operator}")
    return bool(checks[operator])


def _print_results(values: list[Any]) -> str:
    return " ".join(_text(value) for value in values)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)
