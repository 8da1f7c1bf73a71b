"""The vocabulary of ResourceQuotas: which resource names and scopes a quota may name.

Validation (a quota naming `pods` or `count/deployments.apps` but not `bananas`), the admission
evaluators and the quota controller share these sets, copied from Kubernetes' core helpers
(pkg/apis/core/helper): the standard quota resources, those counted in whole numbers, the scopes
and the resources each scope may bound.
"""

from __future__ import annotations

PODS = "pods"
SERVICES = "services"
CONFIG_MAPS = "configmaps"
SECRETS = "secrets"
RESOURCE_QUOTAS = "resourcequotas"
REPLICATION_CONTROLLERS = "replicationcontrollers"
PERSISTENT_VOLUME_CLAIMS = "persistentvolumeclaims"
SERVICES_NODE_PORTS = "services.nodeports"
SERVICES_LOAD_BALANCERS = "services.loadbalancers"
CPU, MEMORY, EPHEMERAL_STORAGE, STORAGE = "cpu", "memory", "ephemeral-storage", "storage"
REQUESTS_PREFIX, LIMITS_PREFIX, COUNT_PREFIX = "requests.", "limits.", "count/"
HUGE_PAGES_PREFIX = "hugepages-"

STANDARD_QUOTA_RESOURCES = frozenset({
    CPU, MEMORY, EPHEMERAL_STORAGE, "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", PODS, RESOURCE_QUOTAS,
    SERVICES, REPLICATION_CONTROLLERS, SECRETS, PERSISTENT_VOLUME_CLAIMS, CONFIG_MAPS, SERVICES_NODE_PORTS,
    SERVICES_LOAD_BALANCERS,
})
STANDARD_RESOURCES = STANDARD_QUOTA_RESOURCES | {STORAGE}
INTEGER_RESOURCES = frozenset({
    PODS, RESOURCE_QUOTAS, SERVICES, REPLICATION_CONTROLLERS, SECRETS, CONFIG_MAPS, PERSISTENT_VOLUME_CLAIMS,
    SERVICES_NODE_PORTS, SERVICES_LOAD_BALANCERS,
})
STANDARD_CONTAINER_RESOURCES = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE})

TERMINATING, NOT_TERMINATING = "Terminating", "NotTerminating"
BEST_EFFORT, NOT_BEST_EFFORT = "BestEffort", "NotBestEffort"
PRIORITY_CLASS, CROSS_NAMESPACE_POD_AFFINITY = "PriorityClass", "CrossNamespacePodAffinity"
STANDARD_SCOPES = frozenset({TERMINATING, NOT_TERMINATING, BEST_EFFORT, NOT_BEST_EFFORT, PRIORITY_CLASS,
                             CROSS_NAMESPACE_POD_AFFINITY})
CONFLICTING_SCOPES = ((BEST_EFFORT, NOT_BEST_EFFORT), (TERMINATING, NOT_TERMINATING))
EXISTS, DOES_NOT_EXIST, IN, NOT_IN = "Exists", "DoesNotExist", "In", "NotIn"
_POD_COUNT = frozenset({PODS})
_POD_COMPUTE = frozenset({CPU, MEMORY, "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"})


def is_huge_pages(name: str) -> bool:
    """IsQuotaHugePageResourceName."""
    return name.startswith(HUGE_PAGES_PREFIX) or name.startswith(REQUESTS_PREFIX + HUGE_PAGES_PREFIX)


def is_standard_quota_resource(name: str) -> bool:
    return name in STANDARD_QUOTA_RESOURCES or is_huge_pages(name)


def is_standard_resource(name: str) -> bool:
    return name in STANDARD_RESOURCES or is_huge_pages(name)


def is_native(name: str) -> bool:
    """IsNativeResource: unqualified, or in the kubernetes.io/ namespace."""
    return "/" not in name or "kubernetes.io/" in name


def is_integer_resource(name: str) -> bool:
    """Counted in whole numbers: the object counts, and extended resources (`example.com/gpu`)."""
    return name in INTEGER_RESOURCES or (not is_native(name) and not name.startswith(REQUESTS_PREFIX))


def scope_bounds(scope: str, resource: str) -> bool:
    """IsResourceQuotaScopeValidForResource: whether a quota with `scope` may name `resource`."""
    if scope in (TERMINATING, NOT_TERMINATING, NOT_BEST_EFFORT, PRIORITY_CLASS, CROSS_NAMESPACE_POD_AFFINITY):
        return resource in _POD_COUNT or resource in _POD_COMPUTE
    if scope == BEST_EFFORT:
        return resource in _POD_COUNT
    return True


def object_count_name(plural: str, group: str) -> str:
    """ObjectCountQuotaResourceNameFor: `count/pods`, `count/deployments.apps`."""
    return f"{COUNT_PREFIX}{plural}.{group}" if group else f"{COUNT_PREFIX}{plural}"


# The names older than `count/…` that still count core objects (pkg/quota/v1/evaluator/core/registry.go).
LEGACY_COUNT_ALIASES = {CONFIG_MAPS: CONFIG_MAPS, RESOURCE_QUOTAS: RESOURCE_QUOTAS,
                        REPLICATION_CONTROLLERS: REPLICATION_CONTROLLERS, SECRETS: SECRETS}
