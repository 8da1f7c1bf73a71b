"""The one vocabulary for reading objects: the JSON alias, metadata accessors, conditions, metav1 times.

Every process works on plain JSON (`JsonObject`) as it came over the wire or out of an informer's
cache, and a cache may hold anything a client managed to store. These readers answer the same
questions everywhere — name, namespace, uid, key, labels, the controller reference, a condition,
a timestamp — and never raise on a missing or oddly typed field, so a malformed object degrades
to defaults instead of crashing a worker.

Typed models (TypedDict or pydantic) were weighed for the hot kinds and not taken: objects must
keep every field they carry (unknown ones included) on their way back to the server, and a
TypedDict would only describe what a `.get` already reads, while pydantic would copy on every
read of a cached object.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]
"""An API object, or any JSON object, as decoded: mutable, unknown fields kept."""

EPOCH = datetime.min.replace(tzinfo=UTC)
"""A zero metav1.Time as an aware datetime: sorts before every real timestamp."""


# -- parts of an object ------------------------------------------------------------------------


def mapping_at(obj: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    """`obj[field]` when it is an object; an empty mapping otherwise."""
    value = obj.get(field)
    return value if isinstance(value, Mapping) else {}


def list_at(obj: Mapping[str, Any], field: str) -> list[Any]:
    """`obj[field]` when it is a list; an empty list otherwise (so a malformed object reads as empty)."""
    value = obj.get(field)
    return value if isinstance(value, list) else []


def metadata_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping_at(obj, "metadata")


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping_at(obj, "spec")


def status_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping_at(obj, "status")


# -- metadata ----------------------------------------------------------------------------------


def name_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("namespace") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("uid") or "")


def key_of(obj: Mapping[str, Any]) -> str:
    """`namespace/name`, or `name` for a cluster-scoped object: the cache and work-queue key."""
    namespace, name = namespace_of(obj), name_of(obj)
    return f"{namespace}/{name}" if namespace else name


def namespaced_key_of(obj: Mapping[str, Any]) -> str:
    """`namespace/name` of an object of a namespaced kind, in `default` when it names no namespace."""
    return f"{namespace_of(obj) or 'default'}/{name_of(obj)}"


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("resourceVersion") or "")


def generation_of(obj: Mapping[str, Any]) -> int:
    return integer(metadata_of(obj).get("generation"), default=0)


def string_map(value: Any) -> dict[str, str]:
    """A map of strings (labels, annotations, a selector); anything else reads as empty."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return string_map(metadata_of(obj).get("labels"))


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return string_map(metadata_of(obj).get("annotations"))


def is_deleting(obj: Mapping[str, Any]) -> bool:
    """The object carries a deletionTimestamp: it waits for its finalizers or its grace period."""
    return bool(metadata_of(obj).get("deletionTimestamp"))


def integer(value: Any, *, default: int) -> int:
    """An integer field; booleans, strings and floats read as `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# -- owner references --------------------------------------------------------------------------


def owner_references_of(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    references = metadata_of(obj).get("ownerReferences")
    if not isinstance(references, list):
        return []
    return [reference for reference in references if isinstance(reference, Mapping)]


def controller_ref_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with `controller: true`, if any."""
    for reference in owner_references_of(obj):
        if reference.get("controller") is True:
            return reference
    return None


# -- conditions --------------------------------------------------------------------------------


def find_condition(conditions: Any, condition_type: str) -> Mapping[str, Any] | None:
    """The condition of `condition_type` in a `conditions` list, if the list holds one."""
    if not isinstance(conditions, list):
        return None
    for condition in conditions:
        if isinstance(condition, Mapping) and condition.get("type") == condition_type:
            return condition
    return None


def condition_of(obj: Mapping[str, Any], condition_type: str) -> Mapping[str, Any] | None:
    """The object's `status.conditions` entry of `condition_type`, if any."""
    return find_condition(status_of(obj).get("conditions"), condition_type)


def is_condition_true(obj: Mapping[str, Any], condition_type: str) -> bool:
    condition = condition_of(obj, condition_type)
    return condition is not None and condition.get("status") == "True"


# -- metav1 times ------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """metav1.Time: RFC 3339 in UTC at whole seconds, `Z` (a naive moment is taken as UTC)."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    """metav1.MicroTime (Leases, Events' eventTime): RFC 3339 in UTC with microseconds, `Z`."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_nano_time(moment: datetime) -> str:
    """Go's RFC3339Nano (annotations such as EndpointsLastChangeTriggerTime): UTC, the fraction
    without trailing zeros, none at all on a whole second."""
    utc = _as_utc(moment)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def now_time() -> str:
    """The current moment as a metav1.Time."""
    return format_time(datetime.now(UTC))


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (any fraction, `Z` or an offset) as an aware datetime; None when absent
    or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
