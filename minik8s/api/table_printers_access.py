"""The Table cells of the kinds that say who may do what — ServiceAccounts and RBAC — and how much — LimitRanges
and ResourceQuotas — as printServiceAccount, printRole, printRoleBinding, printLimitRange and printResourceQuota
in Kubernetes' printers.go.

A ServiceAccount prints how many Secrets it lists. Roles print their creation time (`CREATED AT`, RFC 3339 in UTC), bindings `Kind/name` of the role
they grant, then (wide) the users, groups and `namespace/name` service accounts they bind. A LimitRange prints
its creation time; a ResourceQuota `name: used/hard` for each resource it enforces, sorted, `limits.*` under
LIMIT and the rest under REQUEST.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.resource_lists import Quantity
from minik8s.api.table_values import age, as_list, as_map, as_str, name_of


def service_account_cells(account: Mapping[str, Any], now: datetime) -> list[Any]:
    secrets = account.get("secrets")
    return [name_of(account), len(secrets) if isinstance(secrets, list) else 0, age(account, now)]


def role_cells(role: Mapping[str, Any], _: datetime) -> list[Any]:
    return [name_of(role), as_str(as_map(role.get("metadata")).get("creationTimestamp"))]


def _subject_strings(binding: Mapping[str, Any]) -> list[str]:
    """rbac.SubjectsStrings: users, groups and service accounts, each joined with ", "."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for subject in (as_map(item) for item in as_list(binding.get("subjects"))):
        kind, name = as_str(subject.get("kind")), as_str(subject.get("name"))
        if kind == "ServiceAccount":
            accounts.append(f"{as_str(subject.get('namespace'))}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [", ".join(users), ", ".join(groups), ", ".join(accounts)]


def binding_cells(binding: Mapping[str, Any], now: datetime) -> list[Any]:
    role_ref = as_map(binding.get("roleRef"))
    return [name_of(binding), f"{as_str(role_ref.get('kind'))}/{as_str(role_ref.get('name'))}", age(binding, now),
            *_subject_strings(binding)]


def limit_range_cells(limit_range: Mapping[str, Any], now: datetime) -> list[Any]:
    return role_cells(limit_range, now)


def _quantity_text(value: Any) -> str:
    try:
        return str(Quantity.parse(value)) if value is not None else "0"
    except ValueError:
        return str(value)


def resource_quota_cells(quota: Mapping[str, Any], now: datetime) -> list[Any]:
    status = as_map(quota.get("status"))
    hard, used = as_map(status.get("hard")), as_map(status.get("used"))
    request: list[str] = []
    limit: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        column = limit if len(pieces) > 1 and pieces[0] == "limits" else request
        column.append(f"{resource}: {_quantity_text(used.get(resource))}/{_quantity_text(hard[resource])}")
    return [name_of(quota), age(quota, now), ", ".join(request), ", ".join(limit)]
