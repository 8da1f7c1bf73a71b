"""Facts about a DaemonSet's pods, and the pod it makes for a node.

The DaemonSet plan asks the same small questions about pods again and again — is it ready,
available (ready for minReadySeconds), terminal, being deleted, which node is it for, which
revision of the template made it — and builds new pods from the template. Kubernetes' answers
live in podutil and daemon/util; these are the same answers over plain JSON objects.

Revisions: Kubernetes stores each template as a ControllerRevision and labels pods with its
hash. minik8s keeps no ControllerRevision objects: the `controller-revision-hash` label is a
hash of the normalised template itself, which is all the rolling update needs to tell new
pods from old ones.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from minik8s.api.meta import JsonObject, metadata_of, name_of, parse_time
from minik8s.controllers.common.workload_objects import controller_reference
from minik8s.controllers.daemonset.nodes import replace_node_name_affinity, with_daemon_tolerations

REVISION_HASH_LABEL = "controller-revision-hash"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.SafeEncodeString: no vowels, no 0/1/3
_EPOCH = datetime.min.replace(tzinfo=UTC)








def phase_of(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase_of(pod) in ("Succeeded", "Failed")


def ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Kubernetes' IsPodAvailable: ready, and for longer than minReadySeconds."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time((ready_condition(pod) or {}).get("lastTransitionTime"))
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now



def target_node(pod: Mapping[str, Any]) -> str | None:
    """The node a daemon pod is for: spec.nodeName, else its `metadata.name In [node]` affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for field in (term or {}).get("matchFields") or []:
            values = field.get("values") or []
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return None


def age_order(pod: Mapping[str, Any]) -> tuple[int, datetime, str]:
    """Kubernetes' podByCreationTimestampAndPhase: scheduled first, then oldest, then by name."""
    scheduled = 0 if (pod.get("spec") or {}).get("nodeName") else 1
    created = parse_time(metadata_of(pod).get("creationTimestamp")) or _EPOCH
    return scheduled, created, name_of(pod)


def normalised(value: Any) -> Any:
    """Drop nulls and empty maps/lists, so equivalent templates serialise identically."""
    if isinstance(value, Mapping):
        pairs = {str(k): normalised(v) for k, v in value.items()}
        return {k: v for k, v in pairs.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return value


def template_hash(template: Any, collision_count: int = 0) -> str:
    """The `controller-revision-hash` of a pod template: FNV-1a of its normalised JSON, safe-encoded."""
    text = json.dumps(normalised(template), sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += str(collision_count)
    digest = _fnv32a(text.encode())
    return "".join(_SAFE_ALPHABET[ord(digit) % len(_SAFE_ALPHABET)] for digit in str(digest))


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value



def build_daemon_pod(daemon_set: Mapping[str, Any], node_name: str, revision_hash: str) -> JsonObject:
    """The pod the DaemonSet runs on `node_name`: template + revision label + tolerations + node."""
    template = copy.deepcopy((daemon_set.get("spec") or {}).get("template") or {})
    template_metadata = template.get("metadata") or {}
    spec: JsonObject = dict(template.get("spec") or {})
    spec["tolerations"] = with_daemon_tolerations(spec)
    spec["affinity"] = replace_node_name_affinity(spec.get("affinity"), node_name)
    spec["nodeName"] = node_name
    pod_metadata: JsonObject = {
        "generateName": f"{name_of(daemon_set)}-",
        "namespace": metadata_of(daemon_set).get("namespace") or "default",
        "labels": {**(template_metadata.get("labels") or {}), REVISION_HASH_LABEL: revision_hash},
        "ownerReferences": [controller_reference(daemon_set, api_version="apps/v1", kind="DaemonSet")],
    }
    for field in ("annotations", "finalizers"):
        if template_metadata.get(field):
            pod_metadata[field] = template_metadata[field]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata, "spec": spec}

