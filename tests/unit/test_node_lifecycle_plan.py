"""The node lifecycle decisions: silent nodes turn Unknown and tainted, pods leave on NoExecute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.meta import format_time, parse_time
from minik8s.controllers.common.taints import tolerates
from minik8s.controllers.node_lifecycle.controller import PodsByNode
from minik8s.controllers.node_lifecycle.health import (
    desired_taints,
    heartbeat_signature,
    needs_attention,
    observe_heartbeat,
    plan_node,
    pod_not_ready_status,
    unknown_conditions,
)
from minik8s.controllers.node_lifecycle.taint_eviction import plan_eviction

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


def taint(key: str, effect: str = "NoExecute", *, value: str = "", added: datetime | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"key": key, "effect": effect}
    if value:
        result["value"] = value
    if added is not None:
        result["timeAdded"] = format_time(added)
    return result


def toleration(key: str = "", *, operator: str = "Exists", effect: str = "NoExecute", value: str = "",
               seconds: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"key": key, "operator": operator, "effect": effect}
    if value:
        result["value"] = value
    if seconds is not None:
        result["tolerationSeconds"] = seconds
    return result


def pod(*tolerations: dict[str, Any], deleting: bool = False, ready: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "u1"}
    if deleting:
        metadata["deletionTimestamp"] = format_time(NOW)
    status: dict[str, Any] = {"phase": "Running"}
    if ready is not None:
        status["conditions"] = [{"type": "PodScheduled", "status": "True"},
                                {"type": "Ready", "status": ready, "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    return {"metadata": metadata, "spec": {"nodeName": "node-1", "tolerations": list(tolerations)},
            "status": status}


def node(ready: str | None = "True", *, taints: list[dict[str, Any]] | None = None,
         unschedulable: bool = False) -> dict[str, Any]:
    conditions = []
    if ready is not None:
        conditions = [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
             "lastHeartbeatTime": "2026-03-01T11:59:00Z", "lastTransitionTime": "2026-03-01T10:00:00Z"},
            {"type": "Ready", "status": ready, "reason": "KubeletReady", "message": "kubelet is posting ready status",
             "lastHeartbeatTime": "2026-03-01T11:59:00Z", "lastTransitionTime": "2026-03-01T10:00:00Z"},
        ]
    spec: dict[str, Any] = {}
    if taints is not None:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": "node-1", "creationTimestamp": "2026-03-01T09:00:00Z"}, "spec": spec,
            "status": {"conditions": conditions}}


# -- tolerations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [
    (toleration(UNREACHABLE), True),
    (toleration(), True),  # empty key + Exists: tolerates everything
    (toleration(NOT_READY), False),
    (toleration(UNREACHABLE, effect="NoSchedule"), False),
    (toleration(UNREACHABLE, effect=""), True),
    (toleration(UNREACHABLE, operator="Equal"), True),  # empty value equals empty value
    (toleration(UNREACHABLE, operator="Equal", value="x"), False),
])
def test_tolerates_matches_key_effect_and_value(given: dict[str, Any], expected: bool) -> None:
    assert tolerates(given, taint(UNREACHABLE)) is expected


def test_equal_toleration_needs_the_taints_value() -> None:
    dedicated = taint("dedicated", value="gpu")
    assert tolerates(toleration("dedicated", operator="Equal", value="gpu"), dedicated)
    assert not tolerates(toleration("dedicated", operator="Equal", value="cpu"), dedicated)


# -- eviction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "the_pod", "taints", "evict", "recheck_after"), [
    ("no taints", pod(), [], False, None),
    ("NoSchedule is not NoExecute", pod(), [taint(UNSCHEDULABLE, "NoSchedule")], False, None),
    ("not tolerated: at once", pod(), [taint(UNREACHABLE, added=NOW)], True, None),
    ("tolerated for ever", pod(toleration(UNREACHABLE)), [taint(UNREACHABLE, added=NOW)], False, None),
    ("tolerated 300 s, just added", pod(toleration(UNREACHABLE, seconds=300)),
     [taint(UNREACHABLE, added=NOW)], False, 300.0),
    ("tolerated 2 s, added 1 s ago", pod(toleration(UNREACHABLE, seconds=2)),
     [taint(UNREACHABLE, added=NOW - timedelta(seconds=1))], False, 1.0),
    ("tolerated 2 s, added 5 s ago", pod(toleration(UNREACHABLE, seconds=2)),
     [taint(UNREACHABLE, added=NOW - timedelta(seconds=5))], True, None),
    ("tolerationSeconds 0", pod(toleration(UNREACHABLE, seconds=0)), [taint(UNREACHABLE, added=NOW)], True, None),
    ("negative counts as 0", pod(toleration(UNREACHABLE, seconds=-5)), [taint(UNREACHABLE, added=NOW)], True, None),
    ("one of two taints untolerated", pod(toleration(UNREACHABLE)),
     [taint(UNREACHABLE, added=NOW), taint("dedicated", added=NOW)], True, None),
    ("earliest deadline wins", pod(toleration(UNREACHABLE, seconds=300), toleration("dedicated", seconds=10)),
     [taint(UNREACHABLE, added=NOW), taint("dedicated", added=NOW)], False, 10.0),
    ("no timeAdded counts from now", pod(toleration(UNREACHABLE, seconds=30)), [taint(UNREACHABLE)], False, 30.0),
    ("already terminating", pod(deleting=True), [taint(UNREACHABLE, added=NOW)], False, None),
])
def test_plan_eviction(case: str, the_pod: dict[str, Any], taints: list[dict[str, Any]], evict: bool,
                       recheck_after: float | None) -> None:
    decision = plan_eviction(the_pod, taints, now=NOW)
    assert decision.evict is evict, case
    assert decision.recheck_after == recheck_after, case


def test_parse_time_reads_seconds_and_micro_time() -> None:
    assert parse_time("2026-03-01T12:00:00Z") == NOW
    assert parse_time("2026-03-01T12:00:00.250000Z") == NOW + timedelta(milliseconds=250)
    assert parse_time("garbage") is None
    assert parse_time(None) is None


# -- node health ---------------------------------------------------------------------------------


def test_a_changed_heartbeat_is_observed_at_our_clock() -> None:
    first = observe_heartbeat(None, ("r1", "h1"), now=10.0)
    assert first.observed_at == 10.0
    assert observe_heartbeat(first, ("r1", "h1"), now=50.0) is first  # nothing moved: still 10
    assert observe_heartbeat(first, ("r2", "h1"), now=50.0).observed_at == 50.0  # lease renewed
    assert observe_heartbeat(first, ("r1", "h2"), now=60.0).observed_at == 60.0  # status posted


def test_heartbeat_signature_reads_lease_and_ready_condition() -> None:
    lease = {"spec": {"renewTime": "2026-03-01T11:59:30.000000Z"}}
    assert heartbeat_signature(node(), lease) == ("2026-03-01T11:59:30.000000Z", "2026-03-01T11:59:00Z")
    assert heartbeat_signature(node(None), None) == ("", "")


def test_silent_node_conditions_turn_unknown() -> None:
    conditions = unknown_conditions(node("True"), now=NOW)
    assert conditions is not None
    by_type = {c["type"]: c for c in conditions}
    assert set(by_type) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    ready = by_type["Ready"]
    assert ready["status"] == "Unknown"
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastTransitionTime"] == format_time(NOW)
    assert ready["lastHeartbeatTime"] == "2026-03-01T11:59:00Z"  # kept: the last real heartbeat
    assert by_type["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert unknown_conditions({"metadata": {}, "status": {"conditions": conditions}}, now=NOW) is None


def test_node_that_never_posted_status_gets_never_updated() -> None:
    conditions = unknown_conditions(node(None), now=NOW)
    assert conditions is not None
    ready = next(c for c in conditions if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
    assert ready["lastHeartbeatTime"] == "2026-03-01T09:00:00Z"


# -- taints --------------------------------------------------------------------------------------


def keys(taints: list[dict[str, Any]] | None) -> list[tuple[str, str]] | None:
    return None if taints is None else [(t["key"], t["effect"]) for t in taints]


@pytest.mark.parametrize(("case", "the_node", "expected"), [
    ("healthy, untainted: nothing to do", node("True"), None),
    ("unknown: unreachable", node("Unknown"), [(UNREACHABLE, "NoExecute")]),
    ("not ready: not-ready", node("False"), [(NOT_READY, "NoExecute")]),
    ("unknown to not ready swaps", node("False", taints=[taint(UNREACHABLE, added=NOW)]), [(NOT_READY, "NoExecute")]),
    ("recovered: removed", node("True", taints=[taint(UNREACHABLE, added=NOW)]), []),
    ("other taints stay", node("True", taints=[taint("dedicated"), taint(UNREACHABLE, added=NOW)]),
     [("dedicated", "NoExecute")]),
    ("cordoned", node("True", unschedulable=True), [(UNSCHEDULABLE, "NoSchedule")]),
    ("uncordoned", node("True", taints=[taint(UNSCHEDULABLE, "NoSchedule")]), []),
    ("already right", node("Unknown", taints=[taint(UNREACHABLE, added=NOW)]), None),
    ("never reported: NoExecute kept", node(None, taints=[taint(UNREACHABLE, added=NOW)]), None),
])
def test_desired_taints(case: str, the_node: dict[str, Any], expected: list[tuple[str, str]] | None) -> None:
    assert keys(desired_taints(the_node, now=NOW)) == expected, case


def test_no_execute_taints_get_time_added_and_keep_it() -> None:
    later = NOW + timedelta(minutes=5)
    added = desired_taints(node("Unknown"), now=NOW)
    assert added == [{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": format_time(NOW)}]
    assert desired_taints(node("Unknown", taints=added), now=later) is None
    cordon = desired_taints(node("True", unschedulable=True), now=NOW)
    assert cordon == [{"key": UNSCHEDULABLE, "effect": "NoSchedule"}]


def test_plan_node_stale_ready_node() -> None:
    plan = plan_node(node("True"), stale=True, now=NOW)
    assert plan.conditions is not None
    assert keys(plan.taints) == [(UNREACHABLE, "NoExecute")]
    assert plan.report_not_ready


def test_plan_node_fresh_node_only_syncs_taints() -> None:
    plan = plan_node(node("True", taints=[taint(UNREACHABLE, added=NOW)]), stale=False, now=NOW)
    assert plan.conditions is None
    assert plan.taints == []
    assert not plan.report_not_ready


def test_plan_node_already_unknown_reports_nothing_new() -> None:
    plan = plan_node(node("Unknown", taints=[taint(UNREACHABLE, added=NOW)]), stale=True, now=NOW)
    assert plan.taints is None
    assert not plan.report_not_ready


# -- pods ----------------------------------------------------------------------------------------


def test_ready_pod_is_marked_not_ready() -> None:
    status = pod_not_ready_status(pod(ready="True"), now=NOW)
    assert status is not None
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready == {"type": "Ready", "status": "False", "lastTransitionTime": format_time(NOW)}
    assert pod_not_ready_status(pod(ready="False"), now=NOW) is None
    assert pod_not_ready_status(pod(), now=NOW) is None


def test_needs_attention() -> None:
    assert needs_attention(None)
    assert needs_attention(node("Unknown"))
    assert needs_attention(node("True", taints=[taint("dedicated")]))
    assert not needs_attention(node("True", taints=[taint(UNSCHEDULABLE, "NoSchedule")]))


def test_pods_by_node_follows_binding_and_deletion() -> None:
    index = PodsByNode()
    unbound = {"metadata": {"name": "a", "namespace": "ns"}, "spec": {}}
    assert index.update(unbound) == ""
    assert index.node_names() == []
    bound = {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "node-1"}}
    index.update(bound)
    index.update({"metadata": {"name": "b", "namespace": "ns"}, "spec": {"nodeName": "node-1"}})
    assert index.pods_on("node-1") == ["ns/a", "ns/b"]
    index.remove(bound)
    assert index.pods_on("node-1") == ["ns/b"]
    assert index.pods_on("node-2") == []
