"""The node lifecycle controller: notices dead nodes, taints them, and moves their pods away.

A node agent proves it is alive by renewing its Lease in kube-node-lease (and posting its
status). When neither has moved for `node_monitor_grace_period`, nobody knows what runs
there any more: as Kubernetes' nodelifecycle controller does, every condition turns Unknown
("Kubelet stopped posting node status."), the node gets the `node.kubernetes.io/unreachable`
NoExecute taint (`not-ready` when the agent itself reports Ready=False) and its pods are
marked not ready so Services stop sending them traffic. The taint manager half
(`node_lifecycle.taint_eviction`) then deletes the pods that do not tolerate the taint, at once or when
their `tolerationSeconds` run out, so their controllers recreate them elsewhere. Recovery
removes the taints; cordoning (`spec.unschedulable`) is mirrored as the
`node.kubernetes.io/unschedulable:NoSchedule` taint; pods bound to a Node that no longer
exists are removed for good (PodGC's orphan cleanup).

Heartbeats are judged by when *this* controller saw them change (its own monotonic clock),
never by comparing the agent's timestamps to ours, so skewed clocks cannot kill a node.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from minik8s.api.kinds import LEASES, NODES, PODS
from minik8s.api.meta import (
    JsonObject,
    format_time,
    key_of,
    name_of,
    namespace_of,
    spec_of,
    status_of,
    uid_of,
)
from minik8s.client.controller import Controller
from minik8s.client.errors import Conflict, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.pods import node_name_of
from minik8s.controllers.node_lifecycle.health import (
    HeartbeatProbe,
    heartbeat_signature,
    needs_attention,
    observe_heartbeat,
    plan_node,
    pod_not_ready_status,
    ready_status,
)
from minik8s.controllers.node_lifecycle.taint_eviction import no_execute_taints, plan_eviction

log = logging.getLogger(__name__)

NODE_LEASE_NAMESPACE = "kube-node-lease"


class PodsByNode:
    """Which pod keys are bound to which node: an index the pod handlers keep current."""

    def __init__(self) -> None:
        self._pods: dict[str, set[str]] = {}
        self._node_of: dict[str, str] = {}

    def update(self, pod: Mapping[str, Any]) -> str:
        """Index the pod; returns its node name ("" when unbound)."""
        key = key_of(pod)
        node_name = node_name_of(pod)
        if self._node_of.get(key, "") != node_name:
            self.remove(pod)
            if node_name:
                self._node_of[key] = node_name
                self._pods.setdefault(node_name, set()).add(key)
        return node_name

    def remove(self, pod: Mapping[str, Any]) -> None:
        key = key_of(pod)
        node_name = self._node_of.pop(key, None)
        if node_name is not None:
            keys = self._pods.get(node_name, set())
            keys.discard(key)
            if not keys:
                self._pods.pop(node_name, None)

    def pods_on(self, node_name: str) -> list[str]:
        return sorted(self._pods.get(node_name, ()))

    def node_names(self) -> list[str]:
        return list(self._pods)


# -- the controller ----------------------------------------------------------------------------


class NodeLifecycleController:
    name = "nodelifecycle"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events, self.options = context.client, context.events, context.options
        self.nodes = context.informers.informer(NODES)
        self.leases = context.informers.informer(LEASES)
        self.pods = context.informers.informer(PODS)
        informers = [self.nodes, self.leases, self.pods]
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=informers,
                                     workers=context.options.workers)
        self.pod_controller = Controller(name=f"{self.name}-pods", reconcile=self.reconcile_pod,
                                         informers=informers, workers=context.options.workers)
        self.pods_by_node = PodsByNode()
        self._probes: dict[str, HeartbeatProbe] = {}
        self._scheduled_evictions: set[str] = set()
        # NoExecute taints someone added without timeAdded: when we first saw them, to count from.
        self._taints_first_seen: dict[tuple[str, str, str], datetime] = {}
        # Node names confirmed absent, and since when (our clock): their pods wait out a quarantine.
        self._node_missing_since: dict[str, float] = {}
        self.nodes.add_handler(on_add=self.controller.enqueue, on_update=self._node_updated,
                               on_delete=self._node_deleted)
        self.leases.add_handler(on_add=self._lease_changed, on_update=lambda _, new: self._lease_changed(new))
        self.pods.add_handler(on_add=self._pod_changed, on_update=lambda _, new: self._pod_changed(new),
                              on_delete=self._pod_deleted)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.controller.run(start_informers=False))
            tasks.create_task(self.pod_controller.run(start_informers=False))
            tasks.create_task(self._monitor())

    # -- event handlers: keys only --------------------------------------------------------------

    def _node_updated(self, old: JsonObject, new: JsonObject) -> None:
        self.controller.enqueue(new)
        if spec_of(old).get("taints") != spec_of(new).get("taints") or ready_status(old) != ready_status(new):
            self._enqueue_pods_on(name_of(new))

    def _node_deleted(self, node: JsonObject) -> None:
        name = name_of(node)
        self._probes.pop(name, None)
        for seen in [seen for seen in self._taints_first_seen if seen[0] == name]:
            del self._taints_first_seen[seen]
        self._enqueue_pods_on(name)

    def _lease_changed(self, lease: JsonObject) -> None:
        if namespace_of(lease) == NODE_LEASE_NAMESPACE and name_of(lease):
            self.controller.queue.add(name_of(lease))

    def _pod_changed(self, pod: JsonObject) -> None:
        node_name = self.pods_by_node.update(pod)
        if node_name and needs_attention(self.nodes.get(node_name)):
            self.pod_controller.enqueue(pod)

    def _pod_deleted(self, pod: JsonObject) -> None:
        self.pods_by_node.remove(pod)
        self._scheduled_evictions.discard(key_of(pod))

    def _enqueue_pods_on(self, node_name: str) -> None:
        for key in self.pods_by_node.pods_on(node_name):
            self.pod_controller.queue.add(key)

    async def _monitor(self) -> None:
        """Every node_monitor_period: look at every node, and at the pods of troubled or vanished nodes."""
        for informer in (self.nodes, self.leases, self.pods):
            await informer.wait_synced()
        while True:
            node_names = self.nodes.keys()
            for name in node_names:
                self.controller.queue.add(name)
            bound_to = self.pods_by_node.node_names()
            for node_name in bound_to:
                if needs_attention(self.nodes.get(node_name)):
                    self._enqueue_pods_on(node_name)
            for node_name in set(self._node_missing_since) - set(bound_to):
                del self._node_missing_since[node_name]  # no pods left to quarantine
            await asyncio.sleep(self.options.node_monitor_period)

    # -- reconciling ----------------------------------------------------------------------------

    async def reconcile(self, name: str) -> None:
        """One node: judge its heartbeat, write Unknown conditions if stale, keep its taints right."""
        node = self.nodes.get(name)
        if node is None:
            return
        self._node_missing_since.pop(name, None)
        lease = self.leases.get(f"{NODE_LEASE_NAMESPACE}/{name}")
        clock = time.monotonic()
        probe = observe_heartbeat(self._probes.get(name), heartbeat_signature(node, lease), now=clock)
        self._probes[name] = probe
        stale = clock - probe.observed_at > self.options.node_monitor_grace_period
        plan = plan_node(node, stale=stale, now=datetime.now(UTC))
        try:
            if plan.conditions is not None:
                node = await self._write_conditions(node, plan.conditions)
                if plan.report_not_ready:
                    await self.events.record(node, "Normal", "NodeNotReady",
                                             f"Node {name} status is now: NodeNotReady")
                self._enqueue_pods_on(name)
            if plan.taints is not None:
                await self._write_taints(node, plan.taints)
        except NotFound:
            return

    async def _write_conditions(self, node: JsonObject, conditions: list[JsonObject]) -> JsonObject:
        updated = copy.deepcopy(node)
        updated["status"] = {**status_of(updated), "conditions": conditions}
        written = await self.client.update_status(NODES, updated)
        log.info("node %s: no heartbeat for %.0fs: conditions Unknown", name_of(node),
                 self.options.node_monitor_grace_period)
        return written

    async def _write_taints(self, node: JsonObject, taints: list[JsonObject]) -> None:
        updated = copy.deepcopy(node)
        spec = updated["spec"] = dict(spec_of(updated))
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        await self.client.update(NODES, updated)
        log.info("node %s: taints now %s", name_of(node),
                 [f"{t.get('key')}:{t.get('effect')}" for t in taints])

    async def reconcile_pod(self, key: str) -> None:
        """One pod: evict it from a NoExecute-tainted node, mark it not ready, or remove it as an orphan."""
        pod = self.pods.get(key)
        if pod is None:
            self._scheduled_evictions.discard(key)
            return
        node_name = node_name_of(pod)
        if not node_name:
            return
        node = self.nodes.get(node_name)
        try:
            if node is None:
                await self._remove_orphan(pod, key, node_name)
                return
            now = datetime.now(UTC)
            decision = plan_eviction(pod, self._dated_taints(node_name, node, now=now), now=now)
            if decision.evict:
                await self._evict(pod, key)
                return
            if ready_status(node) == "Unknown":
                await self._mark_not_ready(pod, now=now)
            if decision.recheck_after is not None:
                self._scheduled_evictions.add(key)
                self.pod_controller.queue.add_after(key, decision.recheck_after)
            elif key in self._scheduled_evictions:
                self._scheduled_evictions.discard(key)
                await self.events.record(pod, "Normal", "TaintManagerEviction", f"Cancelling deletion of Pod {key}")
        except NotFound:
            return

    def _dated_taints(self, node_name: str, node: JsonObject, *, now: datetime) -> list[JsonObject]:
        """The node's NoExecute taints, each with a timeAdded (when we first saw it, if it has none)."""
        dated = []
        for taint in no_execute_taints(node):
            if not taint.get("timeAdded"):
                seen = (node_name, str(taint.get("key")), str(taint.get("value") or ""))
                taint = {**taint, "timeAdded": format_time(self._taints_first_seen.setdefault(seen, now))}
            dated.append(taint)
        return dated

    async def _evict(self, pod: JsonObject, key: str) -> None:
        self._scheduled_evictions.discard(key)
        await self.events.record(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
        log.info("evicting pod %s from node %s", key, node_name_of(pod))
        try:
            await self.client.delete(PODS, name_of(pod), namespace=namespace_of(pod) or None,
                                     preconditions_uid=uid_of(pod) or None)
        except Conflict:
            return  # a different pod of that name now: it gets its own look

    async def _mark_not_ready(self, pod: JsonObject, *, now: datetime) -> None:
        status = pod_not_ready_status(pod, now=now)
        if status is None:
            return
        updated = {**copy.deepcopy(pod), "status": status}
        await self.client.update_status(PODS, updated)
        await self.events.record(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def _remove_orphan(self, pod: JsonObject, key: str, node_name: str) -> None:
        """The pod's node is not in the cache: once confirmed gone for a grace period, force-delete the pod.

        The quarantine (PodGC's) spares pods bound to a node that is merely late to register.
        """
        try:
            await self.client.get(NODES, node_name)
            return  # the cache is behind; the node's events will bring us back
        except NotFound:
            pass
        clock = time.monotonic()
        remaining = self.options.node_monitor_grace_period - (
            clock - self._node_missing_since.setdefault(node_name, clock))
        if remaining > 0:
            self.pod_controller.queue.add_after(key, remaining)
            return
        log.info("pod %s: node %s is gone: deleting the pod", key_of(pod), node_name)
        try:
            await self.client.delete(PODS, name_of(pod), namespace=namespace_of(pod) or None,
                                     grace_period_seconds=0, preconditions_uid=uid_of(pod) or None)
        except Conflict:
            return
