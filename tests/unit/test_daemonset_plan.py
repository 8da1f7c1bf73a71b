"""The DaemonSet decision, table by table: placement, taints, failures, rolling updates, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.controllers.daemonset.nodes import node_should_run, with_daemon_tolerations
from minik8s.controllers.daemonset.plan import DaemonSetInputs, DaemonSetPlan, plan_daemon_set
from minik8s.controllers.daemonset.pods import REVISION_HASH_LABEL, build_daemon_pod, template_hash
from minik8s.controllers.daemonset.rollout import scaled_value
from tests.support import builders

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DS_UID = "ds-uid"


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         ready: str = "True") -> dict[str, Any]:
    return builders.node(name, labels={"kubernetes.io/hostname": name, **(labels or {})}, taints=taints or [],
                         ready=ready)


def daemon_set(*, image: str = "agent:1", spec_extra: dict[str, Any] | None = None,
               strategy: dict[str, Any] | None = None, min_ready: int = 0, generation: int = 1,
               status: dict[str, Any] | None = None) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": image}], **(spec_extra or {})}}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default", "uid": DS_UID, "generation": generation,
                         "resourceVersion": "5"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template,
                     "updateStrategy": strategy or {"type": "RollingUpdate",
                                                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "minReadySeconds": min_ready},
            "status": status or {}}


CURRENT = template_hash(daemon_set()["spec"]["template"])


def pod(name: str, node_name: str, *, revision: str = CURRENT, phase: str = "Running", ready: bool = True,
        age: float = 100, ready_for: float = 100, owner: str | None = DS_UID, deleting: bool = False,
        labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
        "creationTimestamp": stamp(age),
        "labels": {"app": "agent", REVISION_HASH_LABEL: revision} if labels is None else labels}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                        "uid": owner, "controller": True}]
    if deleting:
        metadata["deletionTimestamp"] = stamp(1)
    condition = {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp(ready_for)}
    return {"metadata": metadata, "spec": {"nodeName": node_name},
            "status": {"phase": phase, "conditions": [condition]}}


def plan(ds: dict[str, Any], nodes: list[dict[str, Any]], pods: list[dict[str, Any]], **extra: Any) -> DaemonSetPlan:
    return plan_daemon_set(DaemonSetInputs(daemon_set=ds, nodes=nodes, pods=pods, now=NOW, **extra))


NO_SCHEDULE = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
NO_EXECUTE = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
TOLERATE_DB = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db"}]}


@pytest.mark.parametrize(("spec_extra", "target", "eligible"), [
    ({}, node("n"), True),
    ({"nodeSelector": {"disk": "ssd"}}, node("n", labels={"disk": "ssd"}), True),
    ({"nodeSelector": {"disk": "ssd"}}, node("n", labels={"disk": "hdd"}), False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}},
     node("n", labels={"zone": "b"}), True),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]},
    ]}}}}, node("n", labels={"zone": "a"}), False),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other"]}]},
        {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]},
    ]}}}}, node("n", labels={"cores": "8"}), True),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other"]}]}]}}}},
     node("n"), False),
    ({}, node("n", taints=[NO_SCHEDULE]), False),
    (TOLERATE_DB, node("n", taints=[NO_SCHEDULE, NO_EXECUTE]), True),
    ({}, node("n", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]), True),
    ({}, node("n", ready="False", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]), True),
    ({}, node("n", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), True),
    ({}, node("n", taints=[{"key": "soft", "effect": "PreferNoSchedule"}]), True),
    ({"nodeName": "other"}, node("n"), False),
])
def test_which_nodes_get_a_pod(spec_extra: dict[str, Any], target: dict[str, Any], eligible: bool) -> None:
    result = plan(daemon_set(spec_extra=spec_extra), [target], [])
    assert result.create_on == (["n"] if eligible else [])


@pytest.mark.parametrize(("taint", "stays"), [
    (NO_SCHEDULE, True),  # a new NoSchedule taint keeps new pods out but does not evict
    (NO_EXECUTE, False),
])
def test_a_running_pod_stays_unless_a_no_execute_taint_evicts_it(taint: dict[str, str], stays: bool) -> None:
    placement = node_should_run(daemon_set(), node("n", taints=[taint]))
    assert (placement.should_run, placement.should_continue_running) == (False, stays)
    result = plan(daemon_set(), [node("n", taints=[taint])], [pod("p", "n")])
    assert result.delete == ([] if stays else ["p"])


def test_one_pod_per_node_and_new_nodes_get_one() -> None:
    nodes = [node("a"), node("b"), node("c")]
    result = plan(daemon_set(), nodes, [pod("pa", "a")])
    assert result.create_on == ["b", "c"] and result.delete == []
    assert result.status is not None and result.status["desiredNumberScheduled"] == 3
    assert result.status["currentNumberScheduled"] == 1


def test_pods_of_removed_or_ineligible_nodes_go() -> None:
    ds = daemon_set(spec_extra={"nodeSelector": {"role": "edge"}})
    nodes = [node("a", labels={"role": "edge"}), node("b")]
    result = plan(ds, nodes, [pod("pa", "a"), pod("pb", "b"), pod("pgone", "gone")])
    assert result.delete == ["pb"] and result.orphaned == ["pgone"]
    assert result.status is not None and result.status["numberMisscheduled"] == 1


def test_excess_pods_on_a_node_keep_the_oldest() -> None:
    result = plan(daemon_set(), [node("a")], [pod("young", "a", age=5), pod("old", "a", age=50)])
    assert result.delete == ["young"] and result.create_on == []


def test_a_failed_pod_is_replaced_with_a_backoff_per_node() -> None:
    failed = pod("pa", "a", phase="Failed", ready=False)
    result = plan(daemon_set(), [node("a")], [failed])
    assert result.delete == ["pa"] and result.failed_pod_nodes == ["a"]
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "FailedDaemonPod")]
    waiting = plan(daemon_set(), [node("a")], [failed], failed_pod_backoff={"a": 4.0})
    assert waiting.delete == [] and waiting.requeue_after == 4.0
    deleted = pod("pa", "a", phase="Failed", ready=False, deleting=True)
    assert plan(daemon_set(), [node("a")], [deleted]).create_on == ["a"]


def test_a_terminating_running_pod_is_waited_for() -> None:
    result = plan(daemon_set(), [node("a")], [pod("pa", "a", deleting=True)])
    assert result.create_on == [] and result.delete == []


def test_nothing_is_placed_while_expectations_are_pending() -> None:
    result = plan(daemon_set(generation=2, status={"observedGeneration": 1}), [node("a")], [],
                  expectations_satisfied=False)
    assert result.create_on == [] and result.status is not None
    assert result.status["observedGeneration"] == 1  # not raised: this generation was not acted on


def test_claims_adopt_orphans_and_release_pods_that_no_longer_match() -> None:
    orphan = pod("orphan", "a", owner=None)
    relabelled = pod("relabelled", "b", labels={"app": "other"})
    foreign = pod("foreign", "b", owner="someone-else")
    result = plan(daemon_set(), [node("a"), node("b")], [orphan, relabelled, foreign])
    changes = {(c.pod_name, c.adopt): [r["uid"] for r in c.owner_references] for c in result.owner_changes}
    assert changes == {("orphan", True): [DS_UID], ("relabelled", False): []}
    assert result.create_on == ["b"]  # the adopted orphan counts for node a


def test_an_empty_selector_is_refused_with_an_event() -> None:
    ds = daemon_set()
    ds["spec"]["selector"] = {}
    result = plan(ds, [node("a")], [])
    assert result.create_on == [] and [e.reason for e in result.events] == ["SelectingAll"]


def updated(ds: dict[str, Any]) -> tuple[dict[str, Any], str]:
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    ds["metadata"]["generation"] = 2
    return ds, template_hash(ds["spec"]["template"])


@pytest.mark.parametrize(("max_unavailable", "pods_on", "deleted"), [
    (1, {"a": "old", "b": "old", "c": "old"}, ["pa"]),
    (2, {"a": "old", "b": "old", "c": "old"}, ["pa", "pb"]),
    ("50%", {"a": "old", "b": "old", "c": "old"}, ["pa", "pb"]),  # 50% of 3 rounds up to 2
    (1, {"a": "new-unready", "b": "old", "c": "old"}, []),  # one unavailable already: wait
    (1, {"a": "new", "b": "old", "c": "old"}, ["pb"]),
    (1, {"a": "old-unready", "b": "old", "c": "old"}, ["pa", "pb"]),  # unavailable old pods cost nothing
])
def test_rolling_update_respects_max_unavailable(max_unavailable: Any, pods_on: dict[str, str],
                                                 deleted: list[str]) -> None:
    ds, new_hash = updated(daemon_set(strategy={"type": "RollingUpdate",
                                                "rollingUpdate": {"maxUnavailable": max_unavailable}}))
    pods = [pod(f"p{name}", name, revision=new_hash if kind.startswith("new") else CURRENT,
                ready=not kind.endswith("unready")) for name, kind in pods_on.items()]
    result = plan(ds, [node(name) for name in pods_on], pods)
    assert result.delete == deleted and result.create_on == []


def test_on_delete_never_replaces_pods_itself() -> None:
    ds, _ = updated(daemon_set(strategy={"type": "OnDelete"}))
    result = plan(ds, [node("a")], [pod("pa", "a")])
    assert result.delete == [] and result.status is not None and result.status.get("updatedNumberScheduled", 0) == 0


def test_surge_starts_the_new_pod_beside_the_old_and_then_removes_the_old() -> None:
    ds, new_hash = updated(daemon_set(strategy={"type": "RollingUpdate",
                                                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}))
    nodes = [node("a"), node("b")]
    first = plan(ds, nodes, [pod("pa", "a"), pod("pb", "b")])
    assert first.create_on == ["a"] and first.delete == []
    surging = [pod("pa", "a"), pod("na", "a", revision=new_hash, ready=False, age=1), pod("pb", "b")]
    assert plan(ds, nodes, surging).create_on == [] and plan(ds, nodes, surging).delete == []
    surging[1] = pod("na", "a", revision=new_hash, age=1)
    assert plan(ds, nodes, surging).delete == ["pa"]


def test_a_rolling_update_completes_and_never_exceeds_max_unavailable() -> None:
    ds, new_hash = updated(daemon_set())
    nodes = [node(name) for name in "abcd"]
    pods = {name: pod(f"old-{name}", name) for name in "abcd"}
    for step in range(20):
        result = plan(ds, nodes, list(pods.values()))
        unavailable = sum(1 for name in "abcd" if name not in pods)
        assert unavailable + len(result.delete) <= 1 or not result.delete
        for name in [n for n, p in pods.items() if p["metadata"]["name"] in result.delete]:
            del pods[name]
        for name in result.create_on:
            pods[name] = pod(f"new-{name}-{step}", name, revision=new_hash)
        if all(p["metadata"]["labels"][REVISION_HASH_LABEL] == new_hash for p in pods.values()) and len(pods) == 4:
            break
    else:
        pytest.fail("the rolling update did not complete")


def test_status_counts_ready_available_and_updated() -> None:
    ds = daemon_set(min_ready=30, generation=3)
    pods = [pod("pa", "a", ready_for=60), pod("pb", "b", ready_for=5), pod("pc", "c", ready=False),
            pod("pd", "d", revision="old")]
    result = plan(ds, [node(n) for n in "abcde"], pods)
    assert result.status == {"desiredNumberScheduled": 5, "currentNumberScheduled": 4, "numberMisscheduled": 0,
                             "numberReady": 3, "numberAvailable": 2, "updatedNumberScheduled": 3,
                             "numberUnavailable": 3, "observedGeneration": 3}
    assert result.requeue_after == 30  # pb becomes available later: look again


def test_an_unchanged_status_is_not_written() -> None:
    status = {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberMisscheduled": 0,
              "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 1, "observedGeneration": 1}
    assert plan(daemon_set(status=status), [node("a")], [pod("pa", "a")]).status is None


def test_the_pod_for_a_node_is_bound_to_it_and_tolerates_node_problems() -> None:
    ds = daemon_set(spec_extra={"tolerations": [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]})
    built = build_daemon_pod(ds, "node-1", "abc")
    assert built["spec"]["nodeName"] == "node-1"
    assert built["metadata"]["generateName"] == "agent-"
    assert built["metadata"]["labels"] == {"app": "agent", REVISION_HASH_LABEL: "abc"}
    assert built["metadata"]["ownerReferences"][0] | {"uid": DS_UID, "controller": True} == \
        built["metadata"]["ownerReferences"][0]
    terms = built["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}
    not_ready = [t for t in built["spec"]["tolerations"] if t["key"] == "node.kubernetes.io/not-ready"]
    assert not_ready == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]
    assert len(with_daemon_tolerations({})) == 6


def test_the_revision_hash_ignores_empty_fields_and_follows_real_changes() -> None:
    template = daemon_set()["spec"]["template"]
    same = {**template, "metadata": {**template["metadata"], "creationTimestamp": None, "annotations": {}}}
    changed = daemon_set(image="agent:2")["spec"]["template"]
    assert template_hash(same) == template_hash(template) != template_hash(changed)
    assert set(template_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")


@pytest.mark.parametrize(("value", "total", "expected"), [
    (1, 10, 1), ("25%", 10, 3), ("10%", 3, 1), ("0%", 5, 0), (None, 5, 0),
])
def test_int_or_percent_rounds_up(value: Any, total: int, expected: int) -> None:
    assert scaled_value(value, total, round_up=True) == expected
