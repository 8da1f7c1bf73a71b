"""Each scheduler score plugin and the weighted choice, on built nodes and pods."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from minik8s.api.selectors import label_selector_from_set
from minik8s.scheduler.decision import Scheduled, schedule_pod
from minik8s.scheduler.scores import (
    balanced_allocation,
    default_normalize,
    image_locality,
    least_allocated,
    min_max_normalize,
    plugin_scores,
    total_scores,
)
from tests.unit.scheduler_builders import GI, MI, cluster, facts, info, node, pod

WEB = {"app": "web"}


@pytest.mark.parametrize(("requests", "placed", "expected"), [
    ({"cpu": "1", "memory": "2Gi"}, [], (75 + 75) // 2),
    ({"cpu": "2", "memory": "2Gi"}, [], (50 + 75) // 2),
    ({"cpu": "1", "memory": "2Gi"}, [{"cpu": "3", "memory": "6Gi"}], 0),
    ({}, [], (97 + 97) // 2),  # missing requests count as 100m and 200Mi
    ({"cpu": "8"}, [], (0 + 97) // 2),  # more than the node has scores 0 for that resource
])
def test_least_allocated_prefers_free_nodes(requests: dict[str, Any], placed: list[dict[str, Any]],
                                            expected: int) -> None:
    node_info = info(node(cpu="4", memory="8Gi"), *(pod(f"e{i}", **r) for i, r in enumerate(placed)))
    assert least_allocated(facts(**requests), node_info) == expected


@pytest.mark.parametrize(("requests", "expected"), [
    ({"cpu": "2", "memory": "4Gi"}, 100),  # half of each: perfectly balanced
    ({"cpu": "4", "memory": "0"}, 50),  # all cpu, no memory: |1 - 0| / 2 off
    ({"cpu": "1", "memory": "4Gi"}, 87),  # 0.25 vs 0.5
    ({}, 0),  # a pod requesting nothing is not scored
])
def test_balanced_allocation_prefers_even_use_of_cpu_and_memory(requests: dict[str, str], expected: int) -> None:
    assert balanced_allocation(facts(**requests), info(node(cpu="4", memory="8Gi"))) == expected


def image(name: str, size: int) -> dict[str, Any]:
    return {"names": [name], "sizeBytes": size}


@pytest.mark.parametrize(("node_images", "holders", "total_nodes", "expected"), [
    ([], 0, 1, 0),
    ([image("docker.io/library/nginx:1.25", 500 * MI)], 1, 1, 0),  # another name is another image
    ([image("nginx:1.25", 10 * MI)], 1, 1, 0),  # below the 23 MB threshold
    ([image("nginx:1.25", 1000 * MI)], 1, 1, 100),
    ([image("nginx:1.25", 500 * MI)], 1, 1, 100 * (500 - 23) // (1000 - 23)),
    ([image("nginx:1.25", 1000 * MI)], 1, 4, 100 * (250 - 23) // (1000 - 23)),  # scaled by its spread
])
def test_image_locality_favours_nodes_that_have_the_image(node_images: list[dict[str, Any]], holders: int,
                                                          total_nodes: int, expected: int) -> None:
    node_info = info(node(images=node_images))
    image_nodes = {"nginx:1.25": holders}
    score = image_locality(facts(image="nginx:1.25"), node_info, image_nodes=image_nodes, total_nodes=total_nodes)
    assert score == expected


def test_an_untagged_image_means_latest() -> None:
    node_info = info(node(images=[image("busybox:latest", 1000 * MI)]))
    assert image_locality(facts(image="busybox"), node_info, image_nodes={"busybox:latest": 1}, total_nodes=1) == 100


@pytest.mark.parametrize(("raw", "reverse", "expected"), [
    ([0, 0, 0], True, [100, 100, 100]),
    ([0, 0, 0], False, [0, 0, 0]),
    ([0, 1, 2], True, [100, 50, 0]),
    ([1, 3, 2], False, [33, 100, 66]),
])
def test_default_normalize(raw: list[int], reverse: bool, expected: list[int]) -> None:
    assert default_normalize(raw, reverse=reverse) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ([], []), ([5, 5], [0, 0]), ([-2, 0, 2], [0, 50, 100]),
])
def test_min_max_normalize(raw: list[int], expected: list[int]) -> None:
    assert min_max_normalize(raw) == expected


def scores_of(plugin: str, incoming: Any, *infos: Any) -> list[int]:
    return plugin_scores(incoming, list(infos), cluster(*infos))[plugin]


def test_prefer_no_schedule_taints_count_against_a_node() -> None:
    taint = {"key": "spot", "value": "", "effect": "PreferNoSchedule"}
    clean, tainted = info(node("clean")), info(node("tainted", taints=[taint]))
    assert scores_of("TaintToleration", facts(), clean, tainted) == [100, 0]
    tolerant = facts(tolerations=[{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert scores_of("TaintToleration", tolerant, clean, tainted) == [100, 100]


def test_preferred_node_affinity_adds_the_weights_of_matching_terms() -> None:
    preferred = [{"weight": 20, "preference": {"matchExpressions": [
                     {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
                 {"weight": 80, "preference": {"matchExpressions": [
                     {"key": "zone", "operator": "In", "values": ["a"]}]}}]
    incoming = facts(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}})
    nodes = [info(node("ssd", labels={"disk": "ssd"})), info(node("zone-a", labels={"zone": "a"})),
             info(node("both", labels={"disk": "ssd", "zone": "a"})), info(node("none"))]
    assert scores_of("NodeAffinity", incoming, *nodes) == [20, 80, 100, 0]


def test_preferred_pod_affinity_and_anti_affinity() -> None:
    term = {"labelSelector": {"matchLabels": WEB}, "topologyKey": "zone"}
    near = facts("cache", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term}]}})
    far = facts("batch", affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term}]}})
    nodes = [info(node("a1", labels={"zone": "a"}), pod("web", labels=WEB)),
             info(node("a2", labels={"zone": "a"})), info(node("b1", labels={"zone": "b"}))]
    assert scores_of("InterPodAffinity", near, *nodes) == [100, 100, 0]
    assert scores_of("InterPodAffinity", far, *nodes) == [0, 0, 100]
    assert scores_of("InterPodAffinity", facts("plain"), *nodes) == [0, 0, 0]


def test_existing_pods_required_affinity_attracts_the_pods_it_wants() -> None:
    wanting = pod("cache", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": WEB}, "topologyKey": "zone"}]}})
    nodes = [info(node("a1", labels={"zone": "a"}), wanting), info(node("b1", labels={"zone": "b"}))]
    assert scores_of("InterPodAffinity", facts("web", labels=WEB), *nodes) == [100, 0]


def test_weights_make_an_untolerated_prefer_no_schedule_taint_outweigh_a_little_load() -> None:
    taint = {"key": "spot", "value": "", "effect": "PreferNoSchedule"}
    loaded = info(node("loaded"), pod("a", cpu="1", memory="1Gi"))
    tainted = info(node("tainted", taints=[taint]))
    totals = total_scores(facts(cpu="100m", memory="128Mi"), [loaded, tainted], cluster(loaded, tainted))
    assert totals[0] > totals[1]


def test_the_least_loaded_node_wins_and_ties_are_broken_by_the_chooser() -> None:
    incoming = facts(cpu="1", memory="1Gi")
    busy = info(node("busy"), pod("a", cpu="2", memory="2Gi"))
    idle_1, idle_2 = info(node("idle-1")), info(node("idle-2"))
    offered: list[list[str]] = []

    def choose(names: Any) -> str:
        offered.append(list(names))
        return str(names[-1])

    decision = schedule_pod(incoming, cluster(busy, idle_1, idle_2), choose=choose)
    assert isinstance(decision, Scheduled) and decision.node_name == "idle-2" and decision.feasible_nodes == 3
    assert offered == [["idle-1", "idle-2"]]


def test_replicas_of_one_controller_spread_over_identical_nodes() -> None:
    nodes = [info(node(f"n{i}", memory=f"{8 * GI}")) for i in range(4)]
    view = replace(cluster(*nodes), default_spread_selector=lambda pod: label_selector_from_set(WEB))
    for index in range(12):
        incoming = facts(f"web-{index}", labels=WEB, owner_uid="rs-1")
        decision = schedule_pod(incoming, view, choose=lambda names: names[0])
        assert isinstance(decision, Scheduled)
        placed = next(n for n in nodes if n.name == decision.node_name)
        placed.add_pod(incoming.with_node(placed.name))
    assert [len(n.pods) for n in nodes] == [3, 3, 3, 3]
