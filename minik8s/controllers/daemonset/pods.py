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
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, metadata_of, name_of, namespace_of, spec_of
from minik8s.controllers.common.pods import node_name_of
from minik8s.controllers.common.template_hash import fnv32a, normalised, safe_encode
from minik8s.controllers.common.workload_objects import controller_reference, created_at
from minik8s.controllers.daemonset.nodes import (
    replace_node_name_affinity,
    required_node_affinity,
    with_daemon_tolerations,
)

REVISION_HASH_LABEL = "controller-revision-hash"


def target_node(pod: Mapping[str, Any]) -> str | None:
    """The node a daemon pod is for: spec.nodeName, else its `metadata.name In [node]` affinity."""
    spec = spec_of(pod)
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = required_node_affinity(spec) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in (term or {}).get("matchFields") or []:
            values = field.get("values") or []
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return None


def age_order(pod: Mapping[str, Any]) -> tuple[int, datetime, str]:
    """Kubernetes' podByCreationTimestampAndPhase: scheduled first, then oldest, then by name."""
    return 0 if node_name_of(pod) else 1, created_at(pod), name_of(pod)


def template_hash(template: Any, collision_count: int = 0) -> str:
    """The `controller-revision-hash` of a pod template: FNV-1a of its normalised JSON, safe-encoded."""
    text = json.dumps(normalised(template, drop_null_items=False), sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += str(collision_count)
    return safe_encode(str(fnv32a(text.encode())))


def build_daemon_pod(daemon_set: Mapping[str, Any], node_name: str, revision_hash: str) -> JsonObject:
    """The pod the DaemonSet runs on `node_name`: template + revision label + tolerations + node."""
    template = copy.deepcopy(spec_of(daemon_set).get("template") or {})
    template_metadata = metadata_of(template)
    spec: JsonObject = dict(spec_of(template))
    spec["tolerations"] = with_daemon_tolerations(spec)
    spec["affinity"] = replace_node_name_affinity(spec.get("affinity"), node_name)
    spec["nodeName"] = node_name
    pod_metadata: JsonObject = {
        "generateName": f"{name_of(daemon_set)}-",
        "namespace": namespace_of(daemon_set) or "default",
        "labels": {**(template_metadata.get("labels") or {}), REVISION_HASH_LABEL: revision_hash},
        "ownerReferences": [controller_reference(daemon_set, api_version="apps/v1", kind="DaemonSet")],
    }
    for field in ("annotations", "finalizers"):
        if template_metadata.get(field):
            pod_metadata[field] = template_metadata[field]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata, "spec": spec}

