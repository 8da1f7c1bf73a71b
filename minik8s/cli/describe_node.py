"""`describe node`: the longest of kubectl's descriptions, kept apart from the other kinds.

Besides the node's own fields (taints, conditions, addresses, capacity, system info) kubectl
shows its Lease (the agent's heartbeat) and the non-terminated pods bound to it with their CPU
and memory requests and limits, as amounts and as percentages of what the node can allocate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from minik8s.api.quantity import cpu_millis, format_cpu_millis, format_memory_bytes, memory_bytes
from minik8s.api.table_values import age, as_list, as_map, as_str
from minik8s.cli.describe_text import (
    DescribeWriter,
    timestamp,
    write_annotations,
    write_lines,
    write_multiline_map,
)


class NodeEvidence(Protocol):
    """What a node's description needs: the node, its pods and its Lease."""

    @property
    def obj(self) -> Mapping[str, Any]: ...

    @property
    def pods(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def lease(self) -> Mapping[str, Any] | None: ...


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(obj.get("metadata"))


def _head(writer: DescribeWriter, obj: Mapping[str, Any]) -> None:
    writer.write(0, f"Name:\t{as_str(_metadata(obj).get('name'))}\n")


_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _resources_of(pod: Mapping[str, Any], part: str) -> dict[str, int]:
    """A pod's summed container requests or limits: millicores of CPU, bytes of memory and storage."""
    totals = dict.fromkeys(_RESOURCES, 0)
    for container in as_list(as_map(pod.get("spec")).get("containers")):
        values = as_map(as_map(as_map(container).get("resources")).get(part))
        totals["cpu"] += cpu_millis(values.get("cpu", 0))
        for name in _RESOURCES[1:]:
            totals[name] += memory_bytes(values.get(name, 0))
    return totals


def _amount(resource: str, value: int, whole: int) -> str:
    text = format_cpu_millis(value) if resource == "cpu" else format_memory_bytes(value)
    return f"{text} ({int(value * 100 / whole) if whole else 0}%)"


def _write_node_pods(writer: DescribeWriter, node: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime) -> None:
    status = as_map(node.get("status"))
    allocatable = as_map(status.get("allocatable")) or as_map(status.get("capacity"))
    wholes = {"cpu": cpu_millis(allocatable.get("cpu", 0)), "memory": memory_bytes(allocatable.get("memory", 0)),
              "ephemeral-storage": memory_bytes(allocatable.get("ephemeral-storage", 0))}
    writer.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    writer.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    writer.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    requests, limits = dict.fromkeys(_RESOURCES, 0), dict.fromkeys(_RESOURCES, 0)
    for pod in pods:
        pod_requests, pod_limits = _resources_of(pod, "requests"), _resources_of(pod, "limits")
        for name in _RESOURCES:
            requests[name] += pod_requests[name]
            limits[name] += pod_limits[name]
        cells = [_amount(name, totals[name], wholes[name]) for name in ("cpu", "memory")
                 for totals in (pod_requests, pod_limits)]
        writer.write(1, f"{as_str(_metadata(pod).get('namespace'))}\t{as_str(_metadata(pod).get('name'))}\t\t"
                        f"{chr(9).join(cells)}\t{age(pod, now)}\n")
    writer.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    writer.write(1, "Resource\tRequests\tLimits\n")
    writer.write(1, "--------\t--------\t------\n")
    for name in _RESOURCES:
        writer.write(1, f"{name}\t{_amount(name, requests[name], wholes[name])}\t"
                        f"{_amount(name, limits[name], wholes[name])}\n")


def _write_lease(writer: DescribeWriter, name: str, lease: Mapping[str, Any] | None) -> None:
    """The agent's heartbeat Lease (kubectl says why when there is none)."""
    if lease is None:
        writer.write(0, f'Lease:\tFailed to get lease: leases.coordination.k8s.io "{name}" not found\n')
        return
    lease_spec = as_map(lease.get("spec"))
    writer.write(0, "Lease:\n")
    writer.write(1, f"HolderIdentity:\t{as_str(lease_spec.get('holderIdentity')) or '<unset>'}\n")
    for label, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
        writer.write(1, f"{label}:\t{timestamp(lease_spec[key]) if lease_spec.get(key) else '<unset>'}\n")


def _write_conditions(writer: DescribeWriter, conditions: Sequence[Mapping[str, Any]]) -> None:
    if not conditions:
        return
    writer.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
    writer.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
    for condition in conditions:
        writer.write(1, f"{as_str(condition.get('type'))} \t{as_str(condition.get('status'))} "
                        f"\t{timestamp(condition.get('lastHeartbeatTime'))} "
                        f"\t{timestamp(condition.get('lastTransitionTime'))} \t{as_str(condition.get('reason'))} "
                        f"\t{as_str(condition.get('message'))}\n")


def describe_node(writer: DescribeWriter, evidence: NodeEvidence, now: datetime) -> None:
    """kubectl's node description: conditions, addresses, capacity, system info, pods, allocation."""
    node = evidence.obj
    metadata, spec, status = _metadata(node), as_map(node.get("spec")), as_map(node.get("status"))
    _head(writer, node)
    roles = sorted(key.split("/", 1)[1] for key in as_map(metadata.get("labels"))
                   if key.startswith("node-role.kubernetes.io/") and "/" in key)
    writer.write(0, f"Roles:\t{','.join(roles) or '<none>'}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"CreationTimestamp:\t{timestamp(metadata.get('creationTimestamp'))}\n")
    taints = sorted((as_map(t) for t in as_list(spec.get("taints"))),
                    key=lambda taint: f"{as_str(taint.get('effect'))},{as_str(taint.get('key'))}")
    write_lines(writer, "Taints", [as_str(t.get("key")) + (f"={t['value']}" if t.get("value") else "")
                                   + f":{as_str(t.get('effect'))}" for t in taints])
    writer.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    _write_lease(writer, as_str(metadata.get("name")), evidence.lease)
    _write_conditions(writer, [as_map(c) for c in as_list(status.get("conditions"))])
    writer.write(0, "Addresses:\n")
    for address in (as_map(a) for a in as_list(status.get("addresses"))):
        writer.write(1, f"{as_str(address.get('type'))}:\t{as_str(address.get('address'))}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if as_map(status.get(key)):
            writer.write(0, f"{title}:\n")
            for name in sorted(as_map(status.get(key))):
                writer.write(0, f"  {name}:\t{as_map(status.get(key))[name]}\n")
    info = as_map(status.get("nodeInfo"))
    writer.write(0, "System Info:\n")
    for label, key in (("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
                       ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"),
                       ("Operating System", "operatingSystem"), ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"), ("Kubelet Version", "kubeletVersion"),
                       ("Kube-Proxy Version", "kubeProxyVersion")):
        writer.write(0, f"  {label}:\t{as_str(info.get(key))}\n")
    if spec.get("podCIDR"):
        writer.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if as_list(spec.get("podCIDRs")):
        writer.write(0, f"PodCIDRs:\t{','.join(as_list(spec.get('podCIDRs')))}\n")
    _write_node_pods(writer, node, evidence.pods, now)
