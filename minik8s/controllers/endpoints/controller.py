"""The Endpoints controller: every Service with a selector gets an Endpoints object of its pods.

The proxy and DNS read Endpoints, not pods; this controller keeps them in step. It watches
Services, pods and Endpoints through the shared informers; a pod event names the Services of
its namespace whose selector matches its old or new labels; `reconcile(service key)` asks
`plan.plan_endpoints` what the object should be and writes it only when it differs,
guarded by the cached resourceVersion. Services without a selector (and ExternalName ones) are
left alone — their Endpoints are the user's. An Endpoints object whose Service is gone is deleted,
as Kubernetes does for deleted Services and, once at start-up, for leftovers.

A port name that no container of a selected pod defines yields no endpoint for that port, and a
Warning Event on the Service says which pods and why — once per distinct problem, not on every
sync.
"""

from __future__ import annotations

import logging

from minik8s.api import meta
from minik8s.api.kinds import ENDPOINTS, PODS, SERVICES
from minik8s.api.meta import JsonObject
from minik8s.api.selectors import LabelSelector, label_selector_from_set
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, Forbidden, NotFound
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.endpoints.plan import plan_endpoints
from minik8s.controllers.endpoints.trigger_time import TriggerState, compute_trigger_time

logger = logging.getLogger(__name__)


LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"  # leader-election Endpoints: never ours
UNRESOLVED_PORT_REASON = "FailedToResolveTargetPort"


class EndpointsController:
    name = "endpoints"

    def __init__(self, context: ControllerContext) -> None:
        self.client, self.events = context.client, context.events
        self.services = context.informers.informer(SERVICES)
        self.pods = context.informers.informer(PODS)
        self.endpoints = context.informers.informer(ENDPOINTS)
        self.trigger_states: dict[str, TriggerState] = {}
        self.reported: dict[str, set[str]] = {}  # service key -> unresolved-port messages already recorded
        self.selectors: dict[str, tuple[str, LabelSelector | None]] = {}  # key -> (resourceVersion, selector)
        self.controller = Controller(name=self.name, reconcile=self.reconcile,
                                     informers=[self.services, self.pods, self.endpoints],
                                     workers=context.options.workers)
        self.controller.enqueue_events_of(self.services)
        self.pods.add_handler(on_add=self._on_pod, on_update=self._on_pod_update, on_delete=self._on_pod)
        self.endpoints.add_handler(on_delete=self.controller.enqueue)

    async def run(self) -> None:
        await self.endpoints.wait_synced()
        await self.services.wait_synced()
        self._enqueue_leftovers()
        await self.controller.run(start_informers=False)

    def _enqueue_leftovers(self) -> None:
        """Kubernetes' checkLeftoverEndpoints: Endpoints whose Service vanished while we were away."""
        for endpoints in self.endpoints.list():
            key = meta.key_of(endpoints)
            if LEADER_ANNOTATION not in meta.annotations_of(endpoints) and self.services.get(key) is None:
                self.controller.queue.add(key)

    # -- events -> keys -------------------------------------------------------------------------

    def _selector_of(self, service: JsonObject) -> LabelSelector | None:
        """The Service's selector, compiled once per resourceVersion (None: selects nothing here)."""
        key = meta.key_of(service)
        resource_version = meta.resource_version_of(service)
        cached = self.selectors.get(key)
        if cached is not None and cached[0] == resource_version:
            return cached[1]
        spec = meta.spec_of(service)
        selector = spec.get("selector")
        compiled: LabelSelector | None = None
        if (isinstance(selector, dict) and all(isinstance(v, str) for v in selector.values())
                and spec.get("type") != "ExternalName"):
            compiled = label_selector_from_set(selector)
        self.selectors[key] = (resource_version, compiled)
        return compiled

    def _services_selecting(self, pod: JsonObject) -> set[str]:
        namespace = meta.namespace_of(pod) or "default"
        labels = meta.labels_of(pod)
        keys = set()
        for service in self.services.list():
            if (meta.namespace_of(service) or "default") != namespace:
                continue
            selector = self._selector_of(service)
            if selector is not None and selector.matches(labels):
                keys.add(meta.key_of(service))
        return keys

    def _on_pod(self, pod: JsonObject) -> None:
        for key in self._services_selecting(pod):
            self.controller.queue.add(key)

    def _on_pod_update(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        for key in self._services_selecting(old) | self._services_selecting(new):
            self.controller.queue.add(key)

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        service = self.services.get(key)
        if service is None:
            await self._delete_endpoints(key)
            return
        spec = meta.spec_of(service)
        selector = spec.get("selector")
        if spec.get("type") == "ExternalName" or selector is None:
            return  # not ours: user-managed Endpoints, or none at all
        if not isinstance(selector, dict) or not all(isinstance(v, str) for v in selector.values()):
            await self.events.record(service, "Warning", "InvalidSelector",
                                     "spec.selector must be a map of label names to values")
            return
        namespace = meta.namespace_of(service) or "default"
        chosen = self._selector_of(service) or LabelSelector()
        pods = [pod for pod in self.pods.list()
                if (meta.namespace_of(pod) or "default") == namespace and chosen.matches(meta.labels_of(pod))]
        trigger_time, self.trigger_states[key] = compute_trigger_time(self.trigger_states.get(key), service, pods)
        current = self.endpoints.get(key)
        plan = plan_endpoints(service, pods, current, trigger_time=trigger_time)
        await self._report_unresolved(key, service, [problem.message for problem in plan.unresolved])
        if plan.endpoints is None:
            return
        if plan.create:
            try:
                await self.client.create(ENDPOINTS, plan.endpoints, namespace=namespace)
            except AlreadyExists:
                logger.debug("endpoints %s: created meanwhile; looking again once the cache has it", key)
                self.controller.queue.add_rate_limited(key)
            except Forbidden as error:
                logger.info("endpoints %s: cannot create (namespace terminating?): %s", key, error)
        else:
            await self.client.update(ENDPOINTS, plan.endpoints)  # carries the cached resourceVersion

    async def _delete_endpoints(self, key: str) -> None:
        self.trigger_states.pop(key, None)
        self.reported.pop(key, None)
        self.selectors.pop(key, None)
        endpoints = self.endpoints.get(key)
        if endpoints is None:
            return
        if LEADER_ANNOTATION in meta.annotations_of(endpoints):
            return
        try:
            await self.client.delete(ENDPOINTS, meta.name_of(endpoints), namespace=meta.namespace_of(endpoints) or None,
                                     preconditions_uid=meta.uid_of(endpoints) or None)
        except NotFound:
            return

    async def _report_unresolved(self, key: str, service: JsonObject, messages: list[str]) -> None:
        """A Warning Event per new unresolved-port problem; forget the ones that went away."""
        already = self.reported.get(key, set())
        for message in messages:
            if message not in already:
                await self.events.record(service, "Warning", UNRESOLVED_PORT_REASON, message)
        if messages:
            self.reported[key] = set(messages)
        else:
            self.reported.pop(key, None)
