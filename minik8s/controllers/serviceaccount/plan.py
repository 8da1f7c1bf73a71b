"""Which ServiceAccounts a namespace is missing, decided without side effects.

Kubernetes' ServiceAccountsController (pkg/controller/serviceaccount/serviceaccounts_controller.go)
ensures the accounts of its options — only `default` — in every namespace whose phase is
Active; a namespace being deleted gets nothing, so that emptying it can finish.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject

DEFAULT_SERVICE_ACCOUNT = "default"
ENSURED_SERVICE_ACCOUNTS: tuple[str, ...] = (DEFAULT_SERVICE_ACCOUNT,)


def is_active(namespace: Mapping[str, Any]) -> bool:
    """Phase Active (a missing phase is Active, as defaulting sets it) and not marked for deletion."""
    phase = meta.status_of(namespace).get("phase") or "Active"
    return phase == "Active" and not meta.is_deleting(namespace)


def missing_service_accounts(namespace: Mapping[str, Any] | None, existing: Collection[str]) -> list[str]:
    """The names of the ensured accounts that `namespace` lacks; none when it is gone or terminating."""
    if namespace is None or not is_active(namespace):
        return []
    return [name for name in ENSURED_SERVICE_ACCOUNTS if name not in existing]


def new_service_account(namespace: str, name: str) -> JsonObject:
    """The ServiceAccount the controller creates: a name and nothing else, as Kubernetes' does."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
