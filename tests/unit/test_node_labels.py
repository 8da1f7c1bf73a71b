"""A node agent's labels: `--node-labels` read as the kubelet reads it, and its well-known labels kept current."""

from __future__ import annotations

import pytest

from minik8s.node.main import parse_args
from minik8s.node.node_labels import default_label_updates, kubelet_may_set, parse_node_labels
from minik8s.node.registration import HostFacts, NodeIdentity, new_node

ZONE = "topology.kubernetes.io/zone"
FACTS = HostFacts(cpu_count=2, memory_bytes=2**30, kernel="k", os_image="o", machine_id="m", boot_id="b",
                  hostname="h", architecture="amd64")


def test_node_labels_are_key_value_pairs_separated_by_commas() -> None:
    assert parse_node_labels(f"{ZONE}=zone-a, disk=ssd,,") == {ZONE: "zone-a", "disk": "ssd"}
    assert parse_node_labels("") == {}


@pytest.mark.parametrize(("key", "allowed"), [
    (ZONE, True), ("topology.kubernetes.io/region", True), ("kubernetes.io/hostname", True),
    ("node.kubernetes.io/instance-type", True), ("team.node.kubernetes.io/pool", True),
    ("kubelet.kubernetes.io/anything", True), ("example.com/rack", True), ("rack", True),
    ("node-role.kubernetes.io/control-plane", False), ("kubernetes.io/role", False), ("custom.k8s.io/x", False),
])
def test_only_the_kubelets_own_kubernetes_io_labels_may_be_set(key: str, allowed: bool) -> None:
    assert kubelet_may_set(key) is allowed


@pytest.mark.parametrize(("text", "message"), [
    ("zone", "invalid --node-labels entry 'zone': must be key=value"),
    ("bad key=x", "invalid --node-labels entry 'bad key=x': key name part must consist of"),
    ("node-role.kubernetes.io/master=", "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: "
                                        "['node-role.kubernetes.io/master']"),
])
def test_malformed_or_forbidden_labels_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_node_labels(text)
    assert str(raised.value).startswith(message)


def test_the_agent_registers_with_its_labels_on_top_of_the_defaults() -> None:
    args = parse_args(["--node-name", "node-1", "--pod-cidr", "10.244.1.0/24", "--node-labels", f"{ZONE}=zone-a"])
    node = new_node(NodeIdentity("node-1", "10.244.1.1", 10250, "10.244.1.0/24", args.node_labels), FACTS)
    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", ZONE: "zone-a"}


@pytest.mark.parametrize(("wanted", "existing", "updates"), [
    ({"kubernetes.io/hostname": "n1", ZONE: "b"}, {"kubernetes.io/hostname": "n1", ZONE: "a"}, {ZONE: "b"}),
    ({"kubernetes.io/hostname": "n1"}, {"kubernetes.io/hostname": "n1", ZONE: "a"}, {}),  # not the agent's to drop
    ({"kubernetes.io/hostname": "n1"}, {"kubernetes.io/hostname": "n1", "rack": "7"}, {}),  # others left alone
    ({ZONE: ""}, {ZONE: "a"}, {ZONE: None}),  # an empty value removes the label
])
def test_re_registering_brings_well_known_labels_back_to_the_flags(
        wanted: dict[str, str], existing: dict[str, str], updates: dict[str, str | None]) -> None:
    assert default_label_updates(wanted, existing) == updates
