"""The Endpoints decision, table by table: readiness, named ports, repacking, no-op syncs, trigger times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from minik8s.api.meta import format_nano_time
from minik8s.controllers.endpoints.plan import (
    HEADLESS_LABEL,
    MAX_CAPACITY,
    OVER_CAPACITY,
    plan_endpoints,
    repack_subsets,
)
from minik8s.controllers.endpoints.trigger_time import (
    LAST_CHANGE_TRIGGER_TIME,
    compute_trigger_time,
)

HTTP = {"name": "http", "containerPort": 8080}


def service(*, ports: list[dict[str, Any]] | None = None, cluster_ip: str = "10.96.0.20",
            publish_not_ready: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": "web"}, "clusterIP": cluster_ip,
                            "ports": [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]
                            if ports is None else ports}
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    return {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2024-05-01T10:00:00Z",
                         "labels": labels or {"tier": "front"}}, "spec": spec}


def pod(name: str, ip: str | None, *, ready: bool = True, ports: list[dict[str, Any]] | None = None,
        phase: str = "Running", deleting: bool = False, ready_since: str = "2024-05-01T10:00:05Z",
        resource_version: str = "10") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "resourceVersion": resource_version, "labels": {"app": "web"}}
    if deleting:
        metadata["deletionTimestamp"] = "2024-05-01T10:01:00Z"
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": metadata, "spec": {"nodeName": "node-1", "containers": [
        {"name": "app", "image": "web", "ports": [HTTP] if ports is None else ports}]}, "status": status}


def subsets_of(svc: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = plan_endpoints(svc, pods, None, trigger_time=None)
    assert result.endpoints is not None
    return list(result.endpoints.get("subsets") or [])


def ips(subset: dict[str, Any], where: str = "addresses") -> list[str]:
    return [address["ip"] for address in subset.get(where) or []]


def test_ready_pods_are_addresses_and_unready_ones_not_ready_addresses() -> None:
    subsets = subsets_of(service(), [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ready=False)])
    assert len(subsets) == 1
    assert ips(subsets[0]) == ["10.244.1.2"] and ips(subsets[0], "notReadyAddresses") == ["10.244.1.3"]
    assert subsets[0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    address = subsets[0]["addresses"][0]
    assert address["nodeName"] == "node-1"
    assert address["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a",
                                    "resourceVersion": "10"}


@pytest.mark.parametrize(("pods", "included"), [
    ([pod("a", None)], []),  # no IP yet
    ([pod("a", "10.244.1.2", phase="Succeeded")], []),
    ([pod("a", "10.244.1.2", phase="Failed")], []),
    ([pod("a", "10.244.1.2", deleting=True)], []),
    ([pod("a", "10.244.1.2"), pod("b", "10.244.1.3")], ["10.244.1.2", "10.244.1.3"]),
])
def test_which_pods_get_endpoints(pods: list[dict[str, Any]], included: list[str]) -> None:
    subsets = subsets_of(service(), pods)
    assert [ip for subset in subsets for ip in ips(subset) + ips(subset, "notReadyAddresses")] == included


def test_publish_not_ready_addresses_lists_unready_and_terminating_pods_as_ready() -> None:
    pods = [pod("a", "10.244.1.2", ready=False), pod("b", "10.244.1.3", deleting=True)]
    subsets = subsets_of(service(publish_not_ready=True), pods)
    assert ips(subsets[0]) == ["10.244.1.2", "10.244.1.3"] and "notReadyAddresses" not in subsets[0]


def test_named_target_ports_resolve_per_pod() -> None:
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ports=[{"name": "http", "containerPort": 9090}])]
    subsets = subsets_of(service(), pods)
    assert [(ips(s), s["ports"][0]["port"]) for s in subsets] == [(["10.244.1.2"], 8080), (["10.244.1.3"], 9090)]


def test_a_port_name_no_container_defines_gives_no_endpoint_and_is_reported() -> None:
    ports = [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"},
             {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"}]
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ports=[{"name": "admin", "containerPort": 8081}]),
            pod("c", "10.244.1.4", ports=[{"name": "http", "containerPort": 8080, "protocol": "UDP"}])]
    result = plan_endpoints(service(ports=ports), pods, None, trigger_time=None)
    assert result.endpoints is not None
    by_ports = {tuple(p["port"] for p in s["ports"]): ips(s) for s in result.endpoints["subsets"]}
    # grouped as Kubernetes does: ports served by exactly the same addresses share a subset
    assert by_ports == {(8080,): ["10.244.1.2"], (9100,): ["10.244.1.2", "10.244.1.3", "10.244.1.4"]}
    [problem] = result.unresolved
    assert (problem.service_port, problem.target_port, problem.pods) == ("web", "http", ("b", "c"))
    assert "'http'" in problem.message and "b, c" in problem.message


def test_repacking_groups_addresses_by_port_set_and_ready_wins() -> None:
    address = {"ip": "10.0.0.1", "targetRef": {"uid": "u1"}}
    other = {"ip": "10.0.0.2", "targetRef": {"uid": "u2"}}
    port_a, port_b = {"name": "a", "port": 1, "protocol": "TCP"}, {"name": "b", "port": 2, "protocol": "TCP"}
    repacked = repack_subsets([
        {"addresses": [address], "ports": [port_a]}, {"notReadyAddresses": [address], "ports": [port_a]},
        {"addresses": [address], "ports": [port_b]}, {"addresses": [other], "ports": [port_b]},
    ])
    assert repacked == [{"addresses": [address], "ports": [port_a]},
                        {"addresses": [address, other], "ports": [port_b]}]


@pytest.mark.parametrize(("cluster_ip", "ports", "expected"), [
    ("None", [], [{"addresses": ["10.244.1.2"], "ports": None}]),
    ("10.96.0.20", [], []),  # a service with a virtual IP needs ports to have endpoints
])
def test_services_without_ports(cluster_ip: str, ports: list[Any], expected: list[Any]) -> None:
    result = plan_endpoints(service(cluster_ip=cluster_ip, ports=ports), [pod("a", "10.244.1.2")], None,
                            trigger_time=None)
    assert result.endpoints is not None
    subsets = result.endpoints.get("subsets") or []
    assert [{"addresses": ips(s), "ports": s.get("ports")} for s in subsets] == expected
    labels = result.endpoints["metadata"]["labels"]
    assert (HEADLESS_LABEL in labels) == (cluster_ip == "None") and labels["tier"] == "front"


def test_an_unchanged_world_writes_nothing_even_when_pod_resource_versions_moved() -> None:
    svc = service()
    first = plan_endpoints(svc, [pod("a", "10.244.1.2")], None, trigger_time=None)
    assert first.create and first.endpoints is not None
    stored = {**first.endpoints, "metadata": {**first.endpoints["metadata"], "resourceVersion": "42"}}
    again = plan_endpoints(svc, [pod("a", "10.244.1.2", resource_version="99")], stored, trigger_time=None)
    assert again.endpoints is None and not again.create
    changed = plan_endpoints(svc, [pod("a", "10.244.1.2", ready=False)], stored, trigger_time=None)
    assert changed.endpoints is not None and changed.endpoints["metadata"]["resourceVersion"] == "42"
    assert ips(changed.endpoints["subsets"][0], "notReadyAddresses") == ["10.244.1.2"]
    relabelled = plan_endpoints(service(labels={"tier": "back"}), [pod("a", "10.244.1.2")], stored,
                                trigger_time=None)
    assert relabelled.endpoints is not None and relabelled.endpoints["metadata"]["labels"] == {"tier": "back"}


def test_the_trigger_time_is_the_earliest_unreflected_change() -> None:
    svc = service()
    created = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    first, state = compute_trigger_time(None, svc, [pod("a", "10.244.1.2")])
    assert first == created  # a service seen for the first time: its creation
    unchanged, state = compute_trigger_time(state, svc, [pod("a", "10.244.1.2")])
    assert unchanged is None
    turned = [pod("a", "10.244.1.2", ready_since="2024-05-01T10:03:00Z"),
              pod("b", "10.244.1.3", ready_since="2024-05-01T10:02:00.250Z")]
    moment, state = compute_trigger_time(state, svc, turned)
    assert moment is not None and format_nano_time(moment) == "2024-05-01T10:02:00.25Z"
    result = plan_endpoints(svc, turned, None, trigger_time=moment)
    assert result.endpoints is not None
    assert result.endpoints["metadata"]["annotations"][LAST_CHANGE_TRIGGER_TIME] == "2024-05-01T10:02:00.25Z"


def test_more_than_max_capacity_addresses_are_truncated_and_annotated() -> None:
    pods = [pod(f"p{i}", f"10.244.{i // 250}.{i % 250 + 1}") for i in range(MAX_CAPACITY + 5)]
    result = plan_endpoints(service(), pods, None, trigger_time=None)
    assert result.endpoints is not None
    assert sum(len(s["addresses"]) for s in result.endpoints["subsets"]) == MAX_CAPACITY
    assert result.endpoints["metadata"]["annotations"][OVER_CAPACITY] == "truncated"
