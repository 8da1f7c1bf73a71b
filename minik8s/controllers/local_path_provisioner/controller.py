"""The built-in provisioner `minik8s.io/local-path`, as an external provisioner in the controller-manager.

A claim the binder handed to it (annotated), or whose node the scheduler chose, is queued; its sync
makes the volume `plan.provision` describes (`Provisioning`, then `ProvisioningSucceeded` or
`ProvisioningFailed` Events on the claim, from `minik8s.io/local-path`) unless `pvc-<uid>` exists
already. The directory itself is the node's business: its agent creates it when a pod first mounts
the volume and removes it when the volume is released under `Delete`. A node that has not published
its volumes directory yet is retried with back-off; a chosen node that is gone sends the claim back
to the scheduler.
"""

from __future__ import annotations

import logging

from minik8s.api.kinds import NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES
from minik8s.api.meta import JsonObject, name_of, namespace_of
from minik8s.api.persistent_volumes import (
    ANN_SELECTED_NODE,
    LOCAL_PATH_PROVISIONER,
    claim_class,
    selected_node,
)
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, NotFound
from minik8s.client.events import EventRecorder
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.local_path_provisioner.plan import (
    Provisioned,
    Refused,
    provision,
    should_provision,
    volume_name,
)

log = logging.getLogger(__name__)


class NodeNotReady(Exception):
    """The chosen node cannot take the volume yet (its agent has not published its directory): retry."""


class LocalPathProvisioner:
    name = "local-path-provisioner"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.events = EventRecorder(context.client, component=LOCAL_PATH_PROVISIONER)
        self.claims = context.informers.informer(PERSISTENT_VOLUME_CLAIMS)
        self.volumes = context.informers.informer(PERSISTENT_VOLUMES)
        self.classes = context.informers.informer(STORAGE_CLASSES)
        self.nodes = context.informers.informer(NODES)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.claims, self.volumes, self.classes, self.nodes],
                                     workers=context.options.workers)
        self.claims.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    async def reconcile(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        storage_class = self.classes.get(claim_class(claim))
        if not should_provision(claim, storage_class) or self.volumes.get(volume_name(claim)) is not None:
            return
        assert storage_class is not None
        node = self.nodes.get(selected_node(claim) or "")
        await self.events.record(claim, "Normal", "Provisioning", "External provisioner is provisioning volume for "
                                                                  f'claim "{namespace_of(claim)}/{name_of(claim)}"')
        outcome = provision(claim, storage_class, node)
        if isinstance(outcome, Refused):
            await self._refused(claim, storage_class, outcome)
            return
        await self._create(claim, outcome)

    async def _refused(self, claim: JsonObject, storage_class: JsonObject, refused: Refused) -> None:
        message = f'failed to provision volume with StorageClass "{name_of(storage_class)}": {refused.message}'
        await self.events.record(claim, "Warning", "ProvisioningFailed", message)
        if refused.reschedule:
            patch = {"metadata": {"annotations": {ANN_SELECTED_NODE: None}}}
            try:
                await self.client.patch(PERSISTENT_VOLUME_CLAIMS, name_of(claim), patch,
                                        namespace=namespace_of(claim), patch_type="merge")
            except NotFound:
                return
        elif refused.retry:
            raise NodeNotReady(refused.message)

    async def _create(self, claim: JsonObject, provisioned: Provisioned) -> None:
        name = name_of(provisioned.volume)
        try:
            await self.client.create(PERSISTENT_VOLUMES, provisioned.volume)
        except AlreadyExists:
            return
        log.info("%s: provisioned %s for claim %s/%s", self.name, name, namespace_of(claim), name_of(claim))
        await self.events.record(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}")
