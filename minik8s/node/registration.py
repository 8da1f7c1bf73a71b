"""The agent's Node object and heartbeat: who this node is, what it offers, whether it is alive.

The Node's capacity, addresses and conditions are computed purely from a `HostFacts` snapshot
(so they are unit-testable); the heartbeat renews a Lease in kube-node-lease (cheap, the
signal the node lifecycle controller watches) and rewrites the Node's status on its own period.
What the control plane owns — `spec.podCIDR` once assigned, `spec.unschedulable`, taints — is
never overwritten by the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from minik8s.api.kinds import LEASES, NODES
from minik8s.api.meta import JsonObject, format_micro_time, labels_of, now_time, spec_of, status_of, uid_of
from minik8s.client.api import ApiClient
from minik8s.client.errors import AlreadyExists, ApiError, Conflict, NotFound
from minik8s.node.node_labels import default_label_updates

log = logging.getLogger(__name__)

KUBELET_VERSION = "v1.32.0-minik8s"
MAX_PODS = 110


# () -> (runtime version, why the runtime is not usable or None, the node's images for status.images)
RuntimeProbe = Callable[[], Awaitable[tuple[str, str | None, list[JsonObject]]]]


@dataclass(frozen=True)
class HostFacts:
    cpu_count: int
    memory_bytes: int
    kernel: str
    os_image: str
    machine_id: str
    boot_id: str
    hostname: str
    architecture: str


@dataclass(frozen=True)
class NodeIdentity:
    name: str
    node_ip: str
    agent_port: int
    pod_cidr: str | None
    labels: Mapping[str, str] = field(default_factory=dict)  # --node-labels (a zone, say), on top of the defaults


def read_host_facts() -> HostFacts:
    def read(path: str, default: str = "") -> str:
        try:
            with open(path) as handle:
                return handle.read().strip()
        except OSError:
            return default

    memory_kib = 0
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    os_image = "Linux"
    for line in read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            os_image = line.split("=", 1)[1].strip('"')
    machine = platform.machine()
    return HostFacts(
        cpu_count=os.cpu_count() or 1, memory_bytes=memory_kib * 1024, kernel=platform.release(),
        os_image=os_image, machine_id=read("/etc/machine-id", "unknown"),
        boot_id=read("/proc/sys/kernel/random/boot_id", "unknown"), hostname=platform.node(),
        architecture={"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine),
    )


def node_conditions(*, runtime_error: str | None, previous: list[JsonObject], now: str) -> list[JsonObject]:
    """Ready plus the pressure conditions; lastTransitionTime moves only when a status flips."""
    earlier = {c.get("type"): c for c in previous}

    def condition(kind: str, status: str, reason: str, message: str) -> JsonObject:
        before = earlier.get(kind) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else now
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": since or now}

    return [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition("Ready", "False", "KubeletNotReady", runtime_error) if runtime_error else
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]


def node_status(identity: NodeIdentity, facts: HostFacts, *, runtime_version: str, runtime_error: str | None,
                images: list[JsonObject], previous: Mapping[str, Any], now: str) -> JsonObject:
    capacity = {"cpu": str(facts.cpu_count), "memory": f"{facts.memory_bytes // 1024}Ki", "pods": str(MAX_PODS),
                "ephemeral-storage": "0"}
    return {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": node_conditions(runtime_error=runtime_error, previous=previous.get("conditions") or [],
                                      now=now),
        "addresses": [{"type": "InternalIP", "address": identity.node_ip},
                      {"type": "Hostname", "address": identity.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": identity.agent_port}},
        "nodeInfo": {
            "machineID": facts.machine_id, "systemUUID": facts.machine_id, "bootID": facts.boot_id,
            "kernelVersion": facts.kernel, "osImage": facts.os_image, "containerRuntimeVersion": runtime_version,
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux",
            "architecture": facts.architecture,
        },
        "images": images,
    }


def new_node(identity: NodeIdentity, facts: HostFacts, annotations: Mapping[str, str] | None = None) -> JsonObject:
    spec: JsonObject = {}
    if identity.pod_cidr:
        spec = {"podCIDR": identity.pod_cidr, "podCIDRs": [identity.pod_cidr]}
    labels = {"kubernetes.io/hostname": identity.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": facts.architecture, "beta.kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": facts.architecture, **identity.labels}
    metadata: JsonObject = {"name": identity.name, "labels": labels}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata, "spec": spec}


class Heartbeat:
    """Registers the Node, then renews its Lease and posts its status, each on its own period."""

    def __init__(self, client: ApiClient, identity: NodeIdentity, facts: HostFacts, *, lease_seconds: int = 40,
                 lease_renew_interval: float = 10.0, status_interval: float = 10.0,
                 probe_runtime: RuntimeProbe | None = None, annotations: Mapping[str, str] | None = None) -> None:
        self.client, self.identity, self.facts = client, identity, facts
        self.annotations = dict(annotations or {})  # what the agent publishes (its local-path directory)
        self.lease_seconds, self.lease_renew_interval, self.status_interval = (
            lease_seconds, lease_renew_interval, status_interval)
        self.probe_runtime = probe_runtime
        self.node: JsonObject | None = None

    async def register(self) -> JsonObject:
        try:
            self.node = await self.client.create(NODES, new_node(self.identity, self.facts, self.annotations))
        except AlreadyExists:
            self.node = await self.client.get(NODES, self.identity.name)
            patch: JsonObject = {}
            if self.identity.pod_cidr and not spec_of(self.node).get("podCIDR"):
                patch["spec"] = {"podCIDR": self.identity.pod_cidr, "podCIDRs": [self.identity.pod_cidr]}
            current = (self.node.get("metadata") or {}).get("annotations") or {}
            if any(current.get(key) != value for key, value in self.annotations.items()):
                patch["metadata"] = {"annotations": self.annotations}
            if patch:
                self.node = await self.client.patch(NODES, self.identity.name, patch)
            wanted = labels_of(new_node(self.identity, self.facts))
            updates = default_label_updates(wanted, labels_of(self.node))
            if updates:  # the well-known labels follow the agent's flags, as the kubelet's do
                self.node = await self.client.patch(NODES, self.identity.name, {"metadata": {"labels": updates}})
        await self.post_status()
        return self.node

    async def post_status(self) -> None:
        version, error, images = await self.probe_runtime() if self.probe_runtime else ("unknown", None, [])
        for _ in range(3):
            current = await self.client.get(NODES, self.identity.name)
            current["status"] = node_status(self.identity, self.facts, runtime_version=version,
                                            runtime_error=error, images=images,
                                            previous=status_of(current), now=now_time())
            try:
                self.node = await self.client.update_status(NODES, current)
                return
            except Conflict:
                continue

    async def renew_lease(self) -> None:
        name = self.identity.name
        spec = {"holderIdentity": name, "leaseDurationSeconds": self.lease_seconds, "renewTime": format_micro_time(datetime.now(UTC))}
        try:
            await self.client.patch(LEASES, name, {"spec": spec}, namespace="kube-node-lease")
        except NotFound:
            node_uid = uid_of(self.node or {})
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": "kube-node-lease", "ownerReferences": [
                         {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}]},
                     "spec": {**spec, "acquireTime": spec["renewTime"]}}
            with contextlib.suppress(AlreadyExists):  # created meanwhile: the next renewal patches it
                await self.client.create(LEASES, lease, namespace="kube-node-lease")

    async def run(self) -> None:
        """Forever: lease and status on their periods; errors logged and retried (never fatal)."""
        loop = asyncio.get_running_loop()
        next_lease = next_status = loop.time()
        while True:
            now = loop.time()
            try:
                if now >= next_lease:
                    await self.renew_lease()
                    next_lease = now + self.lease_renew_interval
                if now >= next_status:
                    await self.post_status()
                    next_status = now + self.status_interval
            except ApiError as error:
                log.warning("heartbeat of node %s failed: %s", self.identity.name, error)
                next_lease = min(next_lease, now + 1.0)
                next_status = max(next_status, now + 1.0)
            await asyncio.sleep(max(0.05, min(next_lease, next_status) - loop.time()))
