"""Field selectors (`?fieldSelector=spec.nodeName=n1,status.phase!=Failed`).

Field selectors are simpler than label selectors (only `=`, `==`, `!=`, joined by commas)
and match against the per-kind field sets of `minik8s.api.fields`. They live apart from
the label selector parser to keep modules small; import them from `minik8s.api.selectors`.
Escapes (`\\,` `\\=` `\\\\`) and error wording follow apimachinery's `fields` package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from minik8s.api.selector_syntax import SelectorError


@dataclass(frozen=True)
class FieldRequirement:
    """`field=value` (also spelled `==`) or `field!=value`; a missing field reads as ""."""

    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator == "=" else not equal

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of field requirements; the empty selector matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(requirement.matches(fields) for requirement in self.requirements)

    def is_empty(self) -> bool:
        return not self.requirements

    def field_names(self) -> frozenset[str]:
        return frozenset(requirement.field for requirement in self.requirements)

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal to match (e.g. `spec.nodeName` for a node's pods), if pinned."""
        for requirement in self.requirements:
            if requirement.field == field and requirement.operator == "=":
                return requirement.value
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse `?fieldSelector=`: comma-separated `f=v`, `f==v`, `f!=v`; `\\,` `\\=` `\\\\` escape."""
    requirements = []
    for term in _split_unescaped(text):
        if term.strip():
            requirements.append(_parse_field_term(text, term))
    return FieldSelector(tuple(requirements))


def _split_unescaped(text: str) -> list[str]:
    terms, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def _parse_field_term(text: str, term: str) -> FieldRequirement:
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        for spelling, operator in (("!=", "!="), ("==", "="), ("=", "=")):
            if term.startswith(spelling, index):
                field = term[:index].strip()
                if not field:
                    break
                value = _unescape_field_value(term[index + len(spelling) :].strip())
                return FieldRequirement(field=field, operator=operator, value=value)
        index += 1
    raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")


def _unescape_field_value(raw: str) -> str:
    out, escaped = [], False
    for char in raw:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped {char!r} in value {raw!r}")
        else:
            out.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: trailing \\")
    return "".join(out)
