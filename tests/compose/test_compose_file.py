"""The compose demo's wiring is consistent, checked without Docker.

deploy/compose/docker-compose.yml is plain YAML whose addresses must agree with each other and
with the cluster's fixed networks: a peer missing from a replica's RAFT_PEERS, a node route to the
wrong address or a subnet overlapping the pod network would only show up as a hung demo much
later. These tests read the file as docker-compose does and fail on such a mistake at once. The
entrypoint scripts are parsed and shellchecked with every other script in tests/lint.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"
RESERVED_NETWORKS = {
    "pod network": ipaddress.ip_network("10.244.0.0/16"),
    "service network": ipaddress.ip_network("10.96.0.0/16"),
    "Docker's default bridge": ipaddress.ip_network("172.17.0.0/16"),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def services_of(compose: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in compose["services"].items() if name.startswith(prefix)}


def address_of(spec: dict[str, Any]) -> str:
    return str(spec["networks"]["cluster"]["ipv4_address"])


def subnet_of(compose: dict[str, Any]) -> ipaddress.IPv4Network:
    network = ipaddress.ip_network(compose["networks"]["cluster"]["ipam"]["config"][0]["subnet"])
    assert isinstance(network, ipaddress.IPv4Network)
    return network


@pytest.mark.parametrize("reserved", sorted(RESERVED_NETWORKS))
def test_the_compose_subnet_overlaps_none_of_the_cluster_networks(compose: dict[str, Any], reserved: str) -> None:
    assert not subnet_of(compose).overlaps(RESERVED_NETWORKS[reserved])


def test_every_service_has_its_own_fixed_address_inside_the_subnet(compose: dict[str, Any]) -> None:
    addresses = [address_of(spec) for spec in compose["services"].values()]
    assert len(set(addresses)) == len(addresses)
    assert all(ipaddress.ip_address(address) in subnet_of(compose) for address in addresses)


def test_containers_are_named_after_the_compose_project(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        assert spec["container_name"] == f"minik8s-compose-{name}"


def test_the_cluster_has_three_apiservers_and_two_nodes(compose: dict[str, Any]) -> None:
    assert len(services_of(compose, "apiserver-")) == 3
    assert len(services_of(compose, "node-")) == 2
    assert {"scheduler", "controller-manager"} <= set(compose["services"])


def test_each_apiserver_lists_exactly_the_other_replicas_as_raft_peers(compose: dict[str, Any]) -> None:
    apiservers = services_of(compose, "apiserver-")
    raft_addresses = {name: f"{address_of(spec)}:7001" for name, spec in apiservers.items()}
    for name, spec in apiservers.items():
        environment = spec["environment"]
        assert environment["APISERVER_IP"] == address_of(spec)
        others = {address for other, address in raft_addresses.items() if other != name}
        assert set(environment["RAFT_PEERS"].split(",")) == others


def test_every_daemon_reads_the_cluster_pki_and_cannot_change_it(compose: dict[str, Any]) -> None:
    """Certificates and kubeconfigs (which name every apiserver) come from demo.sh's `minik8s certs`."""
    for name, spec in compose["services"].items():
        assert [volume for volume in spec["volumes"] if ":/etc/minik8s" in volume] == [
            "${MINIK8S_COMPOSE_STATE:?set MINIK8S_COMPOSE_STATE (demo.sh does)}/secret:/etc/minik8s:ro"], name


def test_each_node_routes_every_other_nodes_pod_network_to_that_node(compose: dict[str, Any]) -> None:
    nodes = services_of(compose, "node-")
    for name, spec in nodes.items():
        environment = spec["environment"]
        assert environment["NODE_IP"] == address_of(spec)
        routes = dict(route.split("=") for route in environment["PEER_ROUTES"].split(","))
        others = {other["environment"]["POD_CIDR"]: address_of(other) for other_name, other in nodes.items()
                  if other_name != name}
        assert routes == others


def test_pod_networks_are_distinct_slices_of_the_cluster_pod_network(compose: dict[str, Any]) -> None:
    cidrs = [ipaddress.ip_network(spec["environment"]["POD_CIDR"]) for spec in services_of(compose, "node-").values()]
    assert len(set(cidrs)) == len(cidrs)
    assert all(cidr.subnet_of(RESERVED_NETWORKS["pod network"]) for cidr in cidrs)  # type: ignore[arg-type]


def test_exactly_one_node_runs_the_cluster_dns(compose: dict[str, Any]) -> None:
    running = [name for name, spec in services_of(compose, "node-").items() if spec["environment"]["RUN_DNS"] == "yes"]
    assert running == ["node-1"]


def test_every_entrypoint_script_exists(compose: dict[str, Any]) -> None:
    for spec in compose["services"].values():
        script = Path(spec["entrypoint"][-1])
        assert (COMPOSE_DIR / script.name).is_file(), script
