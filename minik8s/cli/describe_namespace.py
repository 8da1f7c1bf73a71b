"""The policy sections of `describe namespace`: its ResourceQuotas and LimitRanges, as kubectl prints them.

kubectl's describeNamespace ends with DescribeResourceQuotas (each quota's name, scopes with their
help text, then `Resource  Used  Hard` per enforced resource, by name) and DescribeLimitRanges (one
`Type  Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio` row per resource
of every item, `-` where a column has nothing), or `No resource quota.` / `No LimitRange resource.`.
Amounts print as Kubernetes prints quantities (`500m`, `1Gi`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api.limit_ranger import limit_items
from minik8s.api.resource_lists import Quantity
from minik8s.api.table_values import as_list, as_map, as_str
from minik8s.cli.describe_text import DescribeWriter

SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited lifespan on a node "
                   "before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods usually include long running "
                      "pods whose container command is not expected to terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods have a best effort quality "
                  "of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. These pods have a burstable or "
                     "guaranteed quality of service.",
}
_LIMIT_COLUMNS = ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")


def quantity_text(value: Any) -> str:
    """An amount as Quantity.String() prints it; an absent one is `0`."""
    if value is None:
        return "0"
    try:
        return str(Quantity.parse(value))
    except ValueError:
        return str(value)


def write_policy(writer: DescribeWriter, quotas: Sequence[Mapping[str, Any]] | None,
                 limit_ranges: Sequence[Mapping[str, Any]] | None) -> None:
    """The two sections; one that was not looked up (None) is left out, as kubectl leaves it."""
    if quotas is not None:
        writer.write(0, "\n")
        write_resource_quotas(writer, quotas)
    if limit_ranges is not None:
        writer.write(0, "\n")
        write_limit_ranges(writer, limit_ranges)


def write_resource_quotas(writer: DescribeWriter, quotas: Sequence[Mapping[str, Any]]) -> None:
    if not quotas:
        writer.write(0, "No resource quota.\n")
        return
    writer.write(0, "Resource Quotas\n")
    for quota in sorted(quotas, key=lambda q: as_str(as_map(q.get("metadata")).get("name"))):
        writer.write(1, f"Name:\t{as_str(as_map(quota.get('metadata')).get('name'))}\n")
        scopes = sorted(as_str(scope) for scope in as_list(as_map(quota.get("spec")).get("scopes")))
        if scopes:
            writer.write(1, f"Scopes:\t{', '.join(scopes)}\n")
            for scope in scopes:
                if scope in SCOPE_HELP:
                    writer.write(1, f"* {SCOPE_HELP[scope]}\n")
        writer.write(1, "Resource\tUsed\tHard\n")
        writer.write(1, "--------\t---\t---\n")
        status = as_map(quota.get("status"))
        hard, used = as_map(status.get("hard")), as_map(status.get("used"))
        for resource in sorted(hard):
            writer.write(1, f"{resource}\t{quantity_text(used.get(resource))}\t{quantity_text(hard[resource])}\n")


def write_limit_ranges(writer: DescribeWriter, limit_ranges: Sequence[Mapping[str, Any]]) -> None:
    if not limit_ranges:
        writer.write(0, "No LimitRange resource.\n")
        return
    writer.write(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\t"
                    "Max Limit/Request Ratio\n")
    writer.write(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
    for limit_range in limit_ranges:
        for item in limit_items(limit_range):
            columns = [as_map(item.get(column)) for column in _LIMIT_COLUMNS]
            for resource in sorted({name for column in columns for name in column}):
                cells = [quantity_text(column[resource]) if resource in column else "-" for column in columns]
                writer.write(0, f" {as_str(item.get('type'))}\t{resource}\t{chr(9).join(cells)}\n")
