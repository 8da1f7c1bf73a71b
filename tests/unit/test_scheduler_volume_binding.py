"""The scheduler's volume binding: PreFilter's refusals, the per-node filter with kube-scheduler's reasons,
and what PreBind writes for the chosen node."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import ANN_BIND_COMPLETED, ANN_SELECTED_NODE
from minik8s.scheduler.decision import Scheduled, Unschedulable, prefilter_message, schedule_pod
from minik8s.scheduler.node_info import ClusterView
from minik8s.scheduler.pod_facts import pod_facts
from minik8s.scheduler.volume_binding import PodVolumes, read_pod_volumes
from tests.support.storage_builders import claim_pod, pv, pvc, storage_class
from tests.unit.scheduler_builders import info, node

CLASSES = {"standard": storage_class(), "fast": storage_class("fast", binding_mode="Immediate"),
           "static": storage_class("static", provisioner="kubernetes.io/no-provisioner"),
           "zoned": storage_class("zoned", allowedTopologies=[
               {"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}])}
NODES = [node("node-1", labels={"zone": "a"}), node("node-2", labels={"zone": "b"})]


def claims(*items: JsonObject) -> dict[str, JsonObject]:
    return {f"{c['metadata'].get('namespace', 'default')}/{c['metadata']['name']}": c for c in items}


def bound(name: str = "data", volume: str = "vol") -> JsonObject:
    return pvc(name, uid=f"uid-{name}", volume_name=volume, phase="Bound", annotations={ANN_BIND_COMPLETED: "yes"},
               storage_class="standard")


def read(the_claims: list[JsonObject], volumes: list[JsonObject], *, pod: JsonObject | None = None,
         others: tuple[JsonObject, ...] = ()) -> PodVolumes | str | None:
    pod = pod or claim_pod("web", "data", namespace="default")
    return read_pod_volumes(pod, claims(*the_claims), volumes, CLASSES, lambda: others)


def schedule(volumes: PodVolumes | str | None) -> Scheduled | Unschedulable:
    assert not isinstance(volumes, str)
    facts = replace(pod_facts(claim_pod("web", "data", namespace="default")), volumes=volumes)
    return schedule_pod(facts, ClusterView([info(n) for n in NODES], {}), choose=min)


def reasons(volumes: PodVolumes | str | None) -> dict[str, tuple[str, ...]]:
    """The nodes the volume filter refuses, each with its reasons."""
    assert isinstance(volumes, PodVolumes)
    refused = {n["metadata"]["name"]: volumes.reasons(n["metadata"]["name"], n["metadata"]["labels"]) for n in NODES}
    return {name: found for name, found in refused.items() if found}


def test_a_pod_without_claims_is_not_looked_at() -> None:
    assert read([], [], pod=claim_pod("web", "data") | {"spec": {"containers": []}}) is None


@pytest.mark.parametrize(("the_claims", "expected"), [
    ([], 'persistentvolumeclaim "data" not found'),
    ([pvc("data", storage_class="fast")], "pod has unbound immediate PersistentVolumeClaims"),
    ([pvc("data", storage_class="fast", volume_name="pre")], "pod has unbound immediate PersistentVolumeClaims"),
    ([pvc("data", storage_class="standard", deleting=True)], 'persistentvolumeclaim "data" is being deleted'),
    ([pvc("data", storage_class="standard", volume_name="gone", phase="Lost")],
     'persistentvolumeclaim "data" bound to non-existent persistentvolume "gone"'),
])
def test_prefilter_refuses_the_pod_with_kubernetes_words(the_claims: list[JsonObject], expected: str) -> None:
    assert read(the_claims, []) == expected


def test_the_prefilter_message_is_the_scheduling_failure() -> None:
    assert prefilter_message(2, "pod has unbound immediate PersistentVolumeClaims") == \
        "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."


def test_a_read_write_once_pod_claim_used_by_another_pod_refuses_the_pod() -> None:
    exclusive = pvc("data", storage_class="standard", modes=("ReadWriteOncePod",))
    other = claim_pod("other", "data", namespace="default", node_name="node-1")
    other["metadata"]["uid"] = "other"
    assert read([exclusive], [], others=(other,)) == (
        "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode")
    assert isinstance(read([exclusive], [], others=(claim_pod("waiting", "data", namespace="default"),)), PodVolumes)


def test_a_bound_volume_pins_the_pod_to_the_nodes_it_accepts() -> None:
    volumes = read([bound()], [pv("vol", node="node-2")])
    decision = schedule(volumes)
    assert isinstance(decision, Scheduled) and decision.node_name == "node-2"
    nowhere = schedule(read([bound()], [pv("vol", node="node-3")]))
    assert isinstance(nowhere, Unschedulable) and nowhere.message == (
        "0/2 nodes are available: 2 node(s) had volume node affinity conflict.")
    assert reasons(read([bound()], [pv("vol", node="node-3")])) == {
        "node-1": ("node(s) had volume node affinity conflict",),
        "node-2": ("node(s) had volume node affinity conflict",)}
    assert reasons(read([bound()], [])) == {
        name: ("node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)",)
        for name in ("node-1", "node-2")}


def test_a_waiting_claim_takes_a_static_volume_on_a_node_it_accepts() -> None:
    waiting = pvc("data", uid="uid-data", storage_class="static")
    provisionable = pvc("data", uid="uid-data", storage_class="standard")
    either = read([provisionable], [pv("local-2", storage_class="standard", phase="Available", node="node-2")])
    assert reasons(either) == {}  # node-2 has a volume, node-1 a provisioner
    only_static = read([waiting], [pv("local-2", storage_class="static", phase="Available", node="node-2")])
    decision = schedule(only_static)
    assert isinstance(decision, Scheduled) and decision.node_name == "node-2"
    assert isinstance(only_static, PodVolumes)
    plan = only_static.plan_for("node-2", {"kubernetes.io/hostname": "node-2"})
    assert [(v["metadata"]["name"], c["metadata"]["name"]) for v, c in plan.bindings] == [("local-2", "data")]
    assert plan.provisions == ()
    assert reasons(read([waiting], [])) == {name: ("node(s) didn't find available persistent volumes to bind",)
                                            for name in ("node-1", "node-2")}


@pytest.mark.parametrize(("class_name", "annotations", "fits"), [
    ("standard", {}, {"node-1", "node-2"}),
    ("zoned", {}, {"node-1"}),  # allowedTopologies
    ("standard", {ANN_SELECTED_NODE: "node-2"}, {"node-2"}),  # once selected, only that node
])
def test_a_claim_to_provision_fits_the_nodes_its_class_may_provision_on(
        class_name: str, annotations: dict[str, str], fits: set[str]) -> None:
    volumes = read([pvc("data", storage_class=class_name, annotations=annotations or None)], [])
    assert {n["metadata"]["name"] for n in NODES} - set(reasons(volumes)) == fits


def test_prebind_annotates_the_claims_to_provision_for_the_chosen_node() -> None:
    volumes = read([pvc("data", storage_class="standard")], [])
    assert isinstance(volumes, PodVolumes)
    plan = volumes.plan_for("node-1", {"kubernetes.io/hostname": "node-1"})
    assert [c["metadata"]["name"] for c in plan.provisions] == ["data"] and plan.bindings == ()


def test_two_waiting_claims_do_not_take_the_same_volume() -> None:
    pod: dict[str, Any] = claim_pod("web", "a", namespace="default")
    pod["spec"]["volumes"].append({"name": "b", "persistentVolumeClaim": {"claimName": "b"}})
    the_claims = [pvc("a", uid="ua", storage_class="static"), pvc("b", uid="ub", storage_class="static")]
    one_volume = read(the_claims, [pv("only", storage_class="static", phase="Available")], pod=pod)
    assert isinstance(one_volume, PodVolumes)
    assert one_volume.reasons("node-1", {}) == ("node(s) didn't find available persistent volumes to bind",)
    two = read(the_claims, [pv("v1", storage_class="static", phase="Available"),
                            pv("v2", storage_class="static", phase="Available")], pod=pod)
    assert isinstance(two, PodVolumes)
    assert sorted(v["metadata"]["name"] for v, _ in two.plan_for("node-1", {}).bindings) == ["v1", "v2"]
