"""Validation of objects before they are stored, as Kubernetes validates them.

The apiserver calls `validate(kind, obj, old=...)` after defaulting every create and
update and answers 422 `Invalid` with one cause per `FieldError` when the list is not
empty; `validate_name` checks names taken from URLs. Each kind has its own validator in
a dispatch table; they live in sibling modules (`*_validation.py`) to keep modules
small. A kind without a validator gets the metadata checks only. Validation never raises
on malformed input: wrong types become `FieldValueTypeInvalid` errors. Pod spec fields minik8s
cannot honour are refused too (pod_unsupported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from minik8s.api.core_validation import (
    validate_config_map,
    validate_event,
    validate_lease,
    validate_namespace,
    validate_node,
    validate_secret,
    validate_service_account,
)
from minik8s.api.cronjob_validation import validate_cron_job
from minik8s.api.disruption_budget import validate_pod_disruption_budget
from minik8s.api.field_errors import FieldError, describe_invalid
from minik8s.api.field_reader import FieldReader
from minik8s.api.job_validation import validate_job
from minik8s.api.meta_validation import check_name, validate_object_meta, validate_object_meta_update
from minik8s.api.pod_unsupported import unsupported_fields
from minik8s.api.pod_validation import validate_pod
from minik8s.api.policy_validation import validate_limit_range, validate_resource_quota
from minik8s.api.priority_class import validate_priority_class
from minik8s.api.rbac_validation import (
    validate_cluster_role,
    validate_cluster_role_binding,
    validate_role,
    validate_role_binding,
)
from minik8s.api.service_validation import validate_endpoints, validate_service
from minik8s.api.statefulset_validation import validate_controller_revision, validate_stateful_set
from minik8s.api.storage_class_validation import validate_storage_class
from minik8s.api.storage_validation import validate_persistent_volume, validate_persistent_volume_claim
from minik8s.api.workload_validation import validate_daemon_set, validate_deployment, validate_replica_set

__all__ = ["FieldError", "describe_invalid", "validate", "validate_name"]

KindValidator = Callable[[FieldReader, Mapping[str, Any], Mapping[str, Any] | None], None]

_VALIDATORS: dict[str, KindValidator] = {
    "Namespace": validate_namespace,
    "Node": validate_node,
    "Pod": validate_pod,
    "Service": validate_service,
    "Endpoints": validate_endpoints,
    "Event": validate_event,
    "ConfigMap": validate_config_map,
    "Secret": validate_secret,
    "ServiceAccount": validate_service_account,
    "LimitRange": validate_limit_range,
    "ResourceQuota": validate_resource_quota,
    "Deployment": validate_deployment,
    "ReplicaSet": validate_replica_set,
    "DaemonSet": validate_daemon_set,
    "StatefulSet": validate_stateful_set,
    "ControllerRevision": validate_controller_revision,
    "Lease": validate_lease,
    "Role": validate_role,
    "ClusterRole": validate_cluster_role,
    "RoleBinding": validate_role_binding,
    "ClusterRoleBinding": validate_cluster_role_binding,
    "PersistentVolume": validate_persistent_volume,
    "PersistentVolumeClaim": validate_persistent_volume_claim,
    "StorageClass": validate_storage_class,
    "Job": validate_job,
    "CronJob": validate_cron_job,
    "PodDisruptionBudget": validate_pod_disruption_budget,
    "PriorityClass": validate_priority_class,
}


def validate(kind: str, obj: Mapping[str, Any], *, old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every problem with `obj` (a defaulted `kind` object); with `old`, also what may not change."""
    reader = FieldReader()
    if not isinstance(obj, Mapping):
        return [FieldError.type_invalid("", obj, "must be of type object")]
    if old is not None and not isinstance(old, Mapping):
        old = None
    _VALIDATORS.get(kind, _validate_metadata_only)(reader, obj, old)
    reader.extend(unsupported_fields(kind, obj, old))  # what the node agent cannot honour is refused, not ignored
    return list(dict.fromkeys(reader.errors))  # drop exact repeats, keep order


def validate_name(kind: str, name: str) -> list[str]:
    """Problems with `name` for a `kind` object (empty list when fine), e.g. from a URL path."""
    if not name:
        return ["name must be non-empty"]
    return check_name(kind, name)


def _validate_metadata_only(reader: FieldReader, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    kind = obj.get("kind")
    validate_object_meta(reader, obj, kind if isinstance(kind, str) else "")
    if old is not None:
        validate_object_meta_update(reader, obj, old)
