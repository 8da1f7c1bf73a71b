"""The Services' variables every container gets, as the kubelet makes them (getServiceEnvVarMap, envvars)."""

from __future__ import annotations

from typing import Any

from minik8s.node.env import resolve_env
from minik8s.node.service_env import service_env


def service(name: str, namespace: str, cluster_ip: str, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": list(ports)}}


KUBERNETES = service("kubernetes", "default", "10.96.0.1", {"name": "https", "port": 443, "protocol": "TCP"})
WEB = service("web-front", "shop", "10.96.3.7", {"port": 80, "protocol": "TCP"},
              {"name": "dns-udp", "port": 53, "protocol": "UDP"})
HEADLESS = service("db", "shop", "None", {"port": 5432})
ELSEWHERE = service("api", "other", "10.96.9.9", {"port": 8080})
SERVICES = [KUBERNETES, WEB, HEADLESS, ELSEWHERE]

KUBERNETES_VARIABLES = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
}


def test_every_pod_sees_the_kubernetes_service_exactly_as_on_kubernetes() -> None:
    assert service_env(SERVICES, "other", enable_service_links=False) == KUBERNETES_VARIABLES


def test_service_links_add_the_services_of_the_pods_namespace() -> None:
    assert service_env(SERVICES, "shop") == {**KUBERNETES_VARIABLES,
        "WEB_FRONT_SERVICE_HOST": "10.96.3.7",
        "WEB_FRONT_SERVICE_PORT": "80",
        "WEB_FRONT_SERVICE_PORT_DNS_UDP": "53",
        "WEB_FRONT_PORT": "tcp://10.96.3.7:80",
        "WEB_FRONT_PORT_80_TCP": "tcp://10.96.3.7:80",
        "WEB_FRONT_PORT_80_TCP_PROTO": "tcp",
        "WEB_FRONT_PORT_80_TCP_PORT": "80",
        "WEB_FRONT_PORT_80_TCP_ADDR": "10.96.3.7",
        "WEB_FRONT_PORT_53_UDP": "udp://10.96.3.7:53",
        "WEB_FRONT_PORT_53_UDP_PROTO": "udp",
        "WEB_FRONT_PORT_53_UDP_PORT": "53",
        "WEB_FRONT_PORT_53_UDP_ADDR": "10.96.3.7",
    }  # the headless `db` and `api` of another namespace give nothing


def test_a_namespaces_own_kubernetes_service_wins_over_the_masters() -> None:
    own = service("kubernetes", "shop", "10.96.5.5", {"port": 8443})
    for order in ([KUBERNETES, own], [own, KUBERNETES]):
        assert service_env(order, "shop")["KUBERNETES_SERVICE_HOST"] == "10.96.5.5"
    assert service_env([own, KUBERNETES], "shop", enable_service_links=False)["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_an_ipv6_cluster_ip_is_bracketed_in_urls() -> None:
    v6 = service("v6", "shop", "fd00::10", {"port": 80})
    assert service_env([v6], "shop")["V6_PORT_80_TCP"] == "tcp://[fd00::10]:80"


def test_the_containers_own_variables_win_and_may_name_the_services() -> None:
    pod = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {"containers": []}}
    container = {"name": "c", "env": [{"name": "API", "value": "https://$(KUBERNETES_SERVICE_HOST):443"},
                                      {"name": "KUBERNETES_SERVICE_PORT", "value": "6443"}]}
    env = resolve_env(pod, container, pod_ip="10.244.1.5", host_ip="10.244.1.1", node_name="n",
                      lookup=lambda *_: None, service_env=KUBERNETES_VARIABLES)
    assert env == {**KUBERNETES_VARIABLES, "API": "https://10.96.0.1:443", "KUBERNETES_SERVICE_PORT": "6443"}
