"""Builders of the Node and Pod objects the scheduler tests feed to filters, scores and the cache."""

from __future__ import annotations

from typing import Any

from minik8s.scheduler.node_info import ClusterView, NodeInfo
from minik8s.scheduler.pod_facts import PodFacts, pod_facts

GI = 1024**3
MI = 1024**2


def node(name: str = "n1", *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
         labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
         ready: str | None = "True", unschedulable: bool = False,
         images: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], **({"unschedulable": True} if unschedulable else {})},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)},
                   "conditions": conditions, "images": images or []},
    }


def pod(name: str = "p", *, namespace: str = "default", cpu: str | None = None, memory: str | None = None,
        labels: dict[str, str] | None = None, node_selector: dict[str, str] | None = None,
        tolerations: list[dict[str, Any]] | None = None, affinity: dict[str, Any] | None = None,
        host_ports: tuple[int, ...] = (), owner_uid: str | None = None, node_name: str | None = None,
        image: str = "busybox", init_containers: list[dict[str, Any]] | None = None,
        scheduler_name: str | None = None, extra_containers: list[dict[str, Any]] | None = None,
        spread: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value is not None}
    container: dict[str, Any] = {"name": "c", "image": image, "resources": {"requests": requests} if requests else {}}
    if host_ports:
        container["ports"] = [{"containerPort": port, "hostPort": port, "protocol": "TCP"} for port in host_ports]
    spec: dict[str, Any] = {"containers": [container, *(extra_containers or [])]}
    for key, value in (("nodeSelector", node_selector), ("tolerations", tolerations), ("affinity", affinity),
                       ("initContainers", init_containers), ("nodeName", node_name),
                       ("schedulerName", scheduler_name), ("topologySpreadConstraints", spread)):
        if value is not None:
            spec[key] = value
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {}}
    if owner_uid:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                        "uid": owner_uid, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": {"phase": "Pending"}}


def facts(name: str = "p", **options: Any) -> PodFacts:
    return pod_facts(pod(name, **options))


def info(node_object: dict[str, Any], *pods: dict[str, Any]) -> NodeInfo:
    """A NodeInfo with `pods` placed on it."""
    node_info = NodeInfo(node_object["metadata"]["name"], node_object)
    for placed in pods:
        node_info.add_pod(pod_facts(placed).with_node(node_info.name))
    return node_info


def cluster(*infos: NodeInfo, namespace_labels: dict[str, dict[str, str]] | None = None) -> ClusterView:
    image_nodes: dict[str, int] = {}
    for node_info in infos:
        for image in node_info.images:
            image_nodes[image] = image_nodes.get(image, 0) + 1
    return ClusterView(list(infos), image_nodes, namespace_labels or {})


def anti_affinity(labels: dict[str, str], topology_key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": labels}, "topologyKey": topology_key}]}}


def affinity(labels: dict[str, str], topology_key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": labels}, "topologyKey": topology_key}]}}


def node_affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def spread_constraint(max_skew: int, topology_key: str, when: str = "DoNotSchedule", *,
                      labels: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """A topologySpreadConstraint selecting `labels` (app=web by default)."""
    return {"maxSkew": max_skew, "topologyKey": topology_key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": labels if labels is not None else {"app": "web"}}, **fields}
