"""A StatefulSet's history: ControllerRevisions, the current and update revisions, and what to forget.

Kubernetes keeps every template a StatefulSet has run as an `apps/v1` ControllerRevision owned by
the set: `data` is the strategic merge patch that restores the template (`{"spec": {"template":
{…, "$patch": "replace"}}}` — what `kubectl rollout undo` sends back), `revision` its number, and
its name `<set>-<hash>` is the `controller-revision-hash` label of the pods made from it. The
status names two of them: `currentRevision` (the pods below the partition) and `updateRevision`
(the live template). Going back to an old template reuses its revision with a new number, as
`kubectl rollout history` shows. These are pkg/controller/history and the revision half of
stateful_set_control.go as pure decisions; the controller makes the writes they name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import (
    JsonObject,
    annotations_of,
    controller_ref_of,
    labels_of,
    mapping_at,
    metadata_of,
    name_of,
    namespace_of,
    spec_of,
    status_of,
)
from minik8s.controllers.common.template_hash import safe_encode
from minik8s.controllers.common.workload_objects import controller_reference, created_at
from minik8s.controllers.statefulset.identity import API_VERSION, KIND, revision_of_pod

HASH_LABEL = "controller.kubernetes.io/hash"
_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193
_NAME_PREFIX_LIMIT = 223


def fnv32(data: bytes) -> int:
    """32-bit FNV-1 (multiply, then xor), the hash Kubernetes' history package uses (hash/fnv New32)."""
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value * _FNV32_PRIME) & 0xFFFFFFFF) ^ byte
    return value


def revision_data(stateful_set: Mapping[str, Any]) -> JsonObject:
    """getPatch: the strategic merge patch that puts this set's template back."""
    template = copy.deepcopy(dict(mapping_at(spec_of(stateful_set), "template")))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def apply_revision(stateful_set: Mapping[str, Any], revision: Mapping[str, Any]) -> JsonObject:
    """ApplyRevision: the set with the revision's template in place of its own."""
    restored = copy.deepcopy(dict(stateful_set))
    template = dict(mapping_at(mapping_at(revision.get("data") or {}, "spec"), "template"))
    template.pop("$patch", None)
    restored.setdefault("spec", {})["template"] = copy.deepcopy(template)
    return restored


def revision_hash(data: Any, collision_count: int) -> str:
    """HashControllerRevision: FNV-1 over the data and the collision count, safe-encoded."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode() + str(collision_count).encode()
    return safe_encode(str(fnv32(encoded)))


def new_revision(stateful_set: Mapping[str, Any], number: int, collision_count: int) -> JsonObject:
    """newRevision: the ControllerRevision of the set's template, numbered `number`, named `<set>-<hash>`."""
    data = revision_data(stateful_set)
    digest = revision_hash(data, collision_count)
    labels = dict(labels_of(mapping_at(spec_of(stateful_set), "template")))
    labels[HASH_LABEL] = digest
    metadata: JsonObject = {
        "name": f"{name_of(stateful_set)[:_NAME_PREFIX_LIMIT]}-{digest}",
        "namespace": namespace_of(stateful_set) or "default", "labels": labels,
        "ownerReferences": [controller_reference(stateful_set, api_version=API_VERSION, kind=KIND)],
    }
    if annotations_of(stateful_set):
        metadata["annotations"] = dict(annotations_of(stateful_set))
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": metadata, "data": data,
            "revision": number}


def renamed(revision: JsonObject, stateful_set: Mapping[str, Any], collision_count: int) -> JsonObject:
    """The same revision under the name a higher collision count gives (after a name clash)."""
    digest = revision_hash(revision.get("data"), collision_count)
    updated = copy.deepcopy(revision)
    updated["metadata"]["name"] = f"{name_of(stateful_set)[:_NAME_PREFIX_LIMIT]}-{digest}"
    return updated


def number_of(revision: Mapping[str, Any]) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def sorted_revisions(revisions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """SortControllerRevisions: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (number_of(r), created_at(r), name_of(r)))


def equal_revisions(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """EqualRevision: the same data (the hash label only ever rules equality out, and is derived from it)."""
    return bool(left.get("data") == right.get("data"))


def next_number(revisions: Sequence[Mapping[str, Any]]) -> int:
    """nextRevision: one more than the highest number, 1 for the first."""
    return max((number_of(r) for r in revisions), default=0) + 1


def owned_or_orphaned(stateful_set: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """ListControllerRevisions: the set's namespace's revisions it controls, or that nobody controls
    (to adopt); the caller has filtered them by the set's selector."""
    mine = []
    for revision in revisions:
        if namespace_of(revision) != namespace_of(stateful_set):
            continue
        reference = controller_ref_of(revision)
        if reference is None or reference.get("uid") == metadata_of(stateful_set).get("uid"):
            mine.append(revision)
    return mine


@dataclass(frozen=True)
class RevisionChoice:
    """How to get the update revision: `use` an existing one, `renumber` it (a rollback), or `create` it."""

    action: str  # "use", "renumber" or "create"
    revision: JsonObject  # the existing revision (use, renumber) or the new one (create)
    number: int = 0  # renumber: its new number


def choose_update_revision(stateful_set: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> RevisionChoice:
    """getStatefulSetRevisions: the live template's revision among `revisions` (sorted), or a new one."""
    collision_count = int(status_of(stateful_set).get("collisionCount") or 0)
    candidate = new_revision(stateful_set, next_number(revisions), collision_count)
    equal = [r for r in revisions if equal_revisions(r, candidate)]
    if equal and equal_revisions(revisions[-1], candidate):
        return RevisionChoice("use", dict(revisions[-1]))
    if equal:
        return RevisionChoice("renumber", dict(equal[-1]), number_of(candidate))
    return RevisionChoice("create", candidate)


def current_revision(stateful_set: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]],
                     update: Mapping[str, Any]) -> Mapping[str, Any]:
    """The revision `status.currentRevision` names; the update revision when there is none yet."""
    wanted = status_of(stateful_set).get("currentRevision")
    return next((r for r in revisions if name_of(r) == wanted), update)


def revisions_to_forget(stateful_set: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]],
                        pods: Sequence[Mapping[str, Any]], live: Sequence[str]) -> list[str]:
    """truncateHistory: the oldest revisions no pod runs, beyond `revisionHistoryLimit` (a negative limit
    keeps them all); `live` names the current and update revisions, never forgotten."""
    limit = spec_of(stateful_set).get("revisionHistoryLimit")
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else 10
    in_use = set(live) | {revision_of_pod(pod) for pod in pods}
    history = [name_of(r) for r in sorted_revisions(revisions) if name_of(r) not in in_use]
    if limit < 0 or len(history) <= limit:
        return []
    return history[:len(history) - limit]
