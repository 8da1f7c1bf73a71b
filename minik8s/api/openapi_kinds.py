"""OpenAPI schemas of the kinds outside core/v1, and the lookup every OpenAPI document uses.

ResourceQuota and LimitRange (core/v1), apps/v1 workloads, coordination Leases, RBAC, the access and token reviews, and the bodies of
subresources (autoscaling/v1 Scale, policy/v1 Eviction, authentication/v1 TokenRequest), under
Kubernetes' names. `schema_name` says which schema a kind has; `closure` collects what a document
must carry so that every `$ref` in it resolves (each group-version document stands alone).
"""

from __future__ import annotations

from minik8s.api import openapi_apps
from minik8s.api.openapi_batch import BATCH_SCHEMAS
from minik8s.api.openapi_core import CORE_SCHEMAS, POD_TEMPLATE_SPEC
from minik8s.api.openapi_disruption import DISRUPTION_KINDS
from minik8s.api.openapi_schema import (
    INT_OR_STRING,
    LABEL_SELECTOR,
    META_SCHEMAS,
    MICRO_TIME,
    QUANTITY,
    TIME,
    Schema,
    array,
    boolean,
    free_object,
    integer,
    kind_object,
    list_of,
    map_of,
    obj,
    ref,
    references,
    string,
)
from minik8s.api.openapi_storage import STORAGE_KINDS
from minik8s.api.registry import AUTHENTICATION_GROUP, AUTHORIZATION_GROUP, RBAC_GROUP

# Kubernetes names a group's Go package, not the group: rbac.authorization.k8s.io is `rbac`.
_PACKAGES = {"": "core", "apps": "apps", "coordination.k8s.io": "coordination", RBAC_GROUP: "rbac",
             AUTHENTICATION_GROUP: "authentication", AUTHORIZATION_GROUP: "authorization", "policy": "policy",
             "autoscaling": "autoscaling"}


def schema_name(group: str, version: str, kind: str) -> str:
    """`io.k8s.api.apps.v1.Deployment`: the name of a kind's schema in `components.schemas`."""
    return f"io.k8s.api.{_PACKAGES.get(group, group.split('.')[0])}.{version}.{kind}"


def _workload_status(description: str, *extra: str) -> Schema:
    counts = ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "unavailableReplicas",
              "fullyLabeledReplicas", *extra)
    return obj(description, {
        "observedGeneration": integer(format="int64"), **{count: integer() for count in counts},
        "conditions": array(obj("A condition of the workload.", {
            "type": string(), "status": string(enum=("True", "False", "Unknown")), "reason": string(),
            "message": string(), "lastUpdateTime": ref(TIME), "lastTransitionTime": ref(TIME)},
            required=("type", "status"))),
        "collisionCount": integer(),
    })


def _rolling_update(description: str) -> Schema:
    return obj(description, {"maxUnavailable": ref(INT_OR_STRING), "maxSurge": ref(INT_OR_STRING)})


def _workload(kind: str, description: str, spec: dict[str, Schema], *counts: str) -> Schema:
    return kind_object(description, "apps", "v1", kind, {
        "spec": obj(f"The desired state of a {kind}.", {
            "selector": ref(LABEL_SELECTOR), "template": ref(POD_TEMPLATE_SPEC), "minReadySeconds": integer(),
            "revisionHistoryLimit": integer(), **spec}, required=("selector", "template")),
        "status": _workload_status(f"The observed state of a {kind}.", *counts)})


_POLICY_RULE = obj("What a role allows.", {
    "verbs": array(string()), "apiGroups": array(string()), "resources": array(string()),
    "resourceNames": array(string()), "nonResourceURLs": array(string())}, required=("verbs",))
_SUBJECT = obj("Who a binding grants its role to.", {
    "kind": string(enum=("ServiceAccount", "User", "Group")), "name": string(), "namespace": string(),
    "apiGroup": string()}, required=("kind", "name"))
_ROLE_REF = obj("The role a binding grants.", {
    "apiGroup": string(), "kind": string(enum=("Role", "ClusterRole")), "name": string()},
    required=("apiGroup", "kind", "name"))
_USER_INFO = obj("A user.", {"username": string(), "uid": string(), "groups": array(string()),
                             "extra": map_of(array(string()))})
_ACCESS_SPEC = obj("The question.", {
    "resourceAttributes": obj("A resource request.", {
        "namespace": string(), "verb": string(), "group": string(), "version": string(), "resource": string(),
        "subresource": string(), "name": string()}),
    "nonResourceAttributes": obj("A non-resource request.", {"path": string(), "verb": string()}),
    "user": string(), "groups": array(string()), "uid": string(), "extra": map_of(array(string()))})
_ACCESS_STATUS = obj("The answer.", {"allowed": boolean(), "denied": boolean(), "reason": string(),
                                     "evaluationError": string()}, required=("allowed",))


def _access_review(kind: str, description: str) -> Schema:
    return kind_object(description, AUTHORIZATION_GROUP, "v1", kind, {"spec": _ACCESS_SPEC, "status": _ACCESS_STATUS},
                       required=("spec",))


_KINDS: dict[tuple[str, str], Schema] = {
    ("apps", "Deployment"): _workload("Deployment", "Declarative updates of pods through ReplicaSets.", {
        "replicas": integer(), "paused": boolean(), "progressDeadlineSeconds": integer(),
        "strategy": obj("How pods are replaced.", {"type": string(enum=("RollingUpdate", "Recreate")),
                                                   "rollingUpdate": _rolling_update("Rolling update options.")})}),
    ("apps", "ReplicaSet"): _workload("ReplicaSet", "Keeps a number of pod replicas running.", {
        "replicas": integer()}),
    ("apps", "DaemonSet"): _workload("DaemonSet", "Runs a pod on every eligible node.", {
        "updateStrategy": obj("How pods are replaced.", {"type": string(enum=("RollingUpdate", "OnDelete")),
                                                         "rollingUpdate": _rolling_update("Rolling update options.")})},
        "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable", "numberUnavailable"),
    ("coordination.k8s.io", "Lease"): kind_object("A lease (leader election, node heartbeats).",
                                                  "coordination.k8s.io", "v1", "Lease", {
        "spec": obj("The lease's holder and terms.", {
            "holderIdentity": string(), "leaseDurationSeconds": integer(), "acquireTime": ref(MICRO_TIME),
            "renewTime": ref(MICRO_TIME), "leaseTransitions": integer()})}),
    (RBAC_GROUP, "Role"): kind_object("Rules in one namespace.", RBAC_GROUP, "v1", "Role", {
        "rules": array(_POLICY_RULE)}),
    (RBAC_GROUP, "ClusterRole"): kind_object("Rules across the cluster.", RBAC_GROUP, "v1", "ClusterRole", {
        "rules": array(_POLICY_RULE),
        "aggregationRule": obj("Roles whose rules this role aggregates.", {
            "clusterRoleSelectors": array(ref(LABEL_SELECTOR))})}),
    (RBAC_GROUP, "RoleBinding"): kind_object("Grants a role in one namespace.", RBAC_GROUP, "v1", "RoleBinding", {
        "subjects": array(_SUBJECT), "roleRef": _ROLE_REF}, required=("roleRef",)),
    (RBAC_GROUP, "ClusterRoleBinding"): kind_object("Grants a ClusterRole across the cluster.", RBAC_GROUP, "v1",
                                                    "ClusterRoleBinding", {
        "subjects": array(_SUBJECT), "roleRef": _ROLE_REF}, required=("roleRef",)),
    (AUTHENTICATION_GROUP, "TokenReview"): kind_object("Asks who a bearer token authenticates.",
                                                       AUTHENTICATION_GROUP, "v1", "TokenReview", {
        "spec": obj("The token.", {"token": string(), "audiences": array(string())}),
        "status": obj("The answer.", {"authenticated": boolean(), "user": _USER_INFO, "audiences": array(string()),
                                      "error": string()})}, required=("spec",)),
    (AUTHENTICATION_GROUP, "SelfSubjectReview"): kind_object("Asks who the requesting user is.",
                                                             AUTHENTICATION_GROUP, "v1", "SelfSubjectReview", {
        "status": obj("The answer.", {"userInfo": _USER_INFO})}),
    (AUTHENTICATION_GROUP, "TokenRequest"): kind_object("Asks for a ServiceAccount token.",
                                                        AUTHENTICATION_GROUP, "v1", "TokenRequest", {
        "spec": obj("The token wanted.", {
            "audiences": array(string()), "expirationSeconds": integer(format="int64"),
            "boundObjectRef": obj("The object the token is bound to.", {
                "kind": string(), "apiVersion": string(), "name": string(), "uid": string()})}),
        "status": obj("The token.", {"token": string(), "expirationTimestamp": ref(TIME)},
                      required=("token", "expirationTimestamp"))}, required=("spec",)),
    (AUTHORIZATION_GROUP, "SubjectAccessReview"): _access_review(
        "SubjectAccessReview", "Asks whether a user may perform an action."),
    (AUTHORIZATION_GROUP, "LocalSubjectAccessReview"): _access_review(
        "LocalSubjectAccessReview", "Asks whether a user may perform an action in one namespace."),
    (AUTHORIZATION_GROUP, "SelfSubjectAccessReview"): _access_review(
        "SelfSubjectAccessReview", "Asks whether the requesting user may perform an action."),
    (AUTHORIZATION_GROUP, "SelfSubjectRulesReview"): kind_object(
        "Lists what the requesting user may do in a namespace.", AUTHORIZATION_GROUP, "v1", "SelfSubjectRulesReview", {
            "spec": obj("The namespace.", {"namespace": string()}),
            "status": obj("The rules.", {"resourceRules": array(free_object()), "nonResourceRules": array(free_object()),
                                         "incomplete": boolean(), "evaluationError": string()})}, required=("spec",)),
    ("", "ResourceQuota"): kind_object("Caps what a namespace may use in total.", "", "v1", "ResourceQuota", {
        "spec": obj("The caps.", {
            "hard": map_of(ref(QUANTITY), "The most of each resource the namespace may use."),
            "scopes": array(string()),
            "scopeSelector": obj("The objects the quota counts.", {"matchExpressions": array(obj(
                "A scope requirement.", {"scopeName": string(), "operator": string(enum=("In", "NotIn", "Exists",
                                                                                          "DoesNotExist")),
                                         "values": array(string())}, required=("scopeName", "operator")))})}),
        "status": obj("What is used against the caps.", {"hard": map_of(ref(QUANTITY)),
                                                          "used": map_of(ref(QUANTITY))})}),
    ("", "LimitRange"): kind_object("Defaults and bounds for each pod or container in a namespace.", "", "v1",
                                    "LimitRange", {
        "spec": obj("The limits.", {"limits": array(obj("The limits of one type.", {
            "type": string(enum=("Container", "Pod", "PersistentVolumeClaim")),
            **{bound: map_of(ref(QUANTITY)) for bound in ("max", "min", "default", "defaultRequest",
                                                           "maxLimitRequestRatio")}}, required=("type",)))},
            required=("limits",))}),
    ("policy", "Eviction"): kind_object("Evicts a pod (a deletion that respects disruption budgets).",
                                        "policy", "v1", "Eviction", {
        "deleteOptions": ref("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")}),
    ("autoscaling", "Scale"): kind_object("The replica count of a scalable workload.", "autoscaling", "v1", "Scale", {
        "spec": obj("The desired replicas.", {"replicas": integer()}),
        "status": obj("The observed replicas.", {"replicas": integer(), "selector": string()},
                      required=("replicas",))}),
    **openapi_apps.KINDS,
    **DISRUPTION_KINDS,
}

_LISTED: tuple[str, ...] = ("ResourceQuota", "LimitRange", "Deployment", "ReplicaSet", "DaemonSet", "Lease", "Role", "ClusterRole", "RoleBinding",
           "ClusterRoleBinding", *openapi_apps.LISTED, *(kind for _, kind in DISRUPTION_KINDS))
_KINDS.update(STORAGE_KINDS)
_LISTED += tuple(kind for _, kind in STORAGE_KINDS)

SCHEMAS: dict[str, Schema] = {
    **META_SCHEMAS,
    **CORE_SCHEMAS,
    **BATCH_SCHEMAS,
    **{schema_name(group, "v1", kind): schema for (group, kind), schema in _KINDS.items()},
    **{schema_name(group, "v1", f"{kind}List"): list_of(schema_name(group, "v1", kind), group, "v1", f"{kind}List")
       for (group, kind) in _KINDS if kind in _LISTED},
}
"""Every schema served, by name."""


def closure(names: set[str]) -> dict[str, Schema]:
    """`names` and every schema they refer to, transitively, in a stable (sorted) order."""
    wanted, pending = set(), set(names)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending |= references(SCHEMAS[name]) - wanted
    return {name: SCHEMAS[name] for name in sorted(wanted)}

