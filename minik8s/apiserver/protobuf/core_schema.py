"""Field tables of the core/v1 kinds kubectl creates with protobuf bodies (core/v1 generated.proto).

Statuses are declared without fields: kubectl sends them empty, and a create or update
never takes status from the body, so `status: {}` is all the server needs to see.
"""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import DELETE_OPTIONS, OBJECT_META
from minik8s.apiserver.protobuf.pod_schema import POD_SPEC
from minik8s.apiserver.protobuf.schema import (
    boolean,
    bytes_map,
    int32,
    int_or_string,
    message,
    nested,
    quantity_map,
    string,
    string_map,
)

NAMESPACE = message("Namespace", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("NamespaceSpec", {1: string("finalizers", repeated=True)})),
    3: nested("status", message("NamespaceStatus")),
})

CONFIG_MAP = message("ConfigMap", {
    1: nested("metadata", OBJECT_META), 4: boolean("immutable", keep_zero=True), 2: string_map("data"),
    3: bytes_map("binaryData"),
})

SECRET = message("Secret", {
    1: nested("metadata", OBJECT_META), 5: boolean("immutable", keep_zero=True), 2: bytes_map("data"),
    4: string_map("stringData"), 3: string("type"),
})

SERVICE_PORT = message("ServicePort", {
    1: string("name"), 2: string("protocol"), 6: string("appProtocol", keep_zero=True),
    3: int32("port", keep_zero=True), 4: int_or_string("targetPort"), 5: int32("nodePort"),
})

SESSION_AFFINITY_CONFIG = message("SessionAffinityConfig", {
    1: nested("clientIP", message("ClientIPConfig", {1: int32("timeoutSeconds", keep_zero=True)})),
})

SERVICE_SPEC = message("ServiceSpec", {
    1: nested("ports", SERVICE_PORT, repeated=True), 2: string_map("selector"), 3: string("clusterIP"),
    18: string("clusterIPs", repeated=True), 4: string("type"), 5: string("externalIPs", repeated=True),
    7: string("sessionAffinity"), 8: string("loadBalancerIP"), 9: string("loadBalancerSourceRanges", repeated=True),
    10: string("externalName"), 11: string("externalTrafficPolicy"), 12: int32("healthCheckNodePort"),
    13: boolean("publishNotReadyAddresses"), 14: nested("sessionAffinityConfig", SESSION_AFFINITY_CONFIG),
    19: string("ipFamilies", repeated=True), 17: string("ipFamilyPolicy", keep_zero=True),
    20: boolean("allocateLoadBalancerNodePorts", keep_zero=True), 21: string("loadBalancerClass", keep_zero=True),
    22: string("internalTrafficPolicy", keep_zero=True), 23: string("trafficDistribution", keep_zero=True),
})

SERVICE = message("Service", {
    1: nested("metadata", OBJECT_META), 2: nested("spec", SERVICE_SPEC), 3: nested("status", message("ServiceStatus")),
})

POD = message("Pod", {
    1: nested("metadata", OBJECT_META), 2: nested("spec", POD_SPEC), 3: nested("status", message("PodStatus")),
})

EVICTION = message("Eviction", {1: nested("metadata", OBJECT_META), 2: nested("deleteOptions", DELETE_OPTIONS)})

SCOPE_SELECTOR = message("ScopeSelector", {1: nested("matchExpressions", message("ScopedResourceSelectorRequirement", {
    1: string("scopeName"), 2: string("operator"), 3: string("values", repeated=True),
}), repeated=True)})

RESOURCE_QUOTA = message("ResourceQuota", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("ResourceQuotaSpec", {
        1: quantity_map("hard"), 2: string("scopes", repeated=True), 3: nested("scopeSelector", SCOPE_SELECTOR),
    })),
    3: nested("status", message("ResourceQuotaStatus")),
})

LIMIT_RANGE = message("LimitRange", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("LimitRangeSpec", {1: nested("limits", message("LimitRangeItem", {
        1: string("type"), 2: quantity_map("max"), 3: quantity_map("min"), 4: quantity_map("default"),
        5: quantity_map("defaultRequest"), 6: quantity_map("maxLimitRequestRatio"),
    }), repeated=True)})),
})
