"""What a ResourceQuota's status should say, decided from the objects in its namespace, without side effects.

Kubernetes' ResourceQuotaController (pkg/controller/resourcequota, syncResourceQuota): `status.hard`
is the spec's `hard`; `status.used` holds, for every hard resource some evaluator counts, the
namespace's usage (the same evaluators admission charges with, api/quota_usage.py), keeps what it
said before for the rest and drops what the quota no longer bounds. Counting a kind means listing it,
so `kinds_to_count` names only the kinds whose evaluator answers for one of the quota's resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, spec_of, status_of
from minik8s.api.quota_names import PERSISTENT_VOLUME_CLAIMS, REPLICATION_CONTROLLERS
from minik8s.api.quota_usage import IGNORED, evaluator_for, namespace_usage, scopes_of
from minik8s.api.registry import ResourceKind
from minik8s.api.resource_lists import ResourceList, add, equal, mask, parse_list, to_json

# Kinds Kubernetes counts that minik8s does not serve: a quota naming them counts none of them.
UNSERVED: tuple[tuple[str, str], ...] = ((PERSISTENT_VOLUME_CLAIMS, ""), (REPLICATION_CONTROLLERS, ""))

Objects = Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]  # (plural, group) → the namespace's objects


def hard_of_spec(quota: Mapping[str, Any]) -> ResourceList:
    return parse_list(spec_of(quota).get("hard"))


def kinds_to_count(quota: Mapping[str, Any], served: Iterable[ResourceKind]) -> list[ResourceKind]:
    """The namespaced kinds whose objects the quota's resources count (events are never counted)."""
    hard = hard_of_spec(quota)
    return [kind for kind in served if kind.namespaced and not (kind.group == "" and kind.plural in IGNORED)
            and evaluator_for(kind.plural, kind.group).matching(hard)]


def desired_status(quota: Mapping[str, Any], objects: Objects, now: datetime) -> JsonObject:
    """The quota's status: the spec's limits, and the usage `objects` (and unserved kinds: none) add up to."""
    hard = hard_of_spec(quota)
    scopes = scopes_of(quota)
    counted: ResourceList = {}
    for (plural, group), items in [*objects.items(), *((kind, ()) for kind in UNSERVED)]:
        evaluator = evaluator_for(plural, group)
        if evaluator.matching(hard):
            counted = add(counted, namespace_usage(evaluator, hard, items, scopes, now))
    used = {**parse_list(status_of(quota).get("used")), **counted}
    return {"hard": to_json(hard), "used": to_json(mask(used, hard))}


def status_changed(quota: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether writing `desired` changes anything: a missing hard or used, or a different amount."""
    status = status_of(quota)
    if status.get("hard") is None or status.get("used") is None:
        return True
    return not (equal(parse_list(status.get("hard")), parse_list(desired.get("hard")))
                and equal(parse_list(status.get("used")), parse_list(desired.get("used"))))
