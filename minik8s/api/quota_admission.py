"""ResourceQuota admission's decision: may this write happen, and what does each quota then show as used?

Kubernetes' quota evaluator (apiserver/pkg/admission/plugin/resourcequota, CheckRequest), pure: it
takes the namespace's quotas as stored and the object being written, and returns the quotas whose
`status.used` the write changes — or refuses in Kubernetes' words (`exceeded quota: q, requested:
pods=1, used: pods=2, limited: pods=2`; `failed quota: q: must specify limits.cpu for: app`;
`status unknown for quota: q, resources: pods` while the quota controller has not counted yet).
The apiserver commits those quotas together with the object, each guarded by the resourceVersion
it was read at, so two writes racing for the last unit cannot both pass: the second one's guard
fails, it reads the quota again and is judged on the new count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, metadata_of, name_of, status_of
from minik8s.api.quota_usage import UPDATE, Evaluator, evaluator_for, hard_of, quota_matches
from minik8s.api.resource_lists import (
    ResourceList,
    add,
    equal,
    less_than_or_equal,
    mask,
    negative,
    parse_list,
    pretty,
    subtract_non_negative,
    to_json,
    without_zeros,
)


class QuotaRefused(Exception):
    """The reason a write is refused (the apiserver answers it as a 403 on the object)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class QuotaWrite:
    """A write quota admission judges: CREATE or UPDATE of `obj` (`old` as stored, for an update)."""

    operation: str
    plural: str
    group: str
    obj: Mapping[str, Any]
    old: Mapping[str, Any] | None = None


def used_of(quota: Mapping[str, Any]) -> ResourceList:
    return parse_list(status_of(quota).get("used"))


def _judged_quotas(evaluator: Evaluator, quotas: Sequence[JsonObject], obj: Mapping[str, Any]) -> list[JsonObject]:
    """The quotas that bound this object; refuses when one needs a declaration or has not been counted yet."""
    judged = []
    for quota in quotas:
        if not quota_matches(evaluator, quota, obj):
            continue
        hard, used = hard_of(quota), used_of(quota)
        restricted = evaluator.matching(hard)
        problem = evaluator.constraints(restricted, obj)
        if problem is not None:
            raise QuotaRefused(f"failed quota: {name_of(quota)}: {problem}")
        if any(name not in used for name in restricted):
            raise QuotaRefused(f"status unknown for quota: {name_of(quota)}, resources: {','.join(sorted(restricted))}")
        judged.append(quota)
    return judged


def _deltas(evaluator: Evaluator, quotas: list[JsonObject], write: QuotaWrite, now: datetime) -> list[ResourceList]:
    """What the write adds to each quota: all of the object's usage, or for an update what it adds over the old."""
    usage = evaluator.usage(write.obj, now)
    below_zero = negative(usage)
    if below_zero:
        raise QuotaRefused(f"quota usage is negative for resource(s): {','.join(below_zero)}")
    deltas = [usage for _ in quotas]
    if write.operation == UPDATE and write.old is not None and metadata_of(write.old).get("resourceVersion"):
        growth = subtract_non_negative(usage, evaluator.usage(write.old, now))
        deltas = [growth if quota_matches(evaluator, quota, write.old) else usage for quota in quotas]
    return [without_zeros(delta) for delta in deltas]


def charge(quotas: Sequence[JsonObject], write: QuotaWrite, now: datetime) -> list[JsonObject]:
    """The quotas (copies) whose `status.used` this write raises, with the new amounts; QuotaRefused if over."""
    evaluator = evaluator_for(write.plural, write.group)
    if not evaluator.handles(write.operation, write.obj, write.old):
        return []
    judged = _judged_quotas(evaluator, quotas, write.obj)
    if not judged:
        return []
    charged: list[JsonObject] = []
    for quota, delta in zip(judged, _deltas(evaluator, judged, write, now), strict=True):
        hard, used = hard_of(quota), used_of(quota)
        requested = mask(delta, hard)
        new_used = add(used, requested)
        within, exceeded = less_than_or_equal(mask(new_used, requested), hard)
        if not within:
            raise QuotaRefused(f"exceeded quota: {name_of(quota)}, requested: {pretty(mask(requested, exceeded))}, "
                               f"used: {pretty(mask(used, exceeded))}, limited: {pretty(mask(hard, exceeded))}")
        if not equal(new_used, used):
            charged.append(with_used(quota, new_used))
    return charged


def with_used(quota: Mapping[str, Any], used: ResourceList) -> JsonObject:
    """A copy of `quota` whose `status.used` is `used`."""
    status = dict(status_of(quota))
    status["used"] = to_json(used)
    return {**quota, "status": status}
