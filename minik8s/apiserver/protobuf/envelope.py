"""The Kubernetes protobuf envelope: `k8s\\x00` + runtime.Unknown{typeMeta, raw, …}, and the kinds it may carry.

Kubernetes does not send a bare message: it prefixes four magic bytes and wraps the object
in `runtime.Unknown`, whose typeMeta names the kind that `raw` encodes. This module opens
the envelope and picks the field table for that kind.
"""

from __future__ import annotations

from typing import Any

from minik8s.apiserver.protobuf.apps_schema import DAEMON_SET, DEPLOYMENT, REPLICA_SET
from minik8s.apiserver.protobuf.authentication_schema import (
    SELF_SUBJECT_REVIEW,
    SERVICE_ACCOUNT,
    TOKEN_REQUEST,
    TOKEN_REVIEW,
)
from minik8s.apiserver.protobuf.batch_schema import CRON_JOB, JOB
from minik8s.apiserver.protobuf.core_schema import (
    CONFIG_MAP,
    EVICTION,
    LIMIT_RANGE,
    NAMESPACE,
    POD,
    RESOURCE_QUOTA,
    SECRET,
    SERVICE,
)
from minik8s.apiserver.protobuf.decoder import decode_message
from minik8s.apiserver.protobuf.policy_schema import POD_DISRUPTION_BUDGET, PRIORITY_CLASS
from minik8s.apiserver.protobuf.rbac_schema import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    ROLE,
    ROLE_BINDING,
    SELF_SUBJECT_ACCESS_REVIEW,
    SELF_SUBJECT_RULES_REVIEW,
    SUBJECT_ACCESS_REVIEW,
)
from minik8s.apiserver.protobuf.schema import Message, message, nested, string
from minik8s.apiserver.protobuf.wire import ProtobufError, iter_fields

MAGIC = b"k8s\x00"

KINDS: dict[tuple[str, str], Message] = {
    ("v1", "Namespace"): NAMESPACE,
    ("v1", "ConfigMap"): CONFIG_MAP,
    ("v1", "Secret"): SECRET,
    ("v1", "Service"): SERVICE,
    ("v1", "Pod"): POD,
    ("apps/v1", "Deployment"): DEPLOYMENT,
    ("apps/v1", "ReplicaSet"): REPLICA_SET,
    ("apps/v1", "DaemonSet"): DAEMON_SET,
    ("batch/v1", "Job"): JOB,
    ("batch/v1", "CronJob"): CRON_JOB,
    ("policy/v1", "Eviction"): EVICTION,
    ("policy/v1beta1", "Eviction"): EVICTION,
    ("rbac.authorization.k8s.io/v1", "Role"): ROLE,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): CLUSTER_ROLE,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ROLE_BINDING,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): CLUSTER_ROLE_BINDING,
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): SELF_SUBJECT_ACCESS_REVIEW,
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): SELF_SUBJECT_RULES_REVIEW,
    ("authorization.k8s.io/v1", "SubjectAccessReview"): SUBJECT_ACCESS_REVIEW,
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): SUBJECT_ACCESS_REVIEW,
    ("v1", "ServiceAccount"): SERVICE_ACCOUNT,
    ("v1", "ResourceQuota"): RESOURCE_QUOTA,
    ("v1", "LimitRange"): LIMIT_RANGE,
    ("authentication.k8s.io/v1", "TokenRequest"): TOKEN_REQUEST,
    ("authentication.k8s.io/v1", "SelfSubjectReview"): SELF_SUBJECT_REVIEW,
    ("authentication.k8s.io/v1", "TokenReview"): TOKEN_REVIEW,
    ("policy/v1", "PodDisruptionBudget"): POD_DISRUPTION_BUDGET,
    ("scheduling.k8s.io/v1", "PriorityClass"): PRIORITY_CLASS,
}

_TYPE_META = message("TypeMeta", {1: string("apiVersion"), 2: string("kind")})
_ENVELOPE_STRINGS = message("Unknown", {1: nested("typeMeta", _TYPE_META), 3: string("contentEncoding"),
                                        4: string("contentType")})
_RAW_FIELD = 2


class UnsupportedKindError(Exception):
    """A well-formed envelope around a kind (or encoding) this apiserver has no field table for."""

    def __init__(self, message_text: str) -> None:
        super().__init__(message_text)
        self.message = message_text


def supported_kinds() -> list[str]:
    """`apiVersion/Kind` of every kind a protobuf body may carry, for error messages and docs."""
    return [f"{api_version}/{kind}" for api_version, kind in KINDS]


def decode_object(body: bytes) -> dict[str, Any]:
    """A protobuf request body → the JSON object kubectl would have sent (kind and apiVersion first)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic bytes k8s\\x00")
    envelope = decode_message(body[len(MAGIC):], _ENVELOPE_STRINGS)
    type_meta = envelope.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if envelope.get("contentEncoding"):
        raise UnsupportedKindError(f"protobuf bodies with contentEncoding {envelope['contentEncoding']!r} "
                                   "are not supported; send the body uncompressed or as JSON")
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise UnsupportedKindError(f"protobuf bodies are supported for {', '.join(supported_kinds())}; "
                                   f"got {api_version or '(no apiVersion)'}/{kind or '(no kind)'}: send JSON")
    return {"kind": kind, "apiVersion": api_version, **decode_message(_raw_of(body[len(MAGIC):]), schema)}


def _raw_of(envelope: bytes) -> bytes:
    """Unknown.raw: the encoded object (bytes, which the JSON-shaped decoder would base64)."""
    raw = b""
    for wire_field in iter_fields(envelope):
        if wire_field.number == _RAW_FIELD:
            if not isinstance(wire_field.value, bytes):
                raise ProtobufError(f"Unknown.raw: expected length-delimited bytes, got {wire_field.wire_type_name}")
            raw = wire_field.value
    return raw
