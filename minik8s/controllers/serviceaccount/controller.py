"""The ServiceAccount controller: a `default` ServiceAccount in every active namespace.

Pods name the ServiceAccount they run as, and the apiserver names `default` when a pod names
none, so every namespace needs one. As Kubernetes' ServiceAccountsController does, a namespace
added or updated, and a ServiceAccount deleted, queue the namespace; reconciling it creates
whichever ensured account (`default`) the ServiceAccount cache lacks — only while the
namespace is Active, so that a namespace being emptied by the namespace controller is not
refilled. A create that finds the account already there, or the namespace gone or
terminating, has nothing left to do.
"""

from __future__ import annotations

import logging

from minik8s.api.kinds import NAMESPACES, SERVICE_ACCOUNTS
from minik8s.api.meta import JsonObject, name_of, namespace_of
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, Forbidden, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.serviceaccount.plan import (
    ENSURED_SERVICE_ACCOUNTS,
    missing_service_accounts,
    new_service_account,
)

log = logging.getLogger(__name__)
TERMINATING_MESSAGE = "because it is being terminated"


class ServiceAccountController:
    name = "serviceaccount"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.namespaces = context.informers.informer(NAMESPACES)
        self.service_accounts = context.informers.informer(SERVICE_ACCOUNTS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.namespaces, self.service_accounts],
                                     workers=context.options.workers)
        self.namespaces.add_handler(on_add=self.controller.enqueue, on_update=self.controller.enqueue_update)
        self.service_accounts.add_handler(on_delete=self._service_account_deleted)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def _service_account_deleted(self, service_account: JsonObject) -> None:
        namespace = namespace_of(service_account)
        if namespace and name_of(service_account) in ENSURED_SERVICE_ACCOUNTS:
            self.controller.queue.add(namespace)

    async def reconcile(self, namespace: str) -> None:
        existing = [name for name in ENSURED_SERVICE_ACCOUNTS
                    if self.service_accounts.get(f"{namespace}/{name}") is not None]
        for name in missing_service_accounts(self.namespaces.get(namespace), existing):
            try:
                await self.client.create(SERVICE_ACCOUNTS, new_service_account(namespace, name),
                                         namespace=namespace)
            except (AlreadyExists, NotFound):
                continue  # made meanwhile, or the namespace went away
            except Forbidden as exc:
                if TERMINATING_MESSAGE not in str(exc):
                    raise
                continue  # the namespace began terminating: nothing may be created in it now
            log.info("serviceaccount: created %s/%s", namespace, name)
