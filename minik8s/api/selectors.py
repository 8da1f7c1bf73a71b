"""Label and field selectors, parsed and matched exactly as Kubernetes does.

Lists and watches filter with `labelSelector`/`fieldSelector` query strings; controllers
and Services select pods with `{"matchLabels", "matchExpressions"}` objects. Both forms
become one immutable `LabelSelector`, so the apiserver, the informers' caches and every
controller agree on what matches. The string syntax, its canonical rendering (requirements
sorted by key, set values sorted) and its error wording follow apimachinery's `labels`
and `fields` packages.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.field_selectors import FieldRequirement, FieldSelector, parse_field_selector
from minik8s.api.formats import check_label_value, check_qualified_name
from minik8s.api.selector_syntax import SelectorError, Token, TokenKind, tokenize

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Operator",
    "Requirement",
    "SelectorError",
    "label_selector_from_object",
    "label_selector_from_requirements",
    "label_selector_from_set",
    "make_requirement",
    "parse_field_selector",
    "parse_label_selector",
]


class Operator(enum.Enum):
    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SET_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
_EXACT_OPERATORS = frozenset({Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS})
_NUMERIC_OPERATORS = frozenset({Operator.GREATER_THAN, Operator.LESS_THAN})
_UNARY_OPERATORS = frozenset({Operator.EXISTS, Operator.DOES_NOT_EXIST})

_OPERATOR_TOKENS = {
    TokenKind.IN: Operator.IN,
    TokenKind.NOT_IN: Operator.NOT_IN,
    TokenKind.EQUALS: Operator.EQUALS,
    TokenKind.DOUBLE_EQUALS: Operator.DOUBLE_EQUALS,
    TokenKind.NOT_EQUALS: Operator.NOT_EQUALS,
    TokenKind.GREATER_THAN: Operator.GREATER_THAN,
    TokenKind.LESS_THAN: Operator.LESS_THAN,
}
_OPERATOR_SPELLING = {
    Operator.EQUALS: "=",
    Operator.DOUBLE_EQUALS: "==",
    Operator.NOT_EQUALS: "!=",
    Operator.IN: " in ",
    Operator.NOT_IN: " notin ",
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
}
_EXPRESSION_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}
_BINARY_SPELLINGS = "in, notin, =, ==, !=, gt, lt"


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector; `values` are sorted and distinct."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator is Operator.EXISTS:
            return present
        if self.operator is Operator.DOES_NOT_EXIST:
            return not present
        return present and _compare_numeric(labels[self.key], self.operator, self.values)

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        joined = ",".join(self.values)
        if self.operator in _SET_OPERATORS:
            joined = f"({joined})"
        return f"{self.key}{_OPERATOR_SPELLING[self.operator]}{joined}"


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def is_empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The one value `key` must have to match, if the selector pins it (for indexing)."""
        for requirement in self.requirements:
            if requirement.key == key:
                exact = requirement.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN)
                return requirement.values[0] if exact and len(requirement.values) == 1 else None
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def make_requirement(key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
    """Build a validated requirement (values deduplicated and sorted), or raise SelectorError."""
    distinct = tuple(sorted(set(values)))
    problems = [f"key: Invalid value: {_quote(key)}: {problem}" for problem in check_qualified_name(key)]
    if operator in _SET_OPERATORS and not distinct:
        problems.append("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")
    elif operator in _EXACT_OPERATORS and len(distinct) != 1:
        problems.append("values: Invalid value: exact-match compatibility requires one single value")
    elif operator in _UNARY_OPERATORS and distinct:
        problems.append("values: Invalid value: values set must be empty for exists and does not exist")
    elif operator in _NUMERIC_OPERATORS:
        problems.extend(_check_numeric_values(distinct))
    for value in distinct:
        problems.extend(
            f"values[{key}]: Invalid value: {_quote(value)}: {problem}"
            for problem in check_label_value(value)
        )
    if problems:
        raise SelectorError("; ".join(problems))
    return Requirement(key=key, operator=operator, values=distinct)


def label_selector_from_requirements(requirements: Iterable[Requirement]) -> LabelSelector:
    """Order requirements canonically (stable sort by key)."""
    return LabelSelector(tuple(sorted(requirements, key=lambda requirement: requirement.key)))


def label_selector_from_set(labels: Mapping[str, str]) -> LabelSelector:
    """The selector `k1=v1,k2=v2` of a plain map, e.g. a Service's `spec.selector` (unvalidated)."""
    return LabelSelector(
        tuple(Requirement(key, Operator.EQUALS, (value,)) for key, value in sorted(labels.items()))
    )


def parse_label_selector(text: str) -> LabelSelector:
    """Parse the string syntax of `?labelSelector=` / `kubectl -l`; raise SelectorError."""
    parser = _LabelSelectorParser(tokenize(text))
    return label_selector_from_requirements(parser.parse())


def label_selector_from_object(selector: Mapping[str, Any] | None) -> LabelSelector:
    """Convert a `metav1.LabelSelector` object; None or `{}` gives the empty selector."""
    if selector is None:
        return LabelSelector()
    if not isinstance(selector, Mapping):
        raise SelectorError("a label selector must be an object with matchLabels and/or matchExpressions")
    requirements = [*_convert_match_labels(selector.get("matchLabels"))]
    requirements.extend(_convert_match_expressions(selector.get("matchExpressions")))
    return label_selector_from_requirements(requirements)


def _convert_match_labels(match_labels: Any) -> list[Requirement]:
    if match_labels is None:
        return []
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels must be a map of strings to strings")
    requirements = []
    for key, value in sorted(match_labels.items()):
        if not isinstance(key, str) or not isinstance(value, str):
            raise SelectorError(f"matchLabels[{key}]: must be a string")
        requirements.append(make_requirement(key, Operator.EQUALS, (value,)))
    return requirements


def _convert_match_expressions(expressions: Any) -> list[Requirement]:
    if expressions is None:
        return []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    requirements = []
    for index, expression in enumerate(expressions):
        if not isinstance(expression, Mapping):
            raise SelectorError(f"matchExpressions[{index}] must be an object")
        spelled = expression.get("operator")
        operator = _EXPRESSION_OPERATORS.get(spelled) if isinstance(spelled, str) else None
        if operator is None:
            raise SelectorError(
                f"{_quote(str(expression.get('operator')))} is not a valid label selector operator"
            )
        key, values = expression.get("key"), expression.get("values") or []
        if (
            not isinstance(key, str)
            or not isinstance(values, list)
            or not all(isinstance(v, str) for v in values)
        ):
            raise SelectorError(
                f"matchExpressions[{index}]: key must be a string and values a list of strings"
            )
        try:
            requirements.append(make_requirement(key, operator, values))
        except SelectorError as error:
            raise SelectorError(f"matchExpressions[{index}]: {error}") from None
    return requirements


class _LabelSelectorParser:
    """Recursive descent over the token list, mirroring apimachinery's parser and messages."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._position = 0

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token = self._peek()
            if token.kind is TokenKind.END:
                return requirements
            if token.kind not in (TokenKind.IDENTIFIER, TokenKind.NOT):
                raise SelectorError(f"found '{token.text}', expected: !, identifier, or 'end of string'")
            requirements.append(self._parse_requirement())
            separator = self._take()
            if separator.kind is TokenKind.END:
                return requirements
            if separator.kind is not TokenKind.COMMA:
                raise SelectorError(f"found '{separator.text}', expected: ',' or 'end of string'")
            following = self._peek()
            if following.kind not in (TokenKind.IDENTIFIER, TokenKind.NOT):
                raise SelectorError(f"found '{following.text}', expected: identifier after ','")

    def _parse_requirement(self) -> Requirement:
        try:
            key, negated = self._parse_key()
            if negated or self._peek().kind in (TokenKind.END, TokenKind.COMMA):
                operator = Operator.DOES_NOT_EXIST if negated else Operator.EXISTS
                return make_requirement(key, operator)
            operator = self._parse_operator()
            values = self._parse_set() if operator in _SET_OPERATORS else self._parse_exact_value()
            return make_requirement(key, operator, values)
        except SelectorError as error:
            raise SelectorError(f"unable to parse requirement: {error}") from None

    def _parse_key(self) -> tuple[str, bool]:
        token = self._take()
        negated = token.kind is TokenKind.NOT
        if negated:
            token = self._take()
        if token.kind is not TokenKind.IDENTIFIER:
            raise SelectorError(f"found '{token.text}', expected: identifier")
        problems = check_qualified_name(token.text)
        if problems:
            raise SelectorError(f"key: Invalid value: {_quote(token.text)}: {'; '.join(problems)}")
        return token.text, negated

    def _parse_operator(self) -> Operator:
        token = self._tokens[self._position]
        self._position += 1
        operator = _OPERATOR_TOKENS.get(token.kind)
        if operator is None:
            raise SelectorError(f"found '{token.text}', expected: {_BINARY_SPELLINGS}")
        return operator

    def _parse_set(self) -> list[str]:
        opening = self._take()
        if opening.kind is not TokenKind.OPEN_PAREN:
            raise SelectorError(f"found '{opening.text}' expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            token = self._take()
            if token.kind is TokenKind.CLOSE_PAREN:
                return values + ([""] if expect_value else [])
            if token.kind is TokenKind.COMMA:
                if expect_value:
                    values.append("")
                expect_value = True
            elif token.kind is TokenKind.IDENTIFIER and expect_value:
                values.append(token.text)
                expect_value = False
            else:
                raise SelectorError(f"found '{token.text}', expected: ',', ')' or identifier")

    def _parse_exact_value(self) -> list[str]:
        token = self._peek()
        if token.kind in (TokenKind.END, TokenKind.COMMA):
            return [""]
        self._take()
        if token.kind is not TokenKind.IDENTIFIER:
            raise SelectorError(f"found '{token.text}', expected: identifier")
        return [token.text]

    def _peek(self) -> Token:
        """The next token, with `in`/`notin` read as identifiers (they may be keys or values)."""
        return self._tokens[self._position].as_identifier()

    def _take(self) -> Token:
        token = self._peek()
        self._position += 1
        return token


def _compare_numeric(label_value: str, operator: Operator, values: tuple[str, ...]) -> bool:
    try:
        actual, bound = int(label_value), int(values[0])
    except (ValueError, IndexError):
        return False
    return actual > bound if operator is Operator.GREATER_THAN else actual < bound


def _check_numeric_values(values: tuple[str, ...]) -> list[str]:
    if len(values) != 1:
        return ["values: Invalid value: for 'Gt', 'Lt' operators, exactly one value is required"]
    try:
        int(values[0], 10)
    except ValueError:
        return [
            f"values[0]: Invalid value: {_quote(values[0])}: for 'Gt', 'Lt' operators, the value must be an integer"
        ]
    return []


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
