"""A Deployment's pod template as the identity of its ReplicaSets, and their revision bookkeeping.

A Deployment finds "its new ReplicaSet" by comparing pod templates, names it
`<deployment>-<pod-template-hash>`, and labels its pods with that hash so old and new pods
never mix. The comparison must survive round trips: `kubectl rollout undo` sends back an old
ReplicaSet's template with `creationTimestamp: null` and `resources: {}`, so templates are
normalised (nulls, empty maps and empty lists dropped, the hash label ignored) before they
are hashed or compared — otherwise undo would make a new ReplicaSet instead of reusing the
old one. The revision annotations (`revision`, `revision-history`, `desired-replicas`,
`max-replicas`) and the copying of the Deployment's own annotations follow Kubernetes'
deployment util.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from minik8s.api.meta import JsonObject, annotations_of, mapping_at, name_of, namespace_of, spec_of
from minik8s.controllers.common.template_hash import fnv32a, normalised, safe_encode
from minik8s.controllers.common.workload_objects import by_creation, controller_reference
from minik8s.controllers.deployment.spec import DeploymentSpec

log = logging.getLogger(__name__)

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"
MAX_REVISION_HISTORY_CHARS = 2000

# Deployment annotations never copied onto its ReplicaSets (annotationsToSkip).
_NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                         DEPRECATED_ROLLBACK_TO})


# -- template identity ------------------------------------------------------------------------


def template_of(obj: Mapping[str, Any]) -> JsonObject:
    template = spec_of(obj).get("template")
    return copy.deepcopy(dict(template)) if isinstance(template, Mapping) else {}


def _identity(template: Mapping[str, Any]) -> Any:
    """The normalised template without the pod-template-hash label."""
    result = normalised(template)
    if not isinstance(result, dict):
        return {}
    labels = mapping_at(result, "metadata").get("labels")
    if isinstance(labels, dict) and POD_TEMPLATE_HASH_LABEL in labels:
        labels = {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH_LABEL}
        result["metadata"] = {**result["metadata"], "labels": labels}
        result = normalised(result)
    return result


def equal_ignore_hash(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """EqualIgnoreHash over normalised templates."""
    return bool(_identity(first) == _identity(second))


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """controller.ComputeHash: FNV-32a of the normalised template (+ collisionCount), safely encoded."""
    data = orjson.dumps(_identity(template), option=orjson.OPT_SORT_KEYS)
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))


def find_new_replica_set(deployment: Mapping[str, Any], replica_sets: Iterable[JsonObject]) -> JsonObject | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's."""
    template = template_of(deployment)
    for replica_set in sorted(replica_sets, key=by_creation):
        if equal_ignore_hash(template_of(replica_set), template):
            return replica_set
    return None


# -- revisions --------------------------------------------------------------------------------


def revision_of(obj: Mapping[str, Any]) -> int | None:
    """The revision annotation: 0 when absent, None when it is not an integer."""
    value = annotations_of(obj).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def max_revision(replica_sets: Iterable[Mapping[str, Any]]) -> int:
    """MaxRevision: the highest parseable revision (0 if none)."""
    revisions = [revision for rs in replica_sets if (revision := revision_of(rs)) is not None]
    return max(revisions, default=0)


def copy_deployment_annotations(deployment: Mapping[str, Any], annotations: dict[str, str]) -> bool:
    """copyDeploymentAnnotationsToReplicaSet: add/overwrite all but the skipped keys; changed?"""
    changed = False
    for key, value in annotations_of(deployment).items():
        if key in _NOT_COPIED or annotations.get(key) == value:
            continue
        annotations[key] = value
        changed = True
    return changed


def set_replicas_annotations(annotations: dict[str, str], *, desired: int, maximum: int) -> bool:
    """SetReplicasAnnotations: desired-replicas and max-replicas; changed?"""
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def _append_history(annotations: dict[str, str], old_revision: str) -> None:
    """Keep the revisions a reused ReplicaSet served before, within the length limit."""
    history = annotations.get(REVISION_HISTORY, "")
    if not history:
        annotations[REVISION_HISTORY] = old_revision
        return
    revisions = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(revisions):
        total -= len(revisions[start]) + 1
        start += 1
    if total <= MAX_REVISION_HISTORY_CHARS:
        annotations[REVISION_HISTORY] = ",".join([*revisions[start:], old_revision])
    else:
        log.warning("not appending revision %s: history length limit reached", old_revision)


def set_new_replica_set_annotations(
    deployment: Mapping[str, Any], annotations: dict[str, str], *, new_revision: int, exists: bool,
    spec: DeploymentSpec,
) -> bool:
    """SetNewReplicaSetAnnotations: copy annotations, raise the revision (recording history). Changed?"""
    changed = copy_deployment_annotations(deployment, annotations)
    old_text = annotations.get(REVISION)
    try:
        old_revision = int(old_text) if old_text is not None else 0
    except ValueError:
        log.warning("replica set revision %r is not an integer", old_text)
        return False
    if old_revision < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if old_text is not None:
            _append_history(annotations, old_text)
    if not exists and set_replicas_annotations(annotations, desired=spec.replicas, maximum=spec.max_replicas):
        changed = True
    return changed


def new_replica_set(
    deployment: Mapping[str, Any], *, spec: DeploymentSpec, collision_count: int | None, replicas: int,
    new_revision: int,
) -> JsonObject:
    """The new ReplicaSet of the Deployment's template: `<name>-<hash>`, hash in labels and selector."""
    template = template_of(deployment)
    template_hash = pod_template_hash(template, collision_count)
    template_metadata = template.setdefault("metadata", {})
    labels = dict(template_metadata.get("labels") or {})
    labels[POD_TEMPLATE_HASH_LABEL] = template_hash
    template_metadata["labels"] = labels
    selector = copy.deepcopy(dict(spec_of(deployment).get("selector") or {}))
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH_LABEL: template_hash}
    annotations: dict[str, str] = {}
    set_new_replica_set_annotations(deployment, annotations, new_revision=new_revision, exists=False, spec=spec)
    metadata: JsonObject = {
        "name": f"{name_of(deployment)}-{template_hash}",
        "namespace": namespace_of(deployment) or "default",
        "labels": dict(labels),
        "annotations": annotations,
        "ownerReferences": [controller_reference(deployment, api_version="apps/v1", kind="Deployment")],
    }
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": metadata,
        "spec": {"replicas": replicas, "minReadySeconds": spec.min_ready_seconds, "selector": selector,
                 "template": template},
    }
