"""The garbage collector's decisions: Background, Foreground and Orphan propagation."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.kinds import DEPLOYMENTS, PODS, REPLICA_SETS
from minik8s.controllers.garbage_collector.ownership import ItemRef, OwnershipGraph, item_key, owner_uids
from minik8s.controllers.garbage_collector.plan import (
    CheckItems,
    DeleteItem,
    OwnerState,
    RemoveFinalizer,
    RemoveOwnerReferences,
    owner_state_of,
    plan_deleting_owner,
    plan_dependent,
)

PRESENT, ABSENT, WAITING, UNRESOLVABLE = (OwnerState.PRESENT, OwnerState.ABSENT, OwnerState.WAITING,
                                          OwnerState.UNRESOLVABLE)


def reference(uid: str, *, block: bool = False, kind: str = "ReplicaSet") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": f"owner-{uid}", "uid": uid, "controller": True,
            "blockOwnerDeletion": block}


def obj(name: str, *references: dict[str, Any], deleting: bool = False, finalizers: tuple[str, ...] = (),
        resource_version: str = "5") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "resourceVersion": resource_version}
    if references:
        metadata["ownerReferences"] = list(references)
    if deleting:
        metadata["deletionTimestamp"] = "2026-03-01T12:00:00Z"
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    return {"metadata": metadata}


def ref(kind: Any, the_obj: dict[str, Any]) -> ItemRef:
    return ItemRef.of(kind, the_obj)


# -- dependents ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "references", "states", "has_dependents", "expected"), [
    ("owner alive", ["a"], {"a": PRESENT}, False, "keep"),
    ("owner gone: background", ["a"], {"a": ABSENT}, False, "Background"),
    ("all owners gone", ["a", "b"], {"a": ABSENT, "b": ABSENT}, False, "Background"),
    ("one gone, one alive: drop the reference", ["a", "b"], {"a": ABSENT, "b": PRESENT}, False, {"a"}),
    ("foreground owner, no own dependents", ["a"], {"a": WAITING}, False, "Background"),
    ("foreground owner, own dependents", ["a"], {"a": WAITING}, True, "Foreground"),
    ("foreground owner and a live one", ["a", "b"], {"a": WAITING, "b": PRESENT}, True, {"a"}),
    ("unknown kind is never a reason to delete", ["a"], {"a": UNRESOLVABLE}, False, "keep"),
    ("unresolved state counts as alive", ["a"], {}, False, "keep"),
])
def test_plan_dependent(case: str, references: list[str], states: dict[str, OwnerState], has_dependents: bool,
                        expected: Any) -> None:
    pod = obj("web", *(reference(uid) for uid in references))
    actions = plan_dependent(ref(PODS, pod), pod, states, has_dependents=has_dependents)
    if expected == "keep":
        assert actions == [], case
    elif isinstance(expected, set):
        assert actions == [RemoveOwnerReferences(ref(PODS, pod), frozenset(expected))], case
    else:
        assert actions == [DeleteItem(ref(PODS, pod), expected, "5")], case


def test_dependent_already_being_deleted_is_left_alone() -> None:
    pod = obj("web", reference("a"), deleting=True)
    assert plan_dependent(ref(PODS, pod), pod, {"a": ABSENT}, has_dependents=False) == []


def test_object_without_owners_is_never_collected() -> None:
    pod = obj("web")
    assert plan_dependent(ref(PODS, pod), pod, {}, has_dependents=False) == []


def test_references_without_uid_are_ignored() -> None:
    pod = obj("web", {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"})
    assert owner_uids(pod) == frozenset()
    assert plan_dependent(ref(PODS, pod), pod, {}, has_dependents=False) == []


# -- owners being deleted ------------------------------------------------------------------------


def test_orphan_owner_releases_dependents_then_its_finalizer() -> None:
    owner = obj("rs", deleting=True, finalizers=("orphan",))
    owner_ref = ref(REPLICA_SETS, owner)
    pods = [obj(name, reference("uid-rs")) for name in ("p1", "p2")]
    actions = plan_deleting_owner(owner_ref, owner, [(ref(PODS, p), p) for p in pods])
    assert actions == [
        RemoveOwnerReferences(ref(PODS, pods[0]), frozenset({"uid-rs"})),
        RemoveOwnerReferences(ref(PODS, pods[1]), frozenset({"uid-rs"})),
        RemoveFinalizer(owner_ref, "orphan"),
    ]


def test_orphan_owner_without_dependents_just_drops_the_finalizer() -> None:
    owner = obj("rs", deleting=True, finalizers=("orphan",))
    assert plan_deleting_owner(ref(REPLICA_SETS, owner), owner, []) == [RemoveFinalizer(ref(REPLICA_SETS, owner),
                                                                                       "orphan")]


def test_foreground_owner_has_blocking_dependents_deleted_first() -> None:
    owner = obj("web", deleting=True, finalizers=("foregroundDeletion",))
    blocking = obj("rs1", reference("uid-web", block=True, kind="Deployment"))
    gone_soon = obj("rs2", reference("uid-web", block=True, kind="Deployment"), deleting=True)
    loose = obj("rs3", reference("uid-web", kind="Deployment"))
    dependents = [(ref(REPLICA_SETS, d), d) for d in (blocking, gone_soon, loose)]
    actions = plan_deleting_owner(ref(DEPLOYMENTS, owner), owner, dependents)
    assert actions == [CheckItems((ref(REPLICA_SETS, blocking).key, ref(REPLICA_SETS, loose).key))]


def test_foreground_owner_waits_for_dependents_already_terminating() -> None:
    owner = obj("web", deleting=True, finalizers=("foregroundDeletion",))
    terminating = obj("rs1", reference("uid-web", block=True, kind="Deployment"), deleting=True)
    assert plan_deleting_owner(ref(DEPLOYMENTS, owner), owner, [(ref(REPLICA_SETS, terminating), terminating)]) == []


def test_foreground_owner_goes_when_no_blocking_dependent_is_left() -> None:
    owner = obj("web", deleting=True, finalizers=("foregroundDeletion",))
    loose = obj("rs3", reference("uid-web", kind="Deployment"))
    actions = plan_deleting_owner(ref(DEPLOYMENTS, owner), owner, [(ref(REPLICA_SETS, loose), loose)])
    assert actions == [RemoveFinalizer(ref(DEPLOYMENTS, owner), "foregroundDeletion")]


def test_owner_not_being_deleted_needs_nothing() -> None:
    owner = obj("web", finalizers=("foregroundDeletion",))
    assert plan_deleting_owner(ref(DEPLOYMENTS, owner), owner, []) == []


@pytest.mark.parametrize(("case", "found", "state"), [
    ("not found", None, ABSENT),
    ("same name, other uid", obj("other"), ABSENT),
    ("alive", obj("rs"), PRESENT),
    ("background-deleting owner is still alive", obj("rs", deleting=True), PRESENT),
    ("foreground-deleting owner waits", obj("rs", deleting=True, finalizers=("foregroundDeletion",)), WAITING),
])
def test_owner_state_of(case: str, found: dict[str, Any] | None, state: OwnerState) -> None:
    assert owner_state_of(found, "uid-rs") is state, case


# -- the dependents index ------------------------------------------------------------------------


def test_ownership_graph_tracks_owner_changes() -> None:
    graph = OwnershipGraph()
    pod = obj("web", reference("uid-rs"))
    key = item_key(PODS, pod)
    assert key == "pods|default/web"
    graph.update(key, "uid-web", owner_uids(pod))
    assert graph.dependents("uid-rs") == [key]
    assert graph.item_of("uid-web") == key
    previous = graph.update(key, "uid-web", frozenset({"uid-other"}))
    assert previous == frozenset({"uid-rs"})
    assert graph.dependents("uid-rs") == []
    assert graph.dependents("uid-other") == [key]
    assert graph.remove(key, "uid-web") == frozenset({"uid-other"})
    assert graph.dependents("uid-other") == []
    assert graph.item_of("uid-web") is None
