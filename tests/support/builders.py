"""API objects for tests, built with keyword arguments: a test names only what it is about.

Each builder returns a plain JSON object as the apiserver would accept it (no status). Defaults are
those of a small web workload: pods running busybox, workloads selecting `app=<name>`, a `web`
Service in `default` on port 80 to 8080, Endpoints with three pod IPs. `namespace=None` leaves the
namespace out, for an object posted to a namespace's path.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.meta import JsonObject

NAMESPACE = "default"
POD_IPS = ["10.244.1.11", "10.244.1.12", "10.244.2.13"]


def metadata(name: str, *, namespace: str | None = None, labels: dict[str, str] | None = None) -> JsonObject:
    result: JsonObject = {"name": name}
    if namespace is not None:
        result["namespace"] = namespace
    if labels is not None:
        result["labels"] = labels
    return result


def service(name: str = "web", *, namespace: str | None = NAMESPACE, cluster_ip: str | None = None,
            ports: list[JsonObject] | None = None, **spec: Any) -> JsonObject:
    """A Service (port 80 to 8080 unless `ports`); no clusterIP unless given, so the apiserver allocates one."""
    body: JsonObject = {"ports": ports if ports is not None else [{"port": 80, "targetPort": 8080}], **spec}
    if cluster_ip is not None:
        body["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name, namespace=namespace), "spec": body}


def endpoints(name: str = "web", ips: list[str] | None = None, *, namespace: str | None = NAMESPACE,
              ports: list[JsonObject] | None = None, not_ready: list[str] | None = None) -> JsonObject:
    """Endpoints with one subset: `ips` (three pod IPs unless given) ready, `not_ready` not, on TCP 8080."""
    subset: JsonObject = {"addresses": [{"ip": ip} for ip in (POD_IPS if ips is None else ips)],
                          "ports": ports if ports is not None else [{"port": 8080, "protocol": "TCP"}]}
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": metadata(name, namespace=namespace),
            "subsets": [subset]}

BUSYBOX = "minik8s/busybox:latest"  # built locally by `make install`, present on every node


def container(name: str = "app", image: str = BUSYBOX, **fields: Any) -> JsonObject:
    """A container spec: `fields` are the API's own (command, ports, readinessProbe, …)."""
    return {"name": name, "image": image, **fields}


def sleeper(name: str = "app", image: str = BUSYBOX) -> JsonObject:
    """A container that runs for an hour and never pulls: what a test needs when the process does not matter."""
    return container(name, image, imagePullPolicy="IfNotPresent", command=["sleep", "3600"])


def pod(name: str, *, namespace: str | None = None, labels: dict[str, str] | None = None,
        containers: list[JsonObject] | None = None, init_containers: list[JsonObject] | None = None,
        node_name: str | None = None, grace: int | None = None, **spec: Any) -> JsonObject:
    """A Pod (one busybox container `app` unless `containers`); `spec` adds fields of the pod spec."""
    body: JsonObject = {"containers": containers if containers is not None else [container()], **spec}
    if init_containers:
        body["initContainers"] = init_containers
    if node_name:
        body["nodeName"] = node_name
    if grace is not None:
        body["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata(name, namespace=namespace, labels=labels),
            "spec": body}


def _workload(kind: str, name: str, *, namespace: str | None, labels: dict[str, str] | None,
              pod_spec: JsonObject | None, spec: dict[str, Any]) -> JsonObject:
    selected = labels if labels is not None else {"app": name}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata(name, namespace=namespace),
            "spec": {**spec, "selector": {"matchLabels": selected},
                     "template": {"metadata": {"labels": selected},
                                  "spec": pod_spec if pod_spec is not None else {"containers": [container()]}}}}


def deployment(name: str, *, replicas: int = 1, namespace: str | None = None, labels: dict[str, str] | None = None,
               pod_spec: JsonObject | None = None, **spec: Any) -> JsonObject:
    """A Deployment selecting and labelling its pods `labels` (`app=<name>` unless given)."""
    return _workload("Deployment", name, namespace=namespace, labels=labels, pod_spec=pod_spec,
                     spec={"replicas": replicas, **spec})


def replica_set(name: str, *, replicas: int = 1, namespace: str | None = None, labels: dict[str, str] | None = None,
                pod_spec: JsonObject | None = None, **spec: Any) -> JsonObject:
    """A ReplicaSet selecting and labelling its pods `labels` (`app=<name>` unless given)."""
    return _workload("ReplicaSet", name, namespace=namespace, labels=labels, pod_spec=pod_spec,
                     spec={"replicas": replicas, **spec})


def daemon_set(name: str, *, namespace: str | None = None, labels: dict[str, str] | None = None,
               pod_spec: JsonObject | None = None, **spec: Any) -> JsonObject:
    """A DaemonSet selecting and labelling its pods `labels` (`app=<name>` unless given)."""
    return _workload("DaemonSet", name, namespace=namespace, labels=labels, pod_spec=pod_spec, spec=spec)


def config_map(name: str, *, namespace: str | None = None, labels: dict[str, str] | None = None,
               **data: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(name, namespace=namespace, labels=labels),
            "data": data}


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[JsonObject] | None = None,
         ready: str | None = None, pod_cidr: str | None = None, unschedulable: bool = False) -> JsonObject:
    """A Node; a Ready condition with status `ready` ("True", "False", "Unknown") only when given."""
    spec: JsonObject = {}
    if taints is not None:
        spec["taints"] = taints
    if pod_cidr:
        spec["podCIDR"], spec["podCIDRs"] = pod_cidr, [pod_cidr]
    if unschedulable:
        spec["unschedulable"] = True
    body: JsonObject = {"apiVersion": "v1", "kind": "Node", "metadata": metadata(name, labels=labels), "spec": spec}
    if ready is not None:
        body["status"] = {"conditions": [{"type": "Ready", "status": ready}]}
    return body
