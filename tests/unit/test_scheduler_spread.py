"""PodTopologySpread: constraints read as kube-scheduler reads them, the filter's skews and the score, in tables."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from minik8s.api.selectors import LabelSelector, label_selector_from_object, label_selector_from_set
from minik8s.scheduler.decision import Scheduled, Unschedulable, schedule_pod
from minik8s.scheduler.filters import run_filters
from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.scores import plugin_scores
from minik8s.scheduler.spread import (
    REASON_SPREAD,
    REASON_SPREAD_MISSING_LABEL,
    normalize_spread_scores,
    spread_filter_state,
    topology_spread_scores,
)
from minik8s.scheduler.spread_constraints import (
    OwnerSelector,
    SpreadConstraint,
    default_selector,
    parse_spread_constraints,
)
from tests.unit.scheduler_builders import cluster, facts, info, node, pod, spread_constraint

WEB = {"app": "web"}
HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
NO_SCHEDULE_TAINT = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}


def web_pods(prefix: str, count: int, **options: Any) -> list[dict[str, Any]]:
    return [pod(f"{prefix}-{index}", labels={**WEB, **options.pop("labels", {})}, **options)
            for index in range(count)]


def zoned(name: str, zone: str | None, **options: Any) -> dict[str, Any]:
    labels = {ZONE: zone} if zone is not None else {}
    return node(name, labels={**labels, **options.pop("labels", {})}, **options)


# -- reading constraints --------------------------------------------------------------------------


def test_unset_fields_take_kube_schedulers_defaults() -> None:
    [constraint] = parse_spread_constraints([spread_constraint(2, ZONE)], WEB, "spec.topologySpreadConstraints")
    assert constraint == SpreadConstraint(2, ZONE, "DoNotSchedule", label_selector_from_set(WEB), min_domains=1,
                                          honor_node_affinity=True, honor_node_taints=False)


@pytest.mark.parametrize(("pod_labels", "match_label_keys", "matched", "unmatched"), [
    # the pod's own value of each key is ANDed to the selector: only pods of its revision count
    ({"app": "web", "hash": "v2"}, ["hash"], {"app": "web", "hash": "v2"}, {"app": "web", "hash": "v1"}),
    # a key the pod does not carry adds nothing
    ({"app": "web"}, ["hash"], {"app": "web", "hash": "v1"}, {"app": "db"}),
])
def test_match_label_keys_pin_the_pods_own_values(pod_labels: dict[str, str], match_label_keys: list[str],
                                                  matched: dict[str, str], unmatched: dict[str, str]) -> None:
    raw = spread_constraint(1, HOST, matchLabelKeys=match_label_keys)
    [constraint] = parse_spread_constraints([raw], pod_labels, "spec.topologySpreadConstraints")
    assert constraint.counts(matched) and not constraint.counts(unmatched)


def test_a_constraint_without_label_selector_counts_no_pod() -> None:
    raw = {"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "ScheduleAnyway"}
    [constraint] = parse_spread_constraints([raw], WEB, "spec.topologySpreadConstraints")
    assert not constraint.counts(WEB) and not constraint.counts({})


@pytest.mark.parametrize(("change", "message"), [
    ({"maxSkew": 0}, "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"),
    ({"minDomains": -1}, "spec.topologySpreadConstraints[0].minDomains: Invalid value: -1: must be greater than zero"),
    ({"topologyKey": ""}, "spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty"),
    ({"whenUnsatisfiable": "Maybe"}, 'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: '
                                     '"Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"'),
    ({"nodeTaintsPolicy": "Always"}, 'spec.topologySpreadConstraints[0].nodeTaintsPolicy: Unsupported value: '
                                     '"Always": supported values: "Honor", "Ignore"'),
])
def test_malformed_constraints_are_reported_not_half_understood(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_spread_constraints([{**spread_constraint(1, HOST), **change}], WEB, "spec.topologySpreadConstraints")
    assert str(raised.value) == message


RS_SELECTOR = OwnerSelector("ReplicaSet", label_selector_from_object({"matchLabels": {"app": "web", "hash": "1"}}),
                            {})


@pytest.mark.parametrize(("services", "owner", "expected"), [
    ([], None, ""),  # nothing selects the pod: it is not spread by default
    ([{"app": "web"}, {"tier": "front"}], None, "app=web,tier=front"),  # every selecting Service, merged
    ([{"app": "db"}], None, ""),  # a Service not selecting the pod does not count
    ([{"app": "web"}], RS_SELECTOR, "app=web,app=web,hash=1"),  # a ReplicaSet's requirements are added
    ([{"tier": "front"}], OwnerSelector("ReplicationController", LabelSelector(), {"rc": "x"}), "rc=x,tier=front"),
])
def test_default_selector_merges_services_and_the_controllers_selector(
        services: list[dict[str, str]], owner: OwnerSelector | None, expected: str) -> None:
    labels = {"app": "web", "tier": "front", "hash": "1", "rc": "x"}
    assert str(default_selector(labels, services, owner)) == expected


# -- the filter -----------------------------------------------------------------------------------


def feasible(incoming: PodFacts, view: ClusterView) -> dict[str, tuple[str, ...]]:
    """Each node's refusal reasons by name (empty: the pod may go there)."""
    state = spread_filter_state(incoming, view)
    return {node_info.name: run_filters(incoming, node_info, None, spread=state) for node_info in view.nodes}


def two_nodes(on_a: int, on_b: int, *, b_options: dict[str, Any] | None = None,
              a_labels: dict[str, str] | None = None) -> ClusterView:
    return cluster(info(node("a", labels=a_labels), *web_pods("a", on_a)),
                   info(node("b", **(b_options or {})), *web_pods("b", on_b)))


@pytest.mark.parametrize(("view", "constraint", "incoming_labels", "refused"), [
    # placing on a (1 already) would make it 2 against b's 0: skew 2 > maxSkew 1
    (two_nodes(1, 0), spread_constraint(1, HOST), WEB, {"a"}),
    (two_nodes(1, 0), spread_constraint(2, HOST), WEB, set()),
    # a pod its own selector does not match adds nothing to its domain's count
    (two_nodes(1, 0), spread_constraint(1, HOST), {"app": "other"}, set()),
    (two_nodes(1, 1), spread_constraint(1, HOST), WEB, set()),
    # minDomains: while fewer domains exist than asked for, the minimum is 0
    (two_nodes(1, 1), spread_constraint(1, HOST, minDomains=3), WEB, {"a", "b"}),
    (two_nodes(1, 1), spread_constraint(1, HOST, minDomains=2), WEB, set()),
    # nodeTaintsPolicy: Honor leaves b's empty domain out (the pod does not tolerate its taint), Ignore counts it
    (two_nodes(2, 0, b_options={"taints": [NO_SCHEDULE_TAINT]}), spread_constraint(1, HOST), WEB, {"a", "b"}),
    (two_nodes(2, 0, b_options={"taints": [NO_SCHEDULE_TAINT]}),
     spread_constraint(1, HOST, nodeTaintsPolicy="Honor"), WEB, {"b"}),
    # a cordoned or not-Ready node is tainted as upstream's node lifecycle taints it
    (two_nodes(2, 0, b_options={"unschedulable": True}),
     spread_constraint(1, HOST, nodeTaintsPolicy="Honor"), WEB, {"b"}),
    (two_nodes(2, 0, b_options={"ready": "False"}),
     spread_constraint(1, HOST, nodeTaintsPolicy="Honor"), WEB, {"b"}),
])
def test_do_not_schedule_refuses_nodes_that_would_exceed_max_skew(
        view: ClusterView, constraint: dict[str, Any], incoming_labels: dict[str, str], refused: set[str]) -> None:
    incoming = facts("new", labels=incoming_labels, spread=[constraint])
    assert {name for name, reasons in feasible(incoming, view).items() if reasons} == refused


def test_zones_are_domains_and_every_node_of_a_crowded_zone_is_refused() -> None:
    view = cluster(info(zoned("a1", "a"), *web_pods("a1", 1)), info(zoned("a2", "a"), *web_pods("a2", 1)),
                   info(zoned("b1", "b")), info(zoned("b2", "b")), info(zoned("none", None)))
    reasons = feasible(facts("new", labels=WEB, spread=[spread_constraint(1, ZONE)]), view)
    assert reasons == {"a1": (REASON_SPREAD,), "a2": (REASON_SPREAD,), "b1": (), "b2": (),
                       "none": (REASON_SPREAD_MISSING_LABEL,)}


def test_match_label_keys_spreads_each_revision_on_its_own() -> None:
    old_revision = cluster(info(node("a"), *web_pods("old", 2, labels={"hash": "v1"})), info(node("b")))
    constraint = spread_constraint(1, HOST)
    by_revision = facts("new", labels={**WEB, "hash": "v2"}, spread=[{**constraint, "matchLabelKeys": ["hash"]}])
    assert feasible(by_revision, old_revision) == {"a": (), "b": ()}
    all_revisions = facts("new", labels={**WEB, "hash": "v2"}, spread=[constraint])
    assert feasible(all_revisions, old_revision) == {"a": (REASON_SPREAD,), "b": ()}


def test_only_live_pods_of_the_pods_namespace_count() -> None:
    terminating = pod("going", labels=WEB)
    terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    view = cluster(info(node("a"), pod("elsewhere", namespace="other", labels=WEB), terminating), info(node("b")))
    state = spread_filter_state(facts("new", labels=WEB, spread=[spread_constraint(1, HOST)]), view)
    assert state is not None and state.counts == ({"a": 0, "b": 0},)


def test_node_affinity_policy_decides_whether_excluded_nodes_hold_the_minimum() -> None:
    view = two_nodes(2, 0, a_labels={"disk": "ssd"})
    honor = facts("new", labels=WEB, node_selector={"disk": "ssd"}, spread=[spread_constraint(1, HOST)])
    decision = schedule_pod(honor, view)
    assert isinstance(decision, Scheduled) and decision.node_name == "a"  # b's empty domain is not counted
    ignore = facts("new", labels=WEB, node_selector={"disk": "ssd"},
                   spread=[spread_constraint(1, HOST, nodeAffinityPolicy="Ignore")])
    decision = schedule_pod(ignore, view)
    assert isinstance(decision, Unschedulable)
    assert decision.message == ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                                "1 node(s) didn't match pod topology spread constraints.")


def test_schedule_anyway_constraints_never_filter() -> None:
    incoming = facts("new", labels=WEB, spread=[spread_constraint(1, HOST, "ScheduleAnyway")])
    assert feasible(incoming, two_nodes(5, 0)) == {"a": (), "b": ()}


# -- the score ------------------------------------------------------------------------------------


def spread_scores_of(incoming: PodFacts, view: ClusterView) -> list[int]:
    return topology_spread_scores(incoming, list(view.nodes), view)


def with_default(view: ClusterView, labels: dict[str, str] | None = None) -> ClusterView:
    selector = label_selector_from_set(labels or WEB)
    return replace(view, default_spread_selector=lambda pod: selector)


@pytest.mark.parametrize(("raw", "expected"), [
    ([3, 2, 0], [0, 33, 100]),
    ([0, 0], [100, 100]),
    ([4, None, 4], [100, 0, 100]),  # a node missing a constraint's label is not scored
    ([None, None], [0, 0]),
])
def test_normalization_gives_the_emptiest_node_100(raw: list[int | None], expected: list[int]) -> None:
    assert normalize_spread_scores(raw) == expected


def test_schedule_anyway_scores_fewer_matching_pods_higher() -> None:
    view = cluster(info(node("n1"), *web_pods("n1", 2)), info(node("n2"), *web_pods("n2", 1)), info(node("n3")))
    incoming = facts("new", labels=WEB, spread=[spread_constraint(1, HOST, "ScheduleAnyway")])
    # raw: count x log(3 nodes + 2) + (maxSkew - 1) = 3.2 → 3, 1.6 → 2, 0
    assert spread_scores_of(incoming, view) == [0, 33, 100]


def test_system_defaults_spread_over_hostnames_and_zones() -> None:
    view = cluster(info(zoned("a1", "a"), *web_pods("a1", 1)), info(zoned("a2", "a")), info(zoned("b1", "b")))
    # hostname (maxSkew 3, weight log 5) + zone (maxSkew 5, weight log 4): 3.6+5.4 → 9, 2+5.4 → 7, 2+4 → 6
    assert spread_scores_of(facts("new", labels=WEB), with_default(view)) == [66, 88, 100]


def test_system_defaults_still_spread_over_nodes_without_a_zone() -> None:
    view = with_default(cluster(info(zoned("n1", None), *web_pods("n1", 2)), info(zoned("n2", None))))
    # hostname only: 2 x log 4 + (3 - 1) = 4.8 → 5 against 2; maxSkew 3 softens the difference
    assert spread_scores_of(facts("new", labels=WEB), view) == [40, 100]


def test_a_pods_own_constraints_ignore_nodes_missing_their_label() -> None:
    view = cluster(info(zoned("a1", "a"), *web_pods("a1", 1)), info(zoned("b1", "b")), info(zoned("none", None)))
    incoming = facts("new", labels=WEB, spread=[spread_constraint(1, ZONE, "ScheduleAnyway")])
    assert spread_scores_of(incoming, view) == [0, 100, 0]


@pytest.mark.parametrize(("incoming", "default_labels"), [
    (facts("loner", labels={"app": "loner"}), None),  # nothing selects it: no default constraints
    # constraints of its own, none ScheduleAnyway: the system defaults do not apply either
    (facts("new", labels=WEB, spread=[spread_constraint(3, HOST)]), WEB),
])
def test_nothing_to_spread_scores_every_node_zero(incoming: PodFacts, default_labels: dict[str, str] | None) -> None:
    view = cluster(info(node("n1"), *web_pods("n1", 2)), info(node("n2")))
    if default_labels is not None:
        view = with_default(view, default_labels)
    assert spread_scores_of(incoming, view) == [0, 0]
    assert plugin_scores(incoming, list(view.nodes), view)["PodTopologySpread"] == [0, 0]


def test_do_not_schedule_and_the_weighted_scores_together_keep_a_deployment_even() -> None:
    """A strong preference for one node is overruled by maxSkew 1: the pods alternate."""
    nodes: list[NodeInfo] = [info(node("a")), info(node("b"))]
    view = cluster(*nodes)
    prefer_a = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [{"key": HOST, "operator": "In", "values": ["a"]}]}}]}}
    for index in range(6):
        incoming = facts(f"web-{index}", labels=WEB, affinity=prefer_a, spread=[spread_constraint(1, HOST)])
        decision = schedule_pod(incoming, view)
        assert isinstance(decision, Scheduled)
        placed = next(n for n in nodes if n.name == decision.node_name)
        placed.add_pod(incoming.with_node(placed.name))
        assert abs(len(nodes[0].pods) - len(nodes[1].pods)) <= 1
    assert [len(n.pods) for n in nodes] == [3, 3]
