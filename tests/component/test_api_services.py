"""Service addresses: ClusterIPs and NodePorts allocated without collisions, and the kubernetes service."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import httpx

from tests.support import builders

SVC = "/api/v1/namespaces/default/services"


def service(name: str, **spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80}], **spec}
    return builders.service(name, **fields)


async def test_cluster_ips_come_from_the_service_range_and_never_collide(api: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(api.post(SVC, json=service(f"many-{i}")) for i in range(30)))
    ips = [r.json()["spec"]["clusterIP"] for r in responses]
    assert all(r.status_code == 201 for r in responses)
    assert len(set(ips)) == 30
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/16") for ip in ips)
    assert responses[0].json()["spec"]["clusterIPs"] == [ips[0]]


async def test_an_explicit_cluster_ip_is_honoured_once_and_released_on_delete(api: httpx.AsyncClient) -> None:
    first = await api.post(SVC, json=service("fixed", clusterIP="10.96.5.5"))
    assert first.json()["spec"]["clusterIP"] == "10.96.5.5"
    taken = await api.post(SVC, json=service("copycat", clusterIP="10.96.5.5"))
    assert taken.status_code == 422
    assert taken.json()["details"]["causes"][0]["field"] == "spec.clusterIP"
    assert "already allocated" in taken.json()["message"]
    outside = await api.post(SVC, json=service("far", clusterIP="192.168.1.1"))
    assert outside.status_code == 422 and "valid range" in outside.json()["message"]
    await api.delete(f"{SVC}/fixed")
    assert (await api.post(SVC, json=service("copycat", clusterIP="10.96.5.5"))).status_code == 201


async def test_node_ports_are_allocated_honoured_and_checked(api: httpx.AsyncClient) -> None:
    auto = (await api.post(SVC, json=service("np-auto", type="NodePort"))).json()
    assert 30000 <= auto["spec"]["ports"][0]["nodePort"] <= 32767
    explicit = service("np-fixed", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert (await api.post(SVC, json=explicit)).json()["spec"]["ports"][0]["nodePort"] == 30080
    clash = await api.post(SVC, json=dict(explicit, metadata={"name": "np-clash"}))
    assert clash.status_code == 422 and clash.json()["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    bad = service("np-bad", type="NodePort", ports=[{"port": 80, "nodePort": 80}])
    assert (await api.post(SVC, json=bad)).status_code == 422
    plain = await api.post(SVC, json=service("plain"))
    assert "nodePort" not in plain.json()["spec"]["ports"][0]


async def test_an_update_keeps_the_addresses_and_type_changes_allocate_or_release(api: httpx.AsyncClient) -> None:
    created = (await api.post(SVC, json=service("changing"))).json()
    body = {"metadata": {"name": "changing"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}],
                                                        "type": "NodePort"}}
    updated = (await api.put(f"{SVC}/changing", json=body)).json()
    assert updated["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    port = updated["spec"]["ports"][0]["nodePort"]
    back = dict(body, spec={"selector": {"app": "x"}, "ports": [{"port": 80}], "type": "ClusterIP"})
    assert "nodePort" not in (await api.put(f"{SVC}/changing", json=back)).json()["spec"]["ports"][0]
    reuse = service("reuser", type="NodePort", ports=[{"port": 80, "nodePort": port}])
    assert (await api.post(SVC, json=reuse)).status_code == 201  # the port was released


async def test_headless_services_get_no_address(api: httpx.AsyncClient) -> None:
    headless = (await api.post(SVC, json=service("headless", clusterIP="None"))).json()
    assert headless["spec"]["clusterIP"] == "None"


async def test_the_kubernetes_service_points_at_the_apiserver(api: httpx.AsyncClient) -> None:
    kubernetes = (await api.get(f"{SVC}/kubernetes")).json()
    assert kubernetes["spec"]["clusterIP"] == "10.96.0.1" and kubernetes["spec"]["ports"][0]["port"] == 443
    # This apiserver advertises 127.0.0.1, which no Endpoints may hold: Kubernetes would log "unable to sync
    # kubernetes service" and write none (test_api_endpoint_addresses registers routable replicas).
    assert (await api.get("/api/v1/namespaces/default/endpoints/kubernetes")).status_code == 404
