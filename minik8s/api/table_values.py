"""Reading Kubernetes objects as printers.go reads Go structs, and HumanDuration.

The Table printers walk plain JSON mappings, where a field may be absent, null or of the wrong
type; Go would see a zero value or a nil pointer. These readers give the same answers (an absent
map is empty, an absent string is "", an unset time is None), so the printers in `table_printers`
read like their Go originals. Also here: apimachinery's HumanDuration and label formatting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


_SECOND_NS = 1_000_000_000
_MINUTE_NS = 60 * _SECOND_NS
_HOUR_NS = 60 * _MINUTE_NS


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: ~2-3 significant figures (`119s`, `2m30s`, `3h`, `2d5h`)."""
    whole_seconds = math.trunc(seconds)
    if whole_seconds < -1:
        return "<invalid>"  # more than the tolerated clock skew into the future
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 120:
        return f"{whole_seconds}s"
    nanoseconds = int(seconds * _SECOND_NS)
    minutes = nanoseconds // _MINUTE_NS
    if minutes < 10:
        rest = (nanoseconds // _SECOND_NS) % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = nanoseconds // _HOUR_NS
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{hours // 24 // 365}y"


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def present_map(value: Any) -> Mapping[str, Any] | None:
    """The mapping when the field is set (Go's non-nil pointer), else None."""
    return value if isinstance(value, Mapping) else None


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def parse_time(value: Any) -> datetime | None:
    """A metav1.Time/MicroTime (RFC 3339) as an aware datetime; None when unset (Go's zero time)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            logger.debug("unparseable timestamp %r shown as <unknown>", value)
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def since(moment: datetime | None, now: datetime) -> str:
    """printers.go translateTimestampSince: `<unknown>` for an unset time."""
    if moment is None:
        return "<unknown>"
    current = now if now.tzinfo else now.replace(tzinfo=UTC)
    return human_duration((current - moment).total_seconds())


def age(obj: Mapping[str, Any], now: datetime) -> str:
    return since(parse_time(as_map(obj.get("metadata")).get("creationTimestamp")), now)


def name_of(obj: Mapping[str, Any]) -> str:
    return as_str(as_map(obj.get("metadata")).get("name"))


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: the `k=v` strings sorted (as strings, not by key), `<none>` when empty."""
    return ",".join(sorted(f"{key}={value}" for key, value in as_map(labels).items())) or "<none>"


_SELECTOR_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


def selector_string(selector: Any) -> str | None:
    """metav1.LabelSelectorAsSelector(...).String(); None when the selector is invalid."""
    requirements: list[tuple[str, str]] = []
    for key, value in as_map(as_map(selector).get("matchLabels")).items():
        requirements.append((str(key), f"{key}={value}"))
    for expression in as_list(as_map(selector).get("matchExpressions")):
        key, operator = as_str(as_map(expression).get("key")), as_str(as_map(expression).get("operator"))
        values = sorted(str(v) for v in as_list(as_map(expression).get("values")))
        if operator not in _SELECTOR_OPERATORS or (operator in ("In", "NotIn")) != bool(values):
            return None
        if operator in ("In", "NotIn"):
            requirements.append((key, f"{key}{_SELECTOR_OPERATORS[operator]}({','.join(values)})"))
        else:
            requirements.append((key, key if operator == "Exists" else f"!{key}"))
    return ",".join(text for _, text in sorted(requirements, key=lambda requirement: requirement[0]))


def format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: `<none>` for an empty or absent selector, `<error>` if invalid."""
    text = selector_string(selector)
    return "<error>" if text is None else (text or "<none>")


def container_cells(pod_spec: Any) -> list[str]:
    """printers.go layoutContainerCells: container names and images, comma-joined."""
    containers = [as_map(container) for container in as_list(as_map(pod_spec).get("containers"))]
    names = ",".join(as_str(container.get("name")) for container in containers)
    return [names, ",".join(as_str(container.get("image")) for container in containers)]


def later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    return candidate if candidate is not None and (current is None or current < candidate) else current


def host_port(host: str, port: int) -> str:
    """Go's net.JoinHostPort: IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
