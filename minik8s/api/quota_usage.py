"""What an object costs against a ResourceQuota: Kubernetes' quota evaluators, as pure functions.

Both the admission plugin (charging a new object) and the quota controller (recounting a namespace)
ask the same questions of the same code, so their sums agree. An evaluator knows, for one resource,
which quota names it answers for (`MatchingResources`), what one object uses (`Usage`), which writes
change usage (`Handles`), and what an object must declare when a quota bounds it (`Constraints`).
As in pkg/quota/v1/evaluator/core: pods cost `pods`, `count/pods` and their requests and limits
(while not finished); services cost `services`, node ports and load balancers; claims cost
`persistentvolumeclaims` and their `requests.storage`, each also under their StorageClass; any other
resource costs `count/<resource>[.<group>]` (and its legacy name: `configmaps`, `secrets`, ...) when created.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.meta import parse_time, spec_of, status_of
from minik8s.api.persistent_volumes import claim_class, requested_storage
from minik8s.api.pod_resources import LIMITS, REQUESTS, container_resources, containers_of, pod_total
from minik8s.api.quota_names import (
    BEST_EFFORT,
    CPU,
    CROSS_NAMESPACE_POD_AFFINITY,
    DOES_NOT_EXIST,
    EPHEMERAL_STORAGE,
    EXISTS,
    HUGE_PAGES_PREFIX,
    IN,
    LEGACY_COUNT_ALIASES,
    MEMORY,
    NOT_BEST_EFFORT,
    NOT_IN,
    NOT_TERMINATING,
    PERSISTENT_VOLUME_CLAIMS,
    PODS,
    PRIORITY_CLASS,
    REQUESTS_PREFIX,
    SERVICES,
    SERVICES_LOAD_BALANCERS,
    SERVICES_NODE_PORTS,
    TERMINATING,
    is_huge_pages,
    is_native,
    object_count_name,
)
from minik8s.api.resource_lists import Quantity, ResourceList, add, mask, parse_list

CREATE, UPDATE = "CREATE", "UPDATE"
_ONE = Quantity.of(1)
REQUESTS_STORAGE = "requests.storage"
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"  # <class>.storageclass.storage.k8s.io/<resource>
_CLAIM_RESOURCES = (PERSISTENT_VOLUME_CLAIMS, REQUESTS_STORAGE)
_COMPUTE = (CPU, MEMORY, EPHEMERAL_STORAGE)
# "a mistake" Kubernetes keeps: a quota on these makes every container declare them.
_MUST_DECLARE = frozenset({CPU, MEMORY, "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})
IGNORED = frozenset({"events"})  # quota admission's default ignored resources


@dataclass(frozen=True)
class Scope:
    """One scope selector term: `spec.scopes` entries are (scope, Exists)."""

    name: str
    operator: str = EXISTS
    values: tuple[str, ...] = ()


def scopes_of(quota: Mapping[str, Any]) -> list[Scope]:
    """GetScopeSelectorsFromQuota: `spec.scopes` then `spec.scopeSelector.matchExpressions`."""
    spec = spec_of(quota)
    found = [Scope(str(name)) for name in spec.get("scopes") or [] if isinstance(name, str)]
    selector = spec.get("scopeSelector")
    expressions = selector.get("matchExpressions") if isinstance(selector, Mapping) else None
    for expression in expressions if isinstance(expressions, list) else []:
        if isinstance(expression, Mapping):
            values = expression.get("values")
            found.append(Scope(str(expression.get("scopeName", "")), str(expression.get("operator", "")),
                               tuple(str(v) for v in values) if isinstance(values, list) else ()))
    return found


def is_terminating(pod: Mapping[str, Any]) -> bool:
    deadline = spec_of(pod).get("activeDeadlineSeconds")
    return isinstance(deadline, int) and not isinstance(deadline, bool) and deadline >= 0


def is_best_effort(pod: Mapping[str, Any]) -> bool:
    """QoS BestEffort: no container asks for (or is limited to) any CPU or memory."""
    for container in [*containers_of(pod), *containers_of(pod, "initContainers")]:
        for part in (REQUESTS, LIMITS):
            declared = container_resources(container, part)
            if any(declared[name].value > 0 for name in (CPU, MEMORY) if name in declared):
                return False
    return True


def _cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    affinity = spec_of(pod).get("affinity")
    for kind in ("podAffinity", "podAntiAffinity"):
        rules = affinity.get(kind) if isinstance(affinity, Mapping) else None
        if not isinstance(rules, Mapping):
            continue
        terms = [*(rules.get("requiredDuringSchedulingIgnoredDuringExecution") or []),
                 *(t.get("podAffinityTerm") for t in rules.get("preferredDuringSchedulingIgnoredDuringExecution") or []
                   if isinstance(t, Mapping))]
        if any(isinstance(t, Mapping) and (t.get("namespaces") or t.get("namespaceSelector") is not None)
               for t in terms):
            return True
    return False


def _priority_class_matches(pod: Mapping[str, Any], scope: Scope) -> bool:
    name = spec_of(pod).get("priorityClassName")
    present = isinstance(name, str) and bool(name)
    if scope.operator == EXISTS:
        return present
    if scope.operator == DOES_NOT_EXIST:
        return not present
    if scope.operator == IN:
        return present and name in scope.values
    return scope.operator == NOT_IN and (not present or name not in scope.values)


def pod_matches_scope(pod: Mapping[str, Any], scope: Scope) -> bool:
    """podMatchesScopeFunc."""
    checks = {
        TERMINATING: lambda: is_terminating(pod), NOT_TERMINATING: lambda: not is_terminating(pod),
        BEST_EFFORT: lambda: is_best_effort(pod), NOT_BEST_EFFORT: lambda: not is_best_effort(pod),
        PRIORITY_CLASS: lambda: _priority_class_matches(pod, scope),
        CROSS_NAMESPACE_POD_AFFINITY: lambda: _cross_namespace_affinity(pod),
    }
    check = checks.get(scope.name)
    return check is not None and check()


def counts_against_quota(pod: Mapping[str, Any], now: datetime) -> bool:
    """QuotaV1Pod: a finished pod, or one whose deletion grace period has run out, costs no compute."""
    if status_of(pod).get("phase") in ("Succeeded", "Failed"):
        return False
    metadata = pod.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    deleted_at, grace = parse_time(metadata.get("deletionTimestamp")), metadata.get("deletionGracePeriodSeconds")
    return not (deleted_at is not None and isinstance(grace, int) and now > deleted_at + timedelta(seconds=grace))


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: `pods` plus each compute request and limit under its quota names."""
    usage: ResourceList = {PODS: _ONE}
    for name in _COMPUTE:
        if name in requests:
            usage[name] = usage[REQUESTS_PREFIX + name] = requests[name]
        if name in limits:
            usage["limits." + name] = limits[name]
    for name, quantity in requests.items():
        if name.startswith(HUGE_PAGES_PREFIX):
            usage[name] = usage[REQUESTS_PREFIX + name] = quantity
        elif not is_native(name):
            usage[REQUESTS_PREFIX + name] = quantity
    return usage


class Evaluator:
    """The object-count evaluator (generic.NewObjectCountEvaluator); pods and services refine it."""

    def __init__(self, plural: str, group: str = "") -> None:
        self.plural, self.group = plural, group
        self.count_name = object_count_name(plural, group)
        alias = LEGACY_COUNT_ALIASES.get(plural) if not group else None
        self.names: tuple[str, ...] = (self.count_name, alias) if alias else (self.count_name,)

    def matching(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name in self.names]

    def handles(self, operation: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
        return operation == CREATE

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        return {name: _ONE for name in self.names}

    def matches_scope(self, obj: Mapping[str, Any], scope: Scope) -> bool:
        return False  # MatchesNoScopeFunc: a scoped quota bounds pods only

    def constraints(self, required: Iterable[str], obj: Mapping[str, Any]) -> str | None:
        return None


class PodEvaluator(Evaluator):
    _RESOURCES = frozenset({"count/pods", CPU, MEMORY, EPHEMERAL_STORAGE, "requests.cpu", "requests.memory",
                            "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
                            PODS})

    def __init__(self) -> None:
        super().__init__(PODS)

    def matching(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name in self._RESOURCES or is_huge_pages(name)
                or (name.startswith(REQUESTS_PREFIX) and not is_native(name))]

    def handles(self, operation: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
        if operation == UPDATE:
            return old is not None and is_terminating(old) != is_terminating(obj)
        return operation == CREATE

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        usage: ResourceList = {self.count_name: _ONE}
        if not counts_against_quota(obj, now):
            return usage
        return add(usage, compute_usage(pod_total(obj, REQUESTS), pod_total(obj, LIMITS)))

    def matches_scope(self, obj: Mapping[str, Any], scope: Scope) -> bool:
        return pod_matches_scope(obj, scope)

    def constraints(self, required: Iterable[str], obj: Mapping[str, Any]) -> str | None:
        """Each container must declare every cpu/memory resource a matching quota bounds."""
        wanted = set(required) & _MUST_DECLARE
        missing: dict[str, set[str]] = {}
        for container in [*containers_of(obj), *containers_of(obj, "initContainers")]:
            declared = compute_usage(container_resources(container, REQUESTS), container_resources(container, LIMITS))
            for name in wanted - set(declared):
                missing.setdefault(name, set()).add(str(container.get("name", "")))
        if not missing:
            return None
        return "must specify " + "; ".join(f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing))


class ServiceEvaluator(Evaluator):
    def __init__(self) -> None:
        super().__init__(SERVICES)
        self.names = (self.count_name, SERVICES, SERVICES_NODE_PORTS, SERVICES_LOAD_BALANCERS)

    def handles(self, operation: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
        return operation in (CREATE, UPDATE)  # a Service's type may change

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        spec = spec_of(obj)
        ports = spec.get("ports")
        port_count = Quantity.of(len(ports) if isinstance(ports, list) else 0)
        service_type = spec.get("type")
        return {self.count_name: _ONE, SERVICES: _ONE,
                SERVICES_LOAD_BALANCERS: _ONE if service_type == "LoadBalancer" else Quantity.of(0),
                SERVICES_NODE_PORTS: port_count if service_type in ("NodePort", "LoadBalancer") else Quantity.of(0)}


class ClaimEvaluator(Evaluator):
    """PersistentVolumeClaims (pvcEvaluator): the claim and its storage request, also under its class
    (`<class>.storageclass.storage.k8s.io/requests.storage`); a request is counted in whole bytes."""

    def __init__(self) -> None:
        super().__init__(PERSISTENT_VOLUME_CLAIMS)
        self.names = (self.count_name, PERSISTENT_VOLUME_CLAIMS, REQUESTS_STORAGE)

    def matching(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name in self.names
                or any(name.endswith(STORAGE_CLASS_SUFFIX + resource) for resource in _CLAIM_RESOURCES)]

    def handles(self, operation: str, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
        return operation in (CREATE, UPDATE)  # a bound claim's request may change

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        usage: ResourceList = {self.count_name: _ONE, PERSISTENT_VOLUME_CLAIMS: _ONE}
        class_name = claim_class(obj)
        if class_name:
            usage[class_name + STORAGE_CLASS_SUFFIX + PERSISTENT_VOLUME_CLAIMS] = _ONE
        requested = requested_storage(obj)
        if requested is not None:
            whole = Quantity(requested.value.to_integral_value(rounding=decimal.ROUND_CEILING), requested.format)
            usage[REQUESTS_STORAGE] = whole
            if class_name:
                usage[class_name + STORAGE_CLASS_SUFFIX + REQUESTS_STORAGE] = whole
        return usage


def evaluator_for(plural: str, group: str = "") -> Evaluator:
    """The evaluator of a resource (`pods`, or `deployments` in `apps`)."""
    special: dict[str, Callable[[], Evaluator]] = {PODS: PodEvaluator, SERVICES: ServiceEvaluator,
                                                   PERSISTENT_VOLUME_CLAIMS: ClaimEvaluator}
    make = special.get(plural) if not group else None
    return make() if make is not None else Evaluator(plural, group)


def hard_of(quota: Mapping[str, Any]) -> ResourceList:
    """The limits a quota enforces: its `status.hard`, which the quota controller copies from the spec."""
    return parse_list(status_of(quota).get("hard"))


def quota_matches(evaluator: Evaluator, quota: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """generic.Matches: the quota bounds something this evaluator counts, and the object is in every scope."""
    if not evaluator.matching(hard_of(quota)):
        return False
    return all(evaluator.matches_scope(obj, scope) for scope in scopes_of(quota))


def namespace_usage(evaluator: Evaluator, names: Iterable[str], objects: Iterable[Mapping[str, Any]],
                    scopes: list[Scope], now: datetime) -> ResourceList:
    """CalculateUsageStats: the summed usage, under `names`, of the objects within every scope."""
    wanted = evaluator.matching(names)
    used: ResourceList = {name: Quantity.of(0) for name in wanted}
    for obj in objects:
        if all(evaluator.matches_scope(obj, scope) for scope in scopes):
            used = add(used, mask(evaluator.usage(obj, now), wanted))
    return used
