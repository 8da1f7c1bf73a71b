"""Field tables of the authentication kinds kubectl sends as protobuf (authentication/v1 and core/v1
generated.proto): `kubectl create serviceaccount`, `kubectl create token`, `kubectl auth whoami`, and TokenReviews."""

from __future__ import annotations

from minik8s.apiserver.protobuf.meta_schema import OBJECT_META
from minik8s.apiserver.protobuf.pod_schema import LOCAL_OBJECT_REFERENCE
from minik8s.apiserver.protobuf.schema import boolean, int64, message, nested, string

OBJECT_REFERENCE = message("ObjectReference", {
    1: string("kind"), 2: string("namespace"), 3: string("name"), 4: string("uid"), 5: string("apiVersion"),
    6: string("resourceVersion"), 7: string("fieldPath"),
})

SERVICE_ACCOUNT = message("ServiceAccount", {
    1: nested("metadata", OBJECT_META), 2: nested("secrets", OBJECT_REFERENCE, repeated=True),
    3: nested("imagePullSecrets", LOCAL_OBJECT_REFERENCE, repeated=True),
    4: boolean("automountServiceAccountToken", keep_zero=True),
})

BOUND_OBJECT_REFERENCE = message("BoundObjectReference", {
    1: string("kind"), 2: string("apiVersion"), 3: string("name"), 4: string("uid"),
})

TOKEN_REQUEST = message("TokenRequest", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("TokenRequestSpec", {
        1: string("audiences", repeated=True), 4: int64("expirationSeconds", keep_zero=True),
        3: nested("boundObjectRef", BOUND_OBJECT_REFERENCE),
    })),
    3: nested("status", message("TokenRequestStatus")),
})

SELF_SUBJECT_REVIEW = message("SelfSubjectReview", {
    1: nested("metadata", OBJECT_META), 2: nested("status", message("SelfSubjectReviewStatus")),
})

TOKEN_REVIEW = message("TokenReview", {
    1: nested("metadata", OBJECT_META),
    2: nested("spec", message("TokenReviewSpec", {1: string("token"), 2: string("audiences", repeated=True)})),
    3: nested("status", message("TokenReviewStatus")),
})
