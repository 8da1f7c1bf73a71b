"""Reading a pod spec as the Pod Security checks read a decoded Go struct, and their wording helpers.

Admission sees the request's object before validation, so any field may have any JSON type. A
value of the wrong type reads as absent (Go would have refused to decode it; validation answers
for it afterwards), so a check never fails on malformed input. Containers are visited as the
checks visit them: init containers, then containers, then ephemeral containers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Json = Mapping[str, Any]
_EMPTY: Json = {}


def obj(value: Any) -> Json:
    """`value` if it is an object, else an empty one."""
    return value if isinstance(value, Mapping) else _EMPTY


def present(owner: Json, field: str) -> bool:
    """The field is set (Go: the pointer is not nil): present and not null."""
    return owner.get(field) is not None


def pointer(owner: Json, field: str) -> Json | None:
    """The object at `field`, or None when unset (or not an object: Go would not have decoded it)."""
    value = owner.get(field)
    return value if isinstance(value, Mapping) else None


def objects(value: Any) -> list[Json]:
    """The objects of a JSON list (anything else in it, or a non-list, reads as nothing)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def text(owner: Json, field: str) -> str:
    value = owner.get(field)
    return value if isinstance(value, str) else ""


def is_true(owner: Json, field: str) -> bool:
    return owner.get(field) is True


def integer(owner: Json, field: str) -> int | None:
    value = owner.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def containers(spec: Json) -> Iterator[Json]:
    """Every container of the pod: init containers, containers, then ephemeral containers."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from objects(spec.get(field))


def name_of(container: Json) -> str:
    return text(container, "name")


def security_context(owner: Json) -> Json:
    """The pod's or a container's securityContext (empty when unset)."""
    return obj(owner.get("securityContext"))


def join_quote(items: list[str]) -> str:
    """`"a", "b"` — policy/helpers.go joinQuote (no escaping, as there)."""
    return '"' + '", "'.join(items) + '"' if items else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def go_quote(value: str) -> str:
    """Go's %q for the plain strings these messages quote."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def setters(pod_set: bool, containers_named: list[str]) -> str:
    """`pod`, `container "a"`, `pod and containers "a", "b"`: who set a forbidden value."""
    who = ["pod"] if pod_set else []
    if containers_named:
        who.append(f"{pluralize('container', 'containers', len(containers_named))} {join_quote(containers_named)}")
    return " and ".join(who)
