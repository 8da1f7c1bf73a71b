"""Per-kind rules of the write path: what create, update and status update may change.

Kubernetes calls these "strategies": a pod starts Pending whatever status it was sent with,
a write to the main resource never changes status, a write to /status changes nothing else,
`generation` moves only when the spec does. Keeping them here keeps the HTTP handlers generic.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from minik8s.api.disruption_budget import EMPTY_STATUS
from minik8s.api.field_errors import FieldError
from minik8s.api.meta import (
    JsonObject,
    format_time,
    integer,
    mapping_at,
    parse_time,
    spec_of,
    status_of,
)
from minik8s.api.priority_class import SYSTEM_CLASS_NAMES
from minik8s.api.registry import ResourceKind
from minik8s.apiserver.batch_strategy import prepare_job_for_create
from minik8s.apiserver.storage import clone
from minik8s.apiserver.volume_strategy import VOLUME_KINDS, initial_status, stamp_phase_transition

# The body of these kinds has no spec/status pair; their data is at the top level.
_TOP_LEVEL_FIELDS: dict[str, frozenset[str]] = {
    "ConfigMap": frozenset({"data", "binaryData", "immutable"}),
    "Secret": frozenset({"data", "stringData", "type", "immutable"}),
    "Endpoints": frozenset({"subsets"}),
    "Role": frozenset({"rules"}),
    "ClusterRole": frozenset({"rules", "aggregationRule"}),
    "RoleBinding": frozenset({"subjects", "roleRef"}),
    "ClusterRoleBinding": frozenset({"subjects", "roleRef"}),
    "ServiceAccount": frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    "StorageClass": frozenset({"provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion",
                               "volumeBindingMode", "allowedTopologies"}),
    "ControllerRevision": frozenset({"data", "revision"}),
    "PriorityClass": frozenset({"value", "globalDefault", "description", "preemptionPolicy"}),
    "Event": frozenset({
        "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type",
        "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance",
    }),
}
_COMMON_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
_METADATA_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
})
LONGEST_DEADLINE_SECONDS = 100 * 365 * 86400
_UID_SOURCE = random.Random(secrets.randbits(128))  # seeded once: uids need uniqueness, not secrecy
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Kinds whose strategy sets generation 1 on create even without a spec.
_GENERATION_ON_CREATE = frozenset({"Deployment", "ReplicaSet", "DaemonSet", "Pod", "PodDisruptionBudget",
                                   "PriorityClass"})
# A new object's status where Kubernetes' zero values are serialized (the Python client requires these counts).
_INITIAL_STATUS: dict[str, JsonObject] = {"PodDisruptionBudget": dict(EMPTY_STATUS)}
# Fields the server owns: a client may not set them on create.
_SERVER_METADATA = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                    "generation", "selfLink", "managedFields")


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None = None) -> str:
    return format_time(moment or now())


def unknown_fields(resource: ResourceKind, obj: JsonObject) -> list[str]:
    """Top-level and metadata fields Kubernetes would reject under fieldValidation=Strict."""
    allowed = _COMMON_FIELDS | _TOP_LEVEL_FIELDS.get(resource.kind, frozenset({"spec", "status"}))
    unknown = [f'unknown field "{name}"' for name in obj if name not in allowed]
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        unknown += [f'unknown field "metadata.{name}"' for name in metadata if name not in _METADATA_FIELDS]
    return unknown


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def pod_qos_class(pod: JsonObject) -> str:
    """The pod's QoS class. It runs before validation, so any field may be malformed: what is not
    an object (or a list of them) reads as empty and validation then answers 422."""
    containers = spec_of(pod).get("containers")
    requests_seen = limits_seen = False
    guaranteed = True
    for container in containers if isinstance(containers, list) else []:
        if not isinstance(container, dict):
            continue  # validation rejects it; QoS is computed before validation runs
        resources = mapping_at(container, "resources")
        requests, limits = mapping_at(resources, "requests"), mapping_at(resources, "limits")
        requests_seen = requests_seen or bool(requests)
        limits_seen = limits_seen or bool(limits)
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def fold_string_data(secret: JsonObject) -> None:
    """A Secret's write-only `stringData` is merged into `data` (base64), as the apiserver does."""
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        existing = secret.get("data")
        data: dict[str, Any] = existing if isinstance(existing, dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def status_shape_problems(resource: ResourceKind, obj: JsonObject) -> list[FieldError]:
    """A status that is no object, on a kind that has one (a kind's validator may not read it): Kubernetes'
    decoder refuses it, and every reader of the status would fail on it."""
    status = obj.get("status")
    if resource.has_status and status is not None and not isinstance(status, dict):
        return [FieldError.type_invalid("status", status, "must be of type object")]
    return []


def prepare_for_create(resource: ResourceKind, obj: JsonObject) -> None:
    """Server-set metadata and the initial status."""
    if resource.kind == "Secret":
        fold_string_data(obj)
    metadata = obj["metadata"]
    for field in _SERVER_METADATA:
        metadata.pop(field, None)
    metadata["uid"] = str(uuid.UUID(int=_UID_SOURCE.getrandbits(128), version=4))
    metadata["creationTimestamp"] = timestamp()
    if "spec" in obj or resource.kind in _GENERATION_ON_CREATE:
        metadata["generation"] = 1
    if resource.kind in _INITIAL_STATUS:
        obj["status"] = clone(_INITIAL_STATUS[resource.kind])
    elif resource.kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
    elif resource.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif resource.kind in VOLUME_KINDS:
        obj["status"] = initial_status(resource.kind, metadata["creationTimestamp"])
    elif resource.kind == "Job" and resource.group == "batch":
        prepare_job_for_create(obj)
    elif resource.has_status and resource.kind != "Node":
        obj["status"] = {}


def prepare_for_update(resource: ResourceKind, new: JsonObject, old: JsonObject) -> None:
    """Keep what a write to the main resource may not change; bump generation on spec change."""
    if resource.kind == "Secret":
        fold_string_data(new)
    metadata, old_metadata = new["metadata"], old["metadata"]
    for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
        if field in old_metadata:
            metadata[field] = old_metadata[field]
        else:
            metadata.pop(field, None)
    metadata.pop("managedFields", None)
    if resource.has_status:
        if "status" in old:
            new["status"] = clone(old["status"])
        else:
            new.pop("status", None)
    if resource.kind == "Service":
        keep_allocations(new, old)
    generation = old_metadata.get("generation")
    if generation is not None:
        changed = new.get("spec") != old.get("spec")
        metadata["generation"] = generation + 1 if changed else generation
    else:
        metadata.pop("generation", None)


def keep_allocations(new: JsonObject, old: JsonObject) -> None:
    """An update that leaves out the allocated clusterIP or nodePorts keeps them, as Kubernetes does."""
    spec, old_spec = new.get("spec"), spec_of(old)
    if not isinstance(spec, dict):
        return
    for field in ("clusterIP", "clusterIPs"):
        if not spec.get(field) and old_spec.get(field):
            spec[field] = clone(old_spec[field])
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old_spec.get("ports") or []
                 if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and not port.get("nodePort"):
            previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if previous and previous.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                port["nodePort"] = previous["nodePort"]


def prepare_for_status_update(new: JsonObject, old: JsonObject) -> JsonObject:
    """A write to /status: the old object with the new status (and nothing else)."""
    updated = clone(old)
    if "status" in new:
        updated["status"] = new["status"]
    else:
        updated.pop("status", None)
    if old.get("kind") == "PersistentVolume":
        stamp_phase_transition(updated, old, timestamp())
    return updated


def pod_grace_period(pod: JsonObject, requested: int | None) -> int:
    """The grace a delete gives a pod, as Kubernetes' pod strategy decides: 0 (delete now) for unscheduled
    or finished pods or an explicit 0; a negative period means 1 second — never a forced delete."""
    spec, status = spec_of(pod), status_of(pod)
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    period = requested if requested is not None else integer(spec.get("terminationGracePeriodSeconds"), default=30)
    return 1 if period < 0 else period


def mark_deleting(obj: JsonObject, grace_seconds: int) -> None:
    """deletionTimestamp and deletionGracePeriodSeconds; a grace beyond a century (any int64 is accepted)
    is dated a century ahead, where Go's time arithmetic would overflow and Python's would fail."""
    metadata = obj["metadata"]
    deadline = now() + timedelta(seconds=min(grace_seconds, LONGEST_DEADLINE_SECONDS))
    existing = parse_time(metadata.get("deletionTimestamp"))
    if existing is None or existing > deadline:
        metadata["deletionTimestamp"] = timestamp(deadline)
    current = metadata.get("deletionGracePeriodSeconds")
    metadata["deletionGracePeriodSeconds"] = grace_seconds if current is None else min(current, grace_seconds)


def ready_to_remove(resource: ResourceKind, obj: JsonObject) -> bool:
    """An object marked for deletion goes once nothing holds it any more."""
    metadata = obj["metadata"]
    if not metadata.get("deletionTimestamp") or metadata.get("finalizers"):
        return False
    if resource.kind == "Namespace":
        return not spec_of(obj).get("finalizers")
    return not metadata.get("deletionGracePeriodSeconds")


def refuse_delete(resource: ResourceKind, name: str) -> str:
    """Why `name` may never be deleted ("" when it may): the system PriorityClasses (their REST storage's Delete)."""
    if resource.kind == "PriorityClass" and name in SYSTEM_CLASS_NAMES:
        return "this is a system priority class and cannot be deleted"
    return ""
