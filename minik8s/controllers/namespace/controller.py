"""The namespace controller: deleting a namespace deletes everything in it, then the namespace.

DELETE of a Namespace only marks it Terminating: the `kubernetes` entry in its
`spec.finalizers` keeps it in the store. As Kubernetes' namespace controller does, this
controller deletes every namespaced object of every served kind in it (pods gracefully, so
their agents stop them), waits until nothing is left — live LISTs, never a cache that might
not yet show an object created a moment before — reports progress in the namespace's status
conditions (NamespaceContentRemaining, NamespaceFinalizersRemaining, …), and finally PUTs
the namespace to `/finalize` without `kubernetes`, upon which the apiserver removes it.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime

from minik8s.api.kinds import NAMESPACES
from minik8s.api.meta import JsonObject, name_of, namespace_of, status_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.controller import Controller
from minik8s.client.errors import Conflict, NotFound, error_from_response
from minik8s.client.paths import object_path
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.namespace.plan import Deletion, finalized, is_terminating, plan_namespace_deletion

log = logging.getLogger(__name__)

NAMESPACED_KINDS: tuple[ResourceKind, ...] = tuple(kind for kind in REGISTRY.kinds if kind.namespaced)
RECHECK_SECONDS = 5.0  # events bring us back sooner; this is the safety net
RECHECK_AFTER_DELETING_SECONDS = 0.5


class NamespaceController:
    name = "namespace"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.namespaces = context.informers.informer(NAMESPACES)
        content_informers = [context.informers.informer(kind) for kind in NAMESPACED_KINDS]
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.namespaces, *content_informers],
                                     workers=context.options.workers)
        self.namespaces.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)
        for informer in content_informers:
            informer.add_handler(on_delete=self._content_deleted)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _content_deleted(self, obj: JsonObject) -> None:
        """Something left a namespace: if that namespace is terminating, it may now be empty."""
        namespace_name = namespace_of(obj)
        namespace = self.namespaces.get(namespace_name) if namespace_name else None
        if namespace is not None and is_terminating(namespace):
            self.controller.queue.add(namespace_name)

    async def reconcile(self, name: str) -> None:
        namespace = self.namespaces.get(name)
        if namespace is None or not is_terminating(namespace):
            return
        contents = {kind: (await self.client.list(kind, namespace=name)).get("items") or []
                    for kind in NAMESPACED_KINDS}
        plan = plan_namespace_deletion(namespace, contents, now=datetime.now(UTC))
        try:
            for deletion in plan.deletions:
                await self._delete(name, deletion)
            if plan.deletions:  # report what remains once these deletions have landed (next pass)
                self.controller.queue.add_after(name, RECHECK_AFTER_DELETING_SECONDS)
                return
            namespace = await self._write_conditions(namespace, plan.conditions)
            if plan.finalize:
                await self._finalize(namespace)
                return
        except NotFound:
            return
        self.controller.queue.add_after(name, RECHECK_SECONDS)

    async def _write_conditions(self, namespace: JsonObject, conditions: list[JsonObject]) -> JsonObject:
        if status_of(namespace).get("conditions") == conditions:
            return namespace
        updated = copy.deepcopy(namespace)
        updated.setdefault("status", {})["conditions"] = conditions
        return await self.client.update_status(NAMESPACES, updated)

    async def _delete(self, namespace: str, deletion: Deletion) -> None:
        try:
            await self.client.delete(deletion.kind, deletion.name, namespace=namespace,
                                     propagation_policy="Background", preconditions_uid=deletion.uid or None)
        except (NotFound, Conflict):
            return  # gone already, or replaced by a new object that the next pass will see

    async def _finalize(self, namespace: JsonObject) -> None:
        name = name_of(namespace)
        log.info("namespace %s is empty: finalizing", name)
        response = await self.client.request("PUT", object_path(NAMESPACES, name, subresource="finalize"),
                                             json=finalized(namespace))
        if not response.is_success:
            raise error_from_response(response.status_code, response.content)
