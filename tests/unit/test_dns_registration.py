"""What the DNS server does to kube-system/kube-dns for each state it finds, and its health answers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from minik8s.api.kinds import ENDPOINTS, SERVICES
from minik8s.api.registry import ResourceKind
from minik8s.dns.health import health_response
from minik8s.dns.registration import Create, DnsRegistration, Recreate, Update, plan_endpoints, plan_service

REGISTRATION = DnsRegistration(cluster_ip="10.96.0.10", advertise_address="10.244.0.1", port=5353)


def stored(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The object as the apiserver would hold it (defaults, resourceVersion), with `changes` to its spec."""
    result = copy.deepcopy(obj)
    result["metadata"].update(resourceVersion="41", uid="u-1")
    if "spec" in result:
        result["spec"].setdefault("sessionAffinity", "None")
        result["spec"].setdefault("clusterIPs", [result["spec"]["clusterIP"]])
        result["spec"].update(changes)
    return result


SERVICE = stored(REGISTRATION.service())
ENDPOINTS_OBJECT = stored(REGISTRATION.endpoints())


def test_the_desired_service_and_endpoints() -> None:
    service = REGISTRATION.service()
    assert service["metadata"]["namespace"] == "kube-system" and service["metadata"]["name"] == "kube-dns"
    assert service["spec"]["clusterIP"] == "10.96.0.10" and "selector" not in service["spec"]
    assert [(p["name"], p["port"], p["protocol"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("dns", 53, "UDP", 5353), ("dns-tcp", 53, "TCP", 5353)]
    subset = REGISTRATION.endpoints()["subsets"][0]
    assert subset["addresses"] == [{"ip": "10.244.0.1"}]
    assert [(p["name"], p["port"], p["protocol"]) for p in subset["ports"]] == [("dns", 5353, "UDP"),
                                                                              ("dns-tcp", 5353, "TCP")]


def check_plan(plan: Callable[[dict[str, Any] | None, DnsRegistration], Any], observed: dict[str, Any] | None,
               expected: type[Any] | None, kind: ResourceKind) -> Any:
    """The action `plan` takes for `observed` (returned) is of the `expected` type (None: no action), about `kind`."""
    action = plan(observed, REGISTRATION)
    if expected is None:
        assert action is None
        return None
    assert action is not None and isinstance(action, expected) and action.kind == kind
    if isinstance(action, Update):
        assert action.obj["metadata"]["resourceVersion"] == "41"  # the write is guarded
        assert plan(action.obj, REGISTRATION) is None  # and converges
    return action


def unlabelled(obj: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    result["metadata"]["labels"] = {"team": "infra"}
    return result


@pytest.mark.parametrize(("observed", "expected"), [
    (None, Create),
    (SERVICE, None),
    (stored(REGISTRATION.service(), ports=[{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]), Update),
    (stored(REGISTRATION.service(), selector={"k8s-app": "kube-dns"}), Update),
    (stored(REGISTRATION.service(), type="NodePort"), Update),
    (unlabelled(SERVICE), Update),
    (stored(REGISTRATION.service(), clusterIP="10.96.3.3", clusterIPs=["10.96.3.3"]), Recreate),
    (stored(REGISTRATION.service(), clusterIP="None", clusterIPs=["None"]), Recreate),
])
def test_service_plan(observed: dict[str, Any] | None, expected: type | None) -> None:
    action = check_plan(plan_service, observed, expected, SERVICES)
    if isinstance(action, Recreate):
        assert action.resource_version == "41" and action.obj["spec"]["clusterIP"] == "10.96.0.10"


def test_an_update_keeps_labels_of_others() -> None:
    action = plan_service(unlabelled(SERVICE), REGISTRATION)
    assert isinstance(action, Update)
    assert action.obj["metadata"]["labels"]["team"] == "infra"
    assert action.obj["metadata"]["labels"]["k8s-app"] == "kube-dns"


def endpoints_with(**subset: Any) -> dict[str, Any]:
    result = copy.deepcopy(ENDPOINTS_OBJECT)
    result["subsets"][0].update(subset)
    return result


@pytest.mark.parametrize(("observed", "expected"), [
    (None, Create),
    (ENDPOINTS_OBJECT, None),
    (endpoints_with(addresses=[{"ip": "10.244.9.9"}]), Update),
    (endpoints_with(addresses=[{"ip": "10.244.0.1"}, {"ip": "10.244.9.9"}]), Update),
    (endpoints_with(notReadyAddresses=[{"ip": "10.244.9.9"}]), Update),
    (endpoints_with(ports=[{"name": "dns", "port": 53, "protocol": "UDP"}]), Update),
    ({**ENDPOINTS_OBJECT, "subsets": []}, Update),
    (unlabelled(ENDPOINTS_OBJECT), Update),
])
def test_endpoints_plan(observed: dict[str, Any] | None, expected: type | None) -> None:
    check_plan(plan_endpoints, observed, expected, ENDPOINTS)


@pytest.mark.parametrize(("request_head", "ready", "status"), [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True, b"200 OK"),
    (b"GET /healthz HTTP/1.1\r\n\r\n", False, b"503 Service Unavailable"),
    (b"GET /ready?verbose HTTP/1.0\r\n\r\n", True, b"200 OK"),
    (b"GET /metrics HTTP/1.1\r\n\r\n", True, b"404 Not Found"),
    (b"POST /healthz HTTP/1.1\r\n\r\n", True, b"405 Method Not Allowed"),
    (b"\xff\xfe garbage\r\n\r\n", True, b"404 Not Found"),
])
def test_health_answers(request_head: bytes, ready: bool, status: bytes) -> None:
    response = health_response(request_head, ready=ready)
    assert response.startswith(b"HTTP/1.1 " + status + b"\r\n")
    head, body = response.split(b"\r\n\r\n", 1)
    assert f"Content-Length: {len(body)}".encode() in head
