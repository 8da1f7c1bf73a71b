"""The selectors of Services and pod controllers, kept by informers, for the default topology spread.

A pod without `topologySpreadConstraints` is still spread, by kube-scheduler's system default
constraints, among the pods that the Services selecting it and its ReplicationController,
ReplicaSet or StatefulSet select (`spread_constraints.default_selector`). So the scheduler
watches those kinds, as kube-scheduler does, and keeps only their selectors, indexed by
namespace (Services) and by namespace and name (controllers), so that finding a pod's default
selector costs a look at its namespace's Services and one lookup, not a walk of every object.
A kind this server does not serve is simply not watched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from minik8s.api.kinds import REPLICA_SETS, SERVICES
from minik8s.api.meta import JsonObject, name_of, namespace_of, spec_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.api.selectors import LabelSelector, SelectorError, label_selector_from_object
from minik8s.client.informer import Informer, ListWatchClient
from minik8s.scheduler.pod_facts import PodFacts
from minik8s.scheduler.spread_constraints import OwnerSelector, default_selector

log = logging.getLogger(__name__)

REPLICATION_CONTROLLERS = REGISTRY.get("", "v1", "replicationcontrollers")
STATEFUL_SETS = REGISTRY.get("apps", "v1", "statefulsets")
EMPTY_SELECTOR = LabelSelector()


def owner_selector(kind: ResourceKind, obj: JsonObject) -> OwnerSelector | None:
    """What the default selector takes of a controller: an RC's selector map, an RS's/SS's label selector."""
    selector = spec_of(obj).get("selector")
    if kind.kind == "ReplicationController":
        plain = _string_map(selector)
        return None if plain is None else OwnerSelector(kind.kind, EMPTY_SELECTOR, plain)
    try:
        return OwnerSelector(kind.kind, label_selector_from_object(selector), {})
    except SelectorError as error:
        log.debug("%s %s/%s has a selector the scheduler cannot read: %s", kind.kind, namespace_of(obj),
                  name_of(obj), error)
        return None


def _string_map(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        return None
    return value


class WorkloadSelectors:
    """Informers on Services and pod controllers, and the default spread selector of a pod from them."""

    def __init__(self, client: ListWatchClient) -> None:
        self._services: dict[str, dict[str, Mapping[str, str]]] = {}  # namespace → name → spec.selector
        self._owners: dict[tuple[str, str, str, str], OwnerSelector] = {}  # (apiVersion, kind, ns, name)
        self.informers = [Informer(client, SERVICES)]
        self.informers[0].add_handler(on_add=self._set_service, on_update=lambda _, new: self._set_service(new),
                                      on_delete=self._remove_service)
        for kind in (REPLICATION_CONTROLLERS, REPLICA_SETS, STATEFUL_SETS):
            if kind is not None:
                self.informers.append(self._owner_informer(client, kind))

    def _owner_informer(self, client: ListWatchClient, kind: ResourceKind) -> Informer:
        informer = Informer(client, kind)

        def key(obj: JsonObject) -> tuple[str, str, str, str]:
            return kind.api_version, kind.kind, namespace_of(obj), name_of(obj)

        def put(obj: JsonObject) -> None:
            selector = owner_selector(kind, obj)
            if selector is None:
                self._owners.pop(key(obj), None)
            else:
                self._owners[key(obj)] = selector

        def remove(obj: JsonObject) -> None:
            self._owners.pop(key(obj), None)

        informer.add_handler(on_add=put, on_update=lambda _, new: put(new), on_delete=remove)
        return informer

    def _set_service(self, service: JsonObject) -> None:
        selector = _string_map(spec_of(service).get("selector"))
        by_name = self._services.setdefault(namespace_of(service), {})
        if selector:  # a Service without a selector selects no pod
            by_name[name_of(service)] = selector
        else:
            by_name.pop(name_of(service), None)

    def _remove_service(self, service: JsonObject) -> None:
        self._services.get(namespace_of(service), {}).pop(name_of(service), None)

    def selector_for(self, pod: PodFacts) -> LabelSelector | None:
        """The pods the system default constraints spread `pod` among; None when nothing selects it."""
        owner = None
        if pod.controller is not None:
            api_version, kind, name = pod.controller
            owner = self._owners.get((api_version, kind, pod.namespace, name))
        selector = default_selector(pod.labels, self._services.get(pod.namespace, {}).values(), owner)
        return None if selector.is_empty() else selector
