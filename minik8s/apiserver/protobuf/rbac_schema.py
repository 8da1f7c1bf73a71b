"""Field tables of rbac.authorization.k8s.io/v1 and the authorization.k8s.io/v1 reviews (their generated.proto).

kubectl's `create role|clusterrole|rolebinding|clusterrolebinding` and `auth can-i` send these as protobuf.
A SubjectAccessReview's `extra` (map of ExtraValue) is not decoded: kubectl never sends it.
"""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import LABEL_SELECTOR, OBJECT_META
from minik8s.apiserver.protobuf.schema import message, nested, string

POLICY_RULE = message("PolicyRule", {
    1: string("verbs", repeated=True), 2: string("apiGroups", repeated=True), 3: string("resources", repeated=True),
    4: string("resourceNames", repeated=True), 5: string("nonResourceURLs", repeated=True),
})
_SUBJECT = message("Subject", {1: string("kind", keep_zero=True), 2: string("apiGroup"),
                               3: string("name", keep_zero=True), 4: string("namespace")})
_ROLE_REF = message("RoleRef", {1: string("apiGroup", keep_zero=True), 2: string("kind", keep_zero=True),
                                3: string("name", keep_zero=True)})

ROLE = message("Role", {1: nested("metadata", OBJECT_META), 2: nested("rules", POLICY_RULE, repeated=True)})
CLUSTER_ROLE = message("ClusterRole", {
    1: nested("metadata", OBJECT_META), 2: nested("rules", POLICY_RULE, repeated=True),
    3: nested("aggregationRule", message("AggregationRule", {
        1: nested("clusterRoleSelectors", LABEL_SELECTOR, repeated=True)})),
})
ROLE_BINDING = message("RoleBinding", {1: nested("metadata", OBJECT_META),
                                       2: nested("subjects", _SUBJECT, repeated=True), 3: nested("roleRef", _ROLE_REF)})
CLUSTER_ROLE_BINDING = message("ClusterRoleBinding", dict(ROLE_BINDING.fields))

_RESOURCE_ATTRIBUTES = message("ResourceAttributes", {
    1: string("namespace"), 2: string("verb"), 3: string("group"), 4: string("version"), 5: string("resource"),
    6: string("subresource"), 7: string("name"),
})
_NON_RESOURCE_ATTRIBUTES = message("NonResourceAttributes", {1: string("path"), 2: string("verb")})
_ACCESS_SPEC_FIELDS = {1: nested("resourceAttributes", _RESOURCE_ATTRIBUTES),
                       2: nested("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES)}

SELF_SUBJECT_ACCESS_REVIEW = message("SelfSubjectAccessReview", {
    1: nested("metadata", OBJECT_META), 2: nested("spec", message("SelfSubjectAccessReviewSpec", _ACCESS_SPEC_FIELDS)),
})
SUBJECT_ACCESS_REVIEW = message("SubjectAccessReview", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("SubjectAccessReviewSpec", {
        **_ACCESS_SPEC_FIELDS, 3: string("user"), 4: string("groups", repeated=True), 6: string("uid")})),
})
SELF_SUBJECT_RULES_REVIEW = message("SelfSubjectRulesReview", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("SelfSubjectRulesReviewSpec", {1: string("namespace")})),
})
