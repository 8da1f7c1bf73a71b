"""`get all` and discovery: the "all" category holds Kubernetes' members of it, expanded in kubectl's order."""

from __future__ import annotations

from minik8s.api.registry import REGISTRY
from minik8s.apiserver import discovery
from minik8s.cli.resources import parse_resource_args

# Kubernetes' "all" category (each kind's storage Categories()): Services and the workload kinds.
KUBERNETES_ALL = {
    "pods", "replicationcontrollers", "services", "daemonsets.apps", "deployments.apps", "replicasets.apps",
    "statefulsets.apps", "horizontalpodautoscalers.autoscaling", "cronjobs.batch", "jobs.batch",
}


def test_the_all_category_holds_exactly_the_served_kinds_kubernetes_puts_in_it() -> None:
    served = {kind.group_resource for kind in REGISTRY.kinds}
    in_all = {kind.group_resource for kind in REGISTRY.kinds if "all" in kind.categories}
    assert in_all == KUBERNETES_ALL & served


def test_discovery_lists_each_group_versions_resources_sorted_as_kubernetes_does() -> None:
    for group, version in REGISTRY.group_versions():
        document = discovery.resource_list(group, version)
        assert document is not None
        names = [entry["name"] for entry in document["resources"]]
        assert names == sorted(names), f"{group}/{version}"


def test_get_all_expands_in_the_order_kubectl_reads_discovery() -> None:
    """kubectl expands a category over discovery's group-versions in turn, resources in listed order."""
    from_discovery = [
        entry["name"] if not group else f"{entry['name']}.{group}"
        for group, version in REGISTRY.group_versions()
        for entry in (discovery.resource_list(group, version) or {}).get("resources", [])
        if "all" in entry.get("categories", ())
    ]
    assert [kind.group_resource for kind in REGISTRY.in_category("all")] == from_discovery
    assert [request.kind.group_resource for request in parse_resource_args(["all"], verb="get")] == from_discovery
    assert from_discovery[:5] == ["pods", "services", "daemonsets.apps", "deployments.apps", "replicasets.apps"]


def test_namespaces_cannot_be_deleted_all_at_once() -> None:
    namespaces = REGISTRY.require("", "v1", "namespaces")
    assert namespaces.verbs == ("create", "delete", "get", "list", "patch", "update", "watch")
