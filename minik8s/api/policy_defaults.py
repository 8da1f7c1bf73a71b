"""The defaults of LimitRange and ResourceQuota, and the amounts they hold written as Kubernetes writes them.

SetDefaults_LimitRangeItem: for a Container item, a missing default limit is the max, a missing
default request is the default limit, else the min — so a LimitRange with only `max: {cpu: 1}`
gives every container a 1 CPU limit and request. Kubernetes also stores every quantity in its
canonical form (`1000m` reads back as `1`, `1024Mi` as `1Gi`); the amounts of these two kinds are
what users compare with `kubectl describe`, so they are stored that way here too. Amounts that do
not parse are left for validation to report.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject
from minik8s.api.resource_lists import Quantity

_LIMIT_FIELDS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


def canonical_amounts(amounts: Any) -> None:
    """Each quantity of a resource map written as Kubernetes prints it (`1000m` → `1`); bad ones left for validation."""
    if not isinstance(amounts, dict):
        return
    for name, raw in amounts.items():
        try:
            amounts[name] = str(Quantity.parse(raw))
        except ValueError:
            continue


def _fill_missing(target: dict[str, Any], source: Any) -> None:
    for name, value in (source.items() if isinstance(source, dict) else ()):
        target.setdefault(name, value)


def default_limit_range(limit_range: JsonObject, _: bool) -> None:
    spec = limit_range.get("spec")
    items = spec.get("limits") if isinstance(spec, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        for field in _LIMIT_FIELDS:
            canonical_amounts(item.get(field))
        if item.get("type") != "Container":
            continue
        default = dict(item["default"]) if isinstance(item.get("default"), dict) else {}
        request = dict(item["defaultRequest"]) if isinstance(item.get("defaultRequest"), dict) else {}
        _fill_missing(default, item.get("max"))
        _fill_missing(request, default)
        _fill_missing(request, item.get("min"))
        for field, amounts in (("default", default), ("defaultRequest", request)):
            if amounts and (item.get(field) is None or isinstance(item.get(field), dict)):
                item[field] = amounts


def default_resource_quota(quota: JsonObject, _: bool) -> None:
    for part, fields in (("spec", ("hard",)), ("status", ("hard", "used"))):
        section = quota.get(part)
        if isinstance(section, dict):
            for field in fields:
                canonical_amounts(section.get(field))
