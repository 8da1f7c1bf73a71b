"""Each scheduler filter, table by table, with the reasons exactly as kube-scheduler words them."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.scheduler.decision import (
    NO_NODES_MESSAGE,
    Scheduled,
    Unschedulable,
    failure_message,
    schedule_pod,
)
from minik8s.scheduler.filters import (
    affinity_counts,
    inter_pod_affinity,
    node_affinity,
    node_ports,
    node_ready,
    node_resources_fit,
    node_unschedulable,
    run_filters,
    taint_toleration,
)
from minik8s.scheduler.pod_facts import pod_facts
from tests.unit.scheduler_builders import affinity, anti_affinity, cluster, facts, info, node, pod
from tests.unit.scheduler_builders import node_affinity as required_node_affinity

NOT_READY = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
UNREACHABLE = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
TOLERATE_ALL = [{"operator": "Exists"}]


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict[str, Any]:
    return {"key": key, "value": value, "effect": effect}


# -- NodeUnschedulable and readiness ---------------------------------------------------------------

@pytest.mark.parametrize(("cordoned", "tolerations", "expected"), [
    (False, None, ()),
    (True, None, ("node(s) were unschedulable",)),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], ()),
    (True, TOLERATE_ALL, ()),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}],
     ("node(s) were unschedulable",)),
])
def test_a_cordoned_node_takes_only_pods_tolerating_the_unschedulable_taint(
        cordoned: bool, tolerations: list[dict[str, Any]] | None, expected: tuple[str, ...]) -> None:
    assert node_unschedulable(facts(tolerations=tolerations), info(node(unschedulable=cordoned))) == expected


DEFAULT_TOLERATIONS = [  # what admission adds to every pod: NoExecute, so they do not help scheduling
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


@pytest.mark.parametrize(("ready", "tolerations", "expected"), [
    ("True", None, ()),
    ("False", None, (NOT_READY,)),
    ("Unknown", None, (UNREACHABLE,)),
    (None, None, (NOT_READY,)),
    ("False", DEFAULT_TOLERATIONS, (NOT_READY,)),
    ("False", [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}], ()),
    ("Unknown", [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}], ()),
    ("Unknown", TOLERATE_ALL, ()),
])
def test_a_node_that_is_not_ready_refuses_pods_as_its_taint_would(
        ready: str | None, tolerations: list[dict[str, Any]] | None, expected: tuple[str, ...]) -> None:
    assert node_ready(facts(tolerations=tolerations), info(node(ready=ready))) == expected


# -- TaintToleration --------------------------------------------------------------------------------

@pytest.mark.parametrize(("taints", "tolerations", "expected"), [
    ([taint("dedicated", "gpu")], None, ("node(s) had untolerated taint {dedicated: gpu}",)),
    ([taint("dedicated", "gpu")], [{"key": "dedicated", "operator": "Equal", "value": "gpu"}], ()),
    ([taint("dedicated", "gpu")], [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}], ()),
    ([taint("dedicated", "gpu")], [{"key": "dedicated", "value": "cpu"}],
     ("node(s) had untolerated taint {dedicated: gpu}",)),
    ([taint("dedicated", "gpu")], [{"key": "dedicated", "operator": "Exists"}], ()),
    ([taint("dedicated", "gpu")], [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}],
     ("node(s) had untolerated taint {dedicated: gpu}",)),
    ([taint("dedicated", "gpu", "PreferNoSchedule")], None, ()),
    ([taint("evict", "", "NoExecute")], None, ("node(s) had untolerated taint {evict: }",)),
    ([taint("a", "1"), taint("b", "2")], [{"key": "a", "value": "1"}], ("node(s) had untolerated taint {b: 2}",)),
    ([taint("a", "1"), taint("b", "2")], TOLERATE_ALL, ()),
    ([taint("node-role.kubernetes.io/control-plane")], None,
     ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",)),
])
def test_noschedule_and_noexecute_taints_need_a_toleration(
        taints: list[dict[str, Any]], tolerations: list[dict[str, Any]] | None, expected: tuple[str, ...]) -> None:
    assert taint_toleration(facts(tolerations=tolerations), info(node(taints=taints))) == expected


# -- NodeAffinity -----------------------------------------------------------------------------------

def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


LABELS = {"disk": "ssd", "zone": "a", "cores": "8"}


@pytest.mark.parametrize(("node_selector", "affinity_terms", "fits"), [
    (None, None, True),
    ({"disk": "ssd"}, None, True),
    ({"disk": "hdd"}, None, False),
    ({"disk": "ssd", "zone": "b"}, None, False),
    (None, [expression("disk", "In", "ssd", "nvme")], True),
    (None, [expression("disk", "In", "hdd")], False),
    (None, [expression("disk", "NotIn", "hdd")], True),
    (None, [expression("gpu", "NotIn", "yes")], True),
    (None, [expression("disk", "Exists")], True),
    (None, [expression("gpu", "Exists")], False),
    (None, [expression("gpu", "DoesNotExist")], True),
    (None, [expression("cores", "Gt", "4")], True),
    (None, [expression("cores", "Gt", "8")], False),
    (None, [expression("cores", "Lt", "16")], True),
    (None, [expression("disk", "Gt", "1")], False),  # not a number: no match
    (None, [expression("disk", "In", "hdd"), expression("zone", "In", "a")], True),  # terms are ORed
    (None, [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]},
                                  {"key": "zone", "operator": "In", "values": ["b"]}]}], False),  # ANDed within
    (None, [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}], True),
    (None, [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}], False),
    (None, [{}], False),  # an empty term matches no node
    ({"disk": "ssd"}, [expression("zone", "In", "b")], False),  # both must hold
])
def test_node_selector_and_required_node_affinity(
        node_selector: dict[str, str] | None, affinity_terms: list[dict[str, Any]] | None, fits: bool) -> None:
    spec_affinity = required_node_affinity(*affinity_terms) if affinity_terms is not None else None
    pod_facts_ = facts(node_selector=node_selector, affinity=spec_affinity)
    assert node_affinity(pod_facts_, info(node("n1", labels=LABELS))) == (() if fits else (NODE_AFFINITY,))


@pytest.mark.parametrize("bad_term", [
    expression("disk", "In"),
    expression("disk", "Exists", "x"),
    expression("cores", "Gt", "many"),
    expression("disk", "Near", "ssd"),
    {"matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["x"]}]},
])
def test_a_malformed_node_affinity_is_an_error_not_a_silent_mismatch(bad_term: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        pod_facts(pod(affinity=required_node_affinity(bad_term)))


# -- NodePorts ----------------------------------------------------------------------------------------

def port_pod(name: str, port: int, *, host_ip: str | None = None, protocol: str = "TCP") -> dict[str, Any]:
    entry: dict[str, Any] = {"containerPort": port, "hostPort": port, "protocol": protocol}
    if host_ip:
        entry["hostIP"] = host_ip
    return pod(name, extra_containers=[{"name": "x", "image": "busybox", "ports": [entry]}])


@pytest.mark.parametrize(("existing", "wanted", "free"), [
    (port_pod("a", 8080), port_pod("b", 8080), False),
    (port_pod("a", 8080), port_pod("b", 8081), True),
    (port_pod("a", 53, protocol="UDP"), port_pod("b", 53), True),
    (port_pod("a", 80, host_ip="10.0.0.1"), port_pod("b", 80, host_ip="10.0.0.2"), True),
    (port_pod("a", 80, host_ip="10.0.0.1"), port_pod("b", 80), False),
    (port_pod("a", 80), port_pod("b", 80, host_ip="10.0.0.2"), False),
    (pod("a"), port_pod("b", 80), True),
])
def test_host_ports_conflict_on_protocol_port_and_overlapping_ip(
        existing: dict[str, Any], wanted: dict[str, Any], free: bool) -> None:
    expected = () if free else ("node(s) didn't have free ports for the requested pod ports",)
    assert node_ports(pod_facts(wanted), info(node(), existing)) == expected


# -- NodeResourcesFit ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("allocatable", "existing", "wanted", "expected"), [
    (("4", "8Gi"), [], {"cpu": "4"}, ()),
    (("4", "8Gi"), [], {"cpu": "4001m"}, ("Insufficient cpu",)),
    (("4", "8Gi"), [{"cpu": "3"}], {"cpu": "1"}, ()),
    (("4", "8Gi"), [{"cpu": "3"}], {"cpu": "1500m"}, ("Insufficient cpu",)),
    (("4", "8Gi"), [], {"memory": "9Gi"}, ("Insufficient memory",)),
    (("4", "8Gi"), [{"cpu": "4", "memory": "8Gi"}], {"cpu": "1", "memory": "1Gi"},
     ("Insufficient cpu", "Insufficient memory")),
    (("4", "8Gi"), [{"cpu": "4", "memory": "8Gi"}], {}, ()),  # requesting nothing fits a full node
    (("4", "8Gi"), [{"cpu": "5"}], {"memory": "1Gi"}, ()),  # overcommitted cpu does not refuse a memory-only pod
])
def test_requests_must_fit_in_allocatable_minus_requested(
        allocatable: tuple[str, str], existing: list[dict[str, Any]], wanted: dict[str, Any],
        expected: tuple[str, ...]) -> None:
    placed = [pod(f"e{index}", **requests) for index, requests in enumerate(existing)]
    node_info = info(node(cpu=allocatable[0], memory=allocatable[1]), *placed)
    assert node_resources_fit(facts(**wanted), node_info) == expected


def test_a_full_node_refuses_with_too_many_pods() -> None:
    node_info = info(node(pods=2), pod("a"), pod("b"))
    assert node_resources_fit(facts(), node_info) == ("Too many pods",)


def container(name: str, cpu: str, *, sidecar: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "image": "busybox", "resources": {"requests": {"cpu": cpu}}}
    if sidecar:
        entry["restartPolicy"] = "Always"
    return entry


@pytest.mark.parametrize(("init_containers", "expected_millis"), [
    ([], 1000),
    ([container("i1", "2")], 2000),  # the largest of init containers and the sum of containers
    ([container("i1", "500m"), container("i2", "700m")], 1000),  # init containers run one at a time
    ([container("side", "500m", sidecar=True)], 1500),  # a sidecar runs beside the containers
    ([container("side", "500m", sidecar=True), container("i2", "2")], 2500),  # and beside later init containers
])
def test_init_containers_count_by_the_max_rule_and_sidecars_by_the_sum(
        init_containers: list[dict[str, Any]], expected_millis: int) -> None:
    assert facts(cpu="1", init_containers=init_containers).requests.cpu_millis == expected_millis


# -- InterPodAffinity -----------------------------------------------------------------------------------

WEB = {"app": "web"}
ZONES = {"a1": "a", "a2": "a", "b1": "b"}


def zoned(name: str, *placed: dict[str, Any]) -> Any:
    return info(node(name, labels={"zone": ZONES[name]}), *placed)


def test_anti_affinity_refuses_a_node_with_a_matching_pod() -> None:
    incoming = facts("web-2", labels=WEB, affinity=anti_affinity(WEB))
    busy, free = zoned("a1", pod("web-1", labels=WEB)), zoned("a2")
    counts = affinity_counts(incoming, cluster(busy, free))
    assert inter_pod_affinity(incoming, busy, counts) == ("node(s) didn't match pod anti-affinity rules",)
    assert inter_pod_affinity(incoming, free, counts) == ()


def test_anti_affinity_over_a_zone_refuses_every_node_of_that_zone() -> None:
    incoming = facts("web-2", labels=WEB, affinity=anti_affinity(WEB, "zone"))
    nodes = [zoned("a1", pod("web-1", labels=WEB)), zoned("a2"), zoned("b1")]
    counts = affinity_counts(incoming, cluster(*nodes))
    assert [bool(inter_pod_affinity(incoming, n, counts)) for n in nodes] == [True, True, False]


def test_an_existing_pods_anti_affinity_keeps_matching_pods_away() -> None:
    incoming = facts("web-2", labels=WEB)
    guarded = zoned("a1", pod("lonely", labels={"app": "db"}, affinity=anti_affinity(WEB)))
    counts = affinity_counts(incoming, cluster(guarded, zoned("a2")))
    assert inter_pod_affinity(incoming, guarded, counts) == (
        "node(s) didn't satisfy existing pods anti-affinity rules",)
    assert inter_pod_affinity(facts("other", labels={"app": "x"}), guarded,
                              affinity_counts(facts("other", labels={"app": "x"}), cluster(guarded))) == ()


def test_anti_affinity_only_counts_pods_of_the_terms_namespaces() -> None:
    incoming = facts("web-2", labels=WEB, affinity=anti_affinity(WEB))
    elsewhere = zoned("a1", pod("web-1", namespace="other", labels=WEB))
    assert inter_pod_affinity(incoming, elsewhere, affinity_counts(incoming, cluster(elsewhere))) == ()


def test_required_affinity_wants_a_matching_pod_in_the_same_topology() -> None:
    incoming = facts("cache", labels={"app": "cache"}, affinity=affinity(WEB, "zone"))
    nodes = [zoned("a1", pod("web-1", labels=WEB)), zoned("a2"), zoned("b1")]
    counts = affinity_counts(incoming, cluster(*nodes))
    assert [inter_pod_affinity(incoming, n, counts) for n in nodes] == [
        (), (), ("node(s) didn't match pod affinity rules",)]


def test_required_affinity_refuses_a_node_without_the_topology_label() -> None:
    incoming = facts("cache", affinity=affinity(WEB, "rack"))
    node_info = zoned("a1", pod("web-1", labels=WEB))
    assert inter_pod_affinity(incoming, node_info, affinity_counts(incoming, cluster(node_info))) == (
        "node(s) didn't match pod affinity rules",)


def test_the_first_pod_of_a_self_affine_group_may_go_anywhere() -> None:
    first = facts("web-1", labels=WEB, affinity=affinity(WEB, "zone"))
    nodes = [zoned("a1"), zoned("b1")]
    counts = affinity_counts(first, cluster(*nodes))
    assert [inter_pod_affinity(first, n, counts) for n in nodes] == [(), ()]
    stranger = facts("cache", labels={"app": "cache"}, affinity=affinity(WEB, "zone"))
    assert inter_pod_affinity(stranger, nodes[0], affinity_counts(stranger, cluster(*nodes))) == (
        "node(s) didn't match pod affinity rules",)


def test_namespace_selector_picks_namespaces_by_their_labels() -> None:
    term = {"labelSelector": {"matchLabels": WEB}, "topologyKey": "kubernetes.io/hostname",
            "namespaceSelector": {"matchLabels": {"team": "blue"}}}
    incoming = facts("web-2", labels=WEB, affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term]}})
    node_info = zoned("a1", pod("web-1", namespace="blue-ns", labels=WEB))
    labelled = cluster(node_info, namespace_labels={"blue-ns": {"team": "blue"}})
    unlabelled = cluster(node_info, namespace_labels={"blue-ns": {}})
    assert inter_pod_affinity(incoming, node_info, affinity_counts(incoming, labelled)) != ()
    assert inter_pod_affinity(incoming, node_info, affinity_counts(incoming, unlabelled)) == ()


def test_no_affinity_anywhere_needs_no_counting() -> None:
    assert affinity_counts(facts(), cluster(zoned("a1", pod("x")))) is None


# -- all filters and the message ---------------------------------------------------------------------

def test_each_node_reports_only_its_first_failing_filter_in_kube_schedulers_order() -> None:
    everything_wrong = info(node(cpu="1", unschedulable=True, taints=[taint("t")], ready="False"))
    assert run_filters(facts(cpu="2"), everything_wrong, None) == ("node(s) were unschedulable",)
    tainted_and_small = info(node(cpu="1", taints=[taint("t")]))
    assert run_filters(facts(cpu="2"), tainted_and_small, None) == ("node(s) had untolerated taint {t: }",)


@pytest.mark.parametrize(("reasons", "expected"), [
    ({"a": ("Insufficient cpu",), "b": ("Insufficient cpu",), "c": ("node(s) were unschedulable",)},
     "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu."),
    ({"a": ("Insufficient cpu", "Insufficient memory"), "b": ("Insufficient memory",)},
     "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory."),
    ({"a": ("Insufficient cpu",)}, "0/1 nodes are available: 1 Insufficient cpu."),
])
def test_the_failure_message_counts_each_reason_and_sorts_like_kube_scheduler(
        reasons: dict[str, tuple[str, ...]], expected: str) -> None:
    assert failure_message(len(reasons), reasons) == expected


def test_a_pod_that_fits_nowhere_gets_the_whole_story() -> None:
    nodes = cluster(info(node("a", cpu="2")), info(node("b", cpu="2")), info(node("c", unschedulable=True)))
    decision = schedule_pod(facts(cpu="100"), nodes)
    assert decision == Unschedulable(
        "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.",
        {"a": ("Insufficient cpu",), "b": ("Insufficient cpu",), "c": ("node(s) were unschedulable",)})


def test_no_nodes_at_all() -> None:
    assert schedule_pod(facts(), cluster()) == Unschedulable(NO_NODES_MESSAGE, {})


def test_the_only_feasible_node_is_chosen_without_scoring() -> None:
    nodes = cluster(info(node("small", cpu="1")), info(node("big", cpu="8")))
    assert schedule_pod(facts(cpu="4"), nodes) == Scheduled("big", 0, 1)
