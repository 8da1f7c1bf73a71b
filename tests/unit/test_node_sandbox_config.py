"""A pod's sandbox: hostPorts on the node's address only, the host's namespaces when asked, DNS as the kubelet."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.node.env import ConfigError
from minik8s.node.runtime import NamespaceOptions, PortBinding
from minik8s.node.sandbox_config import (
    SandboxSettings,
    dns_settings,
    host_port_bindings,
    pod_ip,
    sandbox_spec,
)

NODE_IP = "10.244.1.1"
SETTINGS = SandboxSettings(network="minik8s-node-1", node_ip=NODE_IP, pause_image="pause", cluster_dns="10.96.0.10")


def pod(*ports: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"containers": [{"name": "main", "ports": list(ports)}], **spec}}


def test_a_host_port_binds_the_nodes_address_not_every_interface() -> None:
    bindings = host_port_bindings(pod({"containerPort": 80, "hostPort": 8080},
                                      {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"},
                                      {"containerPort": 9090}), NODE_IP)
    assert bindings == [PortBinding(NODE_IP, 8080, "tcp", 80), PortBinding(NODE_IP, 5353, "udp", 53)]


@pytest.mark.parametrize("host_ip", ["0.0.0.0", "::", NODE_IP, ""])
def test_an_unspecified_or_own_host_ip_is_the_nodes_address(host_ip: str) -> None:
    assert host_port_bindings(pod({"containerPort": 80, "hostPort": 8080, "hostIP": host_ip}), NODE_IP) == [
        PortBinding(NODE_IP, 8080, "tcp", 80)]


def test_a_host_ip_of_another_address_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"hostIP 127.0.0.1 of hostPort 8080 is not this node's address \(10.244.1.1\)"):
        host_port_bindings(pod({"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1"}), NODE_IP)


def test_a_sandbox_on_the_pod_network_publishes_its_host_ports() -> None:
    sandbox = sandbox_spec(pod({"containerPort": 80, "hostPort": 8080}), SETTINGS, name="k8s_POD", labels={})
    assert sandbox.namespaces == NamespaceOptions()
    assert sandbox.port_bindings == [PortBinding(NODE_IP, 8080, "tcp", 80)]
    assert sandbox.hostname == "web" and sandbox.dns_servers == ["10.96.0.10"]


def test_a_host_network_sandbox_publishes_nothing_and_uses_the_nodes_resolver() -> None:
    sandbox = sandbox_spec(pod({"containerPort": 80, "hostPort": 80}, hostNetwork=True, hostPID=True, hostIPC=True),
                           SETTINGS, name="k8s_POD", labels={})
    assert sandbox.namespaces == NamespaceOptions(host_network=True, host_pid=True, host_ipc=True)
    assert sandbox.port_bindings == []  # the container listens on the node itself
    assert (sandbox.dns_servers, sandbox.dns_search) == ([], [])


def test_cluster_first_with_host_net_keeps_the_cluster_dns() -> None:
    servers, search, options = dns_settings(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), SETTINGS)
    assert servers == ["10.96.0.10"] and search[0] == "shop.svc.cluster.local" and options == ["ndots:5"]


def test_a_host_network_pod_has_the_nodes_ip() -> None:
    assert pod_ip(pod(hostNetwork=True), None, NODE_IP) == NODE_IP
    assert pod_ip(pod(), "10.244.1.7", NODE_IP) == "10.244.1.7"


def test_a_pod_with_hostname_and_subdomain_is_named_by_its_fqdn() -> None:
    """A StatefulSet's web-0 under Service `web`: `hostname -f` and /etc/hosts say web-0.web.shop.svc.cluster.local."""
    sandbox = sandbox_spec(pod(hostname="web-0", subdomain="web"), SETTINGS, name="k8s_POD", labels={})
    assert (sandbox.hostname, sandbox.domainname) == ("web-0", "web.shop.svc.cluster.local")
    assert sandbox_spec(pod(hostname="web-0"), SETTINGS, name="k8s_POD", labels={}).domainname == ""
