"""Reading the workload objects (Deployments, ReplicaSets, Pods) the way their controllers need.

The ReplicaSet and Deployment controllers work on plain JSON from informer caches, which may
hold anything a client managed to store. These small readers answer the same questions
everywhere — name, uid, labels, the controller reference, timestamps, integer fields — and
never raise on a missing or oddly typed field, so the plans stay short and a malformed object
degrades to defaults instead of crashing a worker. Ownership (controller references, adopting
orphans, releasing what no longer matches) is Kubernetes' ControllerRefManager over the same
readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from minik8s.api.selectors import LabelSelector, SelectorError, label_selector_from_object

JsonObject = dict[str, Any]

_EPOCH = datetime.min.replace(tzinfo=UTC)


class MalformedObject(Exception):
    """An object a controller cannot act on (bad selector, bad rolling-update value, ...)."""


# -- metadata ---------------------------------------------------------------------------------


def metadata_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, Mapping) else {}


def status_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, Mapping) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("namespace") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("uid") or "")


def key_of(obj: Mapping[str, Any]) -> str:
    """`namespace/name`, the work-queue key."""
    return f"{namespace_of(obj)}/{name_of(obj)}"


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return str(metadata_of(obj).get("resourceVersion") or "")


def generation_of(obj: Mapping[str, Any]) -> int:
    return integer(metadata_of(obj).get("generation"), default=0)


def string_map(value: Any) -> dict[str, str]:
    """A map of strings (labels, annotations); anything else reads as empty."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return string_map(metadata_of(obj).get("labels"))


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return string_map(metadata_of(obj).get("annotations"))


def is_deleting(obj: Mapping[str, Any]) -> bool:
    return bool(metadata_of(obj).get("deletionTimestamp"))


def integer(value: Any, *, default: int) -> int:
    """An integer field; booleans, strings and floats read as `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# -- time -------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """Kubernetes' metav1.Time rendering: seconds, UTC, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_at(obj: Mapping[str, Any]) -> datetime:
    """creationTimestamp, or the distant past when missing (sorts first, as a zero time does)."""
    return parse_time(metadata_of(obj).get("creationTimestamp")) or _EPOCH


def by_creation(obj: Mapping[str, Any]) -> tuple[datetime, str]:
    """Kubernetes' ReplicaSetsByCreationTimestamp order: oldest first, then by name."""
    return created_at(obj), name_of(obj)


# -- selectors --------------------------------------------------------------------------------


def selector_of(obj: Mapping[str, Any]) -> LabelSelector:
    """`spec.selector` as a LabelSelector; a malformed one raises MalformedObject."""
    raw = spec_of(obj).get("selector")
    try:
        return label_selector_from_object(raw if isinstance(raw, Mapping) else None)
    except SelectorError as error:
        raise MalformedObject(f"invalid label selector: {error}") from error


# -- ownership --------------------------------------------------------------------------------


def controller_ref_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with `controller: true`, if any."""
    for reference in metadata_of(obj).get("ownerReferences") or []:
        if isinstance(reference, Mapping) and reference.get("controller") is True:
            return reference
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    reference = controller_ref_of(obj)
    return reference is not None and str(reference.get("uid") or "") == uid_of(owner)


class OwnerCache(Protocol):
    """What the owner lookups read: an informer's cache of one kind, keyed `namespace/name`."""

    def get(self, key: str) -> JsonObject | None: ...

    def list(self) -> list[JsonObject]: ...


def resolve_controller_ref(owners: OwnerCache, obj: Mapping[str, Any], *, kind: str) -> JsonObject | None:
    """resolveControllerRef: the cached owner of `kind` that `obj`'s controller reference names, if
    its uid still matches (a deleted and re-created owner of the same name is someone else)."""
    reference = controller_ref_of(obj)
    if reference is None or reference.get("kind") != kind:
        return None
    owner = owners.get(f"{namespace_of(obj)}/{reference.get('name', '')}")
    if owner is None or uid_of(owner) != str(reference.get("uid") or ""):
        return None
    return owner


def owners_selecting(owners: OwnerCache, obj: Mapping[str, Any]) -> list[JsonObject]:
    """The cached owners in `obj`'s namespace whose non-empty, well-formed selector matches its
    labels: who may adopt an orphan."""
    matching = []
    for owner in owners.list():
        if namespace_of(owner) != namespace_of(obj):
            continue
        try:
            selector = selector_of(owner)
        except MalformedObject:
            continue
        if not selector.is_empty() and selector.matches(labels_of(obj)):
            matching.append(owner)
    return matching


def controller_reference(owner: Mapping[str, Any], *, api_version: str, kind: str) -> JsonObject:
    """metav1.NewControllerRef: the reference a controller puts on what it owns."""
    return {
        "apiVersion": api_version, "kind": kind, "name": name_of(owner), "uid": uid_of(owner),
        "controller": True, "blockOwnerDeletion": True,
    }


def adoption_patch(obj: Mapping[str, Any], reference: Mapping[str, Any]) -> JsonObject:
    """Strategic-merge patch adding a controller reference (merged by uid), guarded by the object's uid."""
    return {"metadata": {"ownerReferences": [dict(reference)], "uid": uid_of(obj)}}


def release_patch(obj: Mapping[str, Any], owner_uid: str) -> JsonObject:
    """Strategic-merge patch removing the owner's reference, guarded by the object's uid."""
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": uid_of(obj)}}


@dataclass
class Claim:
    """What a controller owns among candidates, and which ownership changes that takes."""

    owned: list[JsonObject] = field(default_factory=list)  # already ours and matching
    adopt: list[JsonObject] = field(default_factory=list)  # orphans that match: patch, then ours
    release: list[JsonObject] = field(default_factory=list)  # ours but no longer matching


def claim(owner: Mapping[str, Any], selector: LabelSelector, candidates: Iterable[JsonObject]) -> Claim:
    """Kubernetes' ControllerRefManager.Claim* decision, without the writes.

    Objects controlled by someone else are ignored. Ours that stopped matching are released
    (unless the owner is being deleted); orphans that match are adopted unless either side is
    being deleted.
    """
    result = Claim()
    owner_uid, owner_deleting = uid_of(owner), is_deleting(owner)
    for candidate in candidates:
        reference = controller_ref_of(candidate)
        matches = selector.matches(labels_of(candidate))
        if reference is not None:
            if str(reference.get("uid") or "") != owner_uid:
                continue
            if matches:
                result.owned.append(candidate)
            elif not owner_deleting:
                result.release.append(candidate)
        elif matches and not owner_deleting and not is_deleting(candidate):
            result.adopt.append(candidate)
    return result
