"""The Table cells of the kinds that say who may do what — ServiceAccounts and RBAC — as
printServiceAccount, printRole and printRoleBinding in Kubernetes' printers.go.

A ServiceAccount prints how many Secrets it lists. Roles print their creation time (`CREATED AT`, RFC 3339 in UTC), bindings `Kind/name` of the role
they grant, then (wide) the users, groups and `namespace/name` service accounts they bind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
