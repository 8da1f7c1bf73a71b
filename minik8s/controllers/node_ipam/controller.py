"""Node IPAM: every Node gets its own pod CIDR (a /24 of 10.244.0.0/16 by default).

Pods of a node live on a bridge whose subnet is the node's `spec.podCIDR` (see "Networking" in
docs/architecture.md), so two nodes must never share one. Like Kubernetes' range allocator, this controller hands each Node
without a podCIDR the next free block of the cluster CIDR, trying blocks round-robin from the
last one given (a just-released block is not reused at once), and writes `spec.podCIDR` and
`spec.podCIDRs` with a patch guarded by the cached resourceVersion.

Which blocks are free is the business of `allocator`.
"""

from __future__ import annotations

import logging

from minik8s.api.kinds import NODES
from minik8s.api.meta import JsonObject, metadata_of
from minik8s.client.controller import Controller
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.node_ipam.allocator import CidrRange, PodCidrAllocator, pod_cidrs_of

logger = logging.getLogger(__name__)


class NodeIpamController:
    name = "nodeipam"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events = context.client, context.events
        self.nodes = context.informers.informer(NODES)
        self.allocator = PodCidrAllocator(CidrRange(context.options.cluster_cidr, context.options.node_cidr_mask_size))
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.nodes],
                                     workers=context.options.workers)
        self.nodes.add_handler(on_add=self.controller.enqueue, on_update=self._on_update, on_delete=self._on_delete)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _on_update(self, old: JsonObject, new: JsonObject) -> None:
        if pod_cidrs_of(old) != pod_cidrs_of(new):  # (status heartbeats change nothing here)
            self.controller.enqueue(new)

    def _on_delete(self, node: JsonObject) -> None:
        """A block came free: the node itself, and any node still waiting for one, need a look."""
        self.controller.enqueue(node)
        for waiting in self.nodes.list():
            if not pod_cidrs_of(waiting):
                self.controller.enqueue(waiting)

    async def reconcile(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            self.allocator.release(key)
            return
        if pod_cidrs_of(node):
            self.allocator.release(key)  # its CIDR is in the cache now (ours, or the agent's own)
            return
        cidr = self.allocator.allocate(key, self.nodes.list())
        if cidr is None:
            logger.warning("nodeipam: no pod CIDR left in %s for node %s", self.allocator.range.network, key)
            await self.events.record(node, "Normal", "CIDRNotAvailable", f"Node {key} status is now: CIDRNotAvailable")
            return
        patch = {"metadata": {"resourceVersion": metadata_of(node).get("resourceVersion")}, "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
        try:
            await self.client.patch(NODES, key, patch)
        except NotFound:
            self.allocator.release(key)
            return
        except ApiError as error:
            self.allocator.release(key)  # a Conflict is retried at once by the worker, with the fresh node
            if error.code != 409:
                await self.events.record(node, "Warning", "CIDRAssignmentFailed",
                                         f"Node {key}: failed to assign pod CIDR {cidr}: {error}")
            raise
        logger.info("nodeipam: node %s gets pod CIDR %s", key, cidr)
