"""The ServiceAccount controller's decision: which accounts an active namespace is missing."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.controllers.serviceaccount.plan import is_active, missing_service_accounts, new_service_account


def namespace(phase: str | None = "Active", *, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "team"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-03-01T11:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase} if phase else {}}


@pytest.mark.parametrize(("case", "the_namespace", "existing", "missing"), [
    ("new namespace", namespace(), [], ["default"]),
    ("default already there", namespace(), ["default"], []),
    ("other accounts do not count", namespace(), ["robot"], ["default"]),
    ("no phase yet counts as Active", namespace(None), [], ["default"]),
    ("terminating: nothing", namespace("Terminating", deleting=True), [], []),
    ("marked for deletion, phase not yet written", namespace("Active", deleting=True), [], []),
    ("namespace gone", None, [], []),
])
def test_missing_service_accounts(case: str, the_namespace: dict[str, Any] | None, existing: list[str],
                                  missing: list[str]) -> None:
    assert missing_service_accounts(the_namespace, existing) == missing, case


def test_is_active() -> None:
    assert is_active(namespace())
    assert not is_active(namespace("Terminating"))


def test_the_new_account_is_only_a_name_in_its_namespace() -> None:
    assert new_service_account("team", "default") == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "team"}}
