"""The root CA publisher controller: `kube-root-ca.crt` in every namespace, put back when edited or deleted.

As Kubernetes' Publisher does, a namespace added (or updated while Active) and its `kube-root-ca.crt`
updated or deleted queue the namespace; reconciling it compares the cached ConfigMap with the CA of
`--root-ca-file` (plan.py) and creates or updates it. Its ConfigMap informer watches only ConfigMaps
of that name (a field selector), not every ConfigMap of the cluster. A create that finds the
ConfigMap made meanwhile, or the namespace gone or terminating, has nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from minik8s.api.kinds import CONFIG_MAPS, NAMESPACES
from minik8s.api.meta import JsonObject, name_of, namespace_of
from minik8s.api.service_account_admission import ROOT_CA_CONFIG_MAP
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, Forbidden, NotFound
from minik8s.client.informer import Informer
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.root_ca_publisher.plan import plan
from minik8s.controllers.serviceaccount.controller import TERMINATING_MESSAGE
from minik8s.controllers.serviceaccount.plan import is_active

log = logging.getLogger(__name__)


class RootCaPublisher:
    name = "root-ca-cert-publisher"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.root_ca = context.options.root_ca
        self.namespaces = context.informers.informer(NAMESPACES)
        self.config_maps = Informer(context.client, CONFIG_MAPS, field_selector=f"metadata.name={ROOT_CA_CONFIG_MAP}")
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.namespaces, self.config_maps], workers=context.options.workers)
        self.namespaces.add_handler(on_add=self.controller.enqueue, on_update=self._namespace_updated)
        self.config_maps.add_handler(on_update=lambda _, new: self._config_map_changed(new),
                                     on_delete=self._config_map_changed)

    async def run(self) -> None:
        """The ConfigMap informer is this controller's own; the namespace informer is shared."""
        if not self.root_ca:
            log.warning("%s: no root CA (--root-ca-file): nothing to publish", self.name)
            return
        config_maps = asyncio.create_task(self.config_maps.run(), name=f"{self.name}-configmaps")
        try:
            await self.controller.run(start_informers=False)
        finally:
            config_maps.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await config_maps

    def _namespace_updated(self, _: JsonObject, namespace: JsonObject) -> None:
        if is_active(namespace):
            self.controller.queue.add(name_of(namespace))

    def _config_map_changed(self, config_map: JsonObject) -> None:
        if name_of(config_map) == ROOT_CA_CONFIG_MAP and namespace_of(config_map):
            self.controller.queue.add(namespace_of(config_map))

    async def reconcile(self, namespace: str) -> None:
        publish = plan(namespace, self.namespaces.get(namespace),
                       self.config_maps.get(f"{namespace}/{ROOT_CA_CONFIG_MAP}"), self.root_ca)
        if publish is None:
            return
        if publish.action == "update":
            with contextlib.suppress(NotFound):  # deleted meanwhile: its delete event queues the namespace again
                await self.client.update(CONFIG_MAPS, publish.config_map)
            log.info("root-ca-cert-publisher: restored %s/%s", namespace, ROOT_CA_CONFIG_MAP)
            return
        try:
            await self.client.create(CONFIG_MAPS, publish.config_map, namespace=namespace)
        except (AlreadyExists, NotFound):
            return  # made meanwhile (its event brings it to the cache), or the namespace went away
        except Forbidden as error:
            if TERMINATING_MESSAGE not in str(error):
                raise
            return
        log.info("root-ca-cert-publisher: published %s/%s", namespace, ROOT_CA_CONFIG_MAP)
