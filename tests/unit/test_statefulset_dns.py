"""A StatefulSet pod's DNS name, end to end without sockets: the pod the controller makes, the Endpoints the
endpoints controller writes for the governing headless Service, and the cluster DNS's answer for
`web-0.web.<ns>.svc.cluster.local` (Kubernetes' DNS specification: a headless Service's endpoint with a
hostname is named `<hostname>.<service>.<ns>.svc.<zone>`)."""

from __future__ import annotations

from typing import Any

from minik8s.controllers.endpoints.plan import plan_endpoints
from minik8s.controllers.statefulset.identity import new_pod
from minik8s.dns.records import StaticCache, resolve
from minik8s.dnswire.message import SRV, A, Rcode
from tests.unit.statefulset_builders import stateful_set

NAMESPACE = "default"


def headless(name: str = "web") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"clusterIP": "None", "selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}]}}


def running(ordinal: int, ip: str) -> dict[str, Any]:
    pod = new_pod(stateful_set(), ordinal, "web-rev")
    pod["metadata"]["uid"] = f"uid-{ordinal}"
    pod["spec"]["nodeName"] = "node-1"
    pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                     "conditions": [{"type": "Ready", "status": "True"}]}
    return pod


def zone(pods: list[dict[str, Any]], service: dict[str, Any] | None = None) -> tuple[StaticCache, StaticCache]:
    service = service or headless()
    endpoints = plan_endpoints(service, pods, None, trigger_time=None).endpoints
    assert endpoints is not None
    return StaticCache.of([service]), StaticCache.of([endpoints])


def test_each_pod_of_the_set_has_its_own_name_under_the_governing_service() -> None:
    services, endpoints = zone([running(0, "10.244.1.5"), running(1, "10.244.2.7")])
    for name, ip in (("web-0", "10.244.1.5"), ("web-1", "10.244.2.7")):
        answer = resolve(f"{name}.web.{NAMESPACE}.svc.cluster.local", "A", services=services, endpoints=endpoints)
        assert (answer.rcode, [r.data for r in answer.records]) == (Rcode.NOERROR, [A(ip)])
    every = resolve(f"web.{NAMESPACE}.svc.cluster.local", "A", services=services, endpoints=endpoints)
    assert sorted(r.data.address for r in every.records if isinstance(r.data, A)) == ["10.244.1.5", "10.244.2.7"]
    srv = resolve(f"_http._tcp.web.{NAMESPACE}.svc.cluster.local", "SRV", services=services, endpoints=endpoints)
    assert sorted(r.data.target for r in srv.records if isinstance(r.data, SRV)) == [
        f"web-0.web.{NAMESPACE}.svc.cluster.local.", f"web-1.web.{NAMESPACE}.svc.cluster.local."]


def test_a_replacement_pod_keeps_the_name_with_its_new_address() -> None:
    services, endpoints = zone([running(0, "10.244.2.9")])
    answer = resolve(f"web-0.web.{NAMESPACE}.svc.cluster.local", "A", services=services, endpoints=endpoints)
    assert [r.data for r in answer.records] == [A("10.244.2.9")]


def test_no_name_for_a_pod_that_is_not_ready_or_under_another_service() -> None:
    unready = running(1, "10.244.2.7")
    unready["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    services, endpoints = zone([running(0, "10.244.1.5"), unready])
    answer = resolve(f"web-1.web.{NAMESPACE}.svc.cluster.local", "A", services=services, endpoints=endpoints)
    assert answer.rcode == Rcode.NXDOMAIN
    other_services, other_endpoints = zone([running(0, "10.244.1.5")], headless("other"))
    elsewhere = resolve(f"web-0.other.{NAMESPACE}.svc.cluster.local", "A", services=other_services,
                        endpoints=other_endpoints)
    assert elsewhere.rcode == Rcode.NXDOMAIN  # the pod's subdomain is `web`: under `other` it has only its IP name
