"""The namespace controller's decisions: empty a terminating namespace, then let it go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.kinds import CONFIG_MAPS, DEPLOYMENTS, PODS
from minik8s.controllers.namespace.plan import finalized, is_terminating, plan_namespace_deletion

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def namespace(*, deleting: bool = True, finalizers: tuple[str, ...] = ("kubernetes",),
              conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "team", "uid": "ns-uid", "resourceVersion": "7"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-03-01T11:00:00Z"
    return {"metadata": metadata, "spec": {"finalizers": list(finalizers)},
            "status": {"phase": "Terminating" if deleting else "Active", "conditions": conditions or []}}


def item(name: str, *, deleting: bool = False, finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "team", "uid": f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-03-01T11:00:00Z"
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    return {"metadata": metadata}


def conditions_by_type(conditions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in conditions}


@pytest.mark.parametrize(("case", "the_namespace", "terminating"), [
    ("active", namespace(deleting=False), False),
    ("deleting, ours to finalize", namespace(), True),
    ("deleting, already finalized", namespace(finalizers=()), False),
])
def test_is_terminating(case: str, the_namespace: dict[str, Any], terminating: bool) -> None:
    assert is_terminating(the_namespace) is terminating, case


def test_active_namespace_is_left_alone() -> None:
    plan = plan_namespace_deletion(namespace(deleting=False), {PODS: [item("web")]}, now=NOW)
    assert plan.deletions == ()
    assert not plan.finalize


def test_everything_not_yet_deleting_is_deleted_and_nothing_finalized() -> None:
    contents = {PODS: [item("web"), item("old", deleting=True)], CONFIG_MAPS: [item("settings")],
                DEPLOYMENTS: []}
    plan = plan_namespace_deletion(namespace(), contents, now=NOW)
    assert sorted((d.kind.plural, d.name, d.uid) for d in plan.deletions) == [
        ("configmaps", "settings", "uid-settings"), ("pods", "web", "uid-web")]
    assert not plan.finalize
    remaining = conditions_by_type(plan.conditions)["NamespaceContentRemaining"]
    assert remaining["status"] == "True"
    assert remaining["reason"] == "SomeResourcesRemain"
    assert remaining["message"] == ("Some resources are remaining: configmaps has 1 resource instances, "
                                    "pods has 2 resource instances")


def test_empty_namespace_is_finalized() -> None:
    plan = plan_namespace_deletion(namespace(), {PODS: [], CONFIG_MAPS: []}, now=NOW)
    assert plan.finalize
    assert plan.deletions == ()
    conditions = conditions_by_type(plan.conditions)
    assert conditions["NamespaceContentRemaining"]["status"] == "False"
    assert conditions["NamespaceContentRemaining"]["reason"] == "ContentRemoved"
    assert conditions["NamespaceFinalizersRemaining"]["reason"] == "ContentHasNoFinalizers"


def test_finalizers_on_content_are_reported() -> None:
    contents = {DEPLOYMENTS: [item("web", deleting=True, finalizers=("foregroundDeletion",))]}
    plan = plan_namespace_deletion(namespace(), contents, now=NOW)
    assert plan.deletions == ()  # already being deleted: the garbage collector finishes it
    finalizers = conditions_by_type(plan.conditions)["NamespaceFinalizersRemaining"]
    assert finalizers["status"] == "True"
    assert finalizers["message"] == ("Some content in the namespace has finalizers remaining: "
                                     "foregroundDeletion in 1 resource instances")
    assert conditions_by_type(plan.conditions)["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: deployments.apps has 1 resource instances")


def test_condition_transition_time_moves_only_when_status_flips() -> None:
    earlier = "2026-03-01T11:30:00Z"
    previous = [{"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": earlier},
                {"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": earlier}]
    plan = plan_namespace_deletion(namespace(conditions=previous), {PODS: [item("web")]}, now=NOW)
    conditions = conditions_by_type(plan.conditions)
    assert conditions["NamespaceContentRemaining"]["lastTransitionTime"] == earlier  # still True
    assert conditions["NamespaceFinalizersRemaining"]["lastTransitionTime"] == "2026-03-01T12:00:00Z"  # flipped


def test_finalized_drops_only_the_kubernetes_finalizer() -> None:
    original = namespace(finalizers=("kubernetes", "example.com/other"))
    result = finalized(original)
    assert result["spec"]["finalizers"] == ["example.com/other"]
    assert result["metadata"]["resourceVersion"] == "7"  # the write stays guarded
    assert original["spec"]["finalizers"] == ["kubernetes", "example.com/other"]  # input untouched
