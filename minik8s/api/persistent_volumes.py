"""What PersistentVolumes, claims and StorageClasses mean, read one way by every component.

The binder controller, the local-path provisioner, the scheduler's volume binding, the node agent,
admission and the printers all ask these objects the same questions: which class does a claim ask
for, is this volume bound to that claim, may it serve it (capacity, access modes, volume mode,
selector), which class is the default, does a claim wait for its first consumer. Kubernetes answers
them once too, in component-helpers/storage/volume (pv_helpers.go, helpers.go) and the storage
util packages; this module is their port over plain JSON, with their annotation names. Nothing here
raises on a malformed object: a field of the wrong type reads as absent (validation refused it).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from minik8s.api.meta import (
    annotations_of,
    is_deleting,
    labels_of,
    metadata_of,
    name_of,
    namespace_of,
    uid_of,
)
from minik8s.api.resource_lists import Quantity
from minik8s.api.selectors import SelectorError, label_selector_from_object

# Annotations of the PV controller, the scheduler's volume binding and external provisioners.
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"

# The provisioner built into minik8s (a directory per volume on the node: rancher's local-path-provisioner).
LOCAL_PATH_PROVISIONER = "minik8s.io/local-path"
# The node a local-path volume lives on, as a label: its agent lists (and cleans up) only its own volumes.
LOCAL_PATH_NODE_LABEL = "minik8s.io/local-path-node"
# Where a node keeps its local-path volumes (its agent's data directory + /volumes), published on its Node.
LOCAL_PATH_DIR_ANNOTATION = "minik8s.io/local-path-dir"
HOSTNAME_LABEL = "kubernetes.io/hostname"

READ_WRITE_ONCE, READ_ONLY_MANY, READ_WRITE_MANY, READ_WRITE_ONCE_POD = (
    "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
ACCESS_MODES = (READ_WRITE_ONCE, READ_ONLY_MANY, READ_WRITE_MANY, READ_WRITE_ONCE_POD)
_ACCESS_MODE_SHORT = {READ_WRITE_ONCE: "RWO", READ_ONLY_MANY: "ROX", READ_WRITE_MANY: "RWX",
                      READ_WRITE_ONCE_POD: "RWOP"}
FILESYSTEM = "Filesystem"
IMMEDIATE, WAIT_FOR_FIRST_CONSUMER = "Immediate", "WaitForFirstConsumer"
RETAIN, DELETE, RECYCLE = "Retain", "Delete", "Recycle"
# Phases of volumes and claims.
PENDING, AVAILABLE, BOUND, RELEASED, FAILED, LOST = "Pending", "Available", "Bound", "Released", "Failed", "Lost"


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def phase_of(obj: Mapping[str, Any]) -> str:
    return _text(_status(obj).get("phase"))


def claim_class(claim: Mapping[str, Any]) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation first, then spec.storageClassName, else ""."""
    annotations = annotations_of(claim)
    if ANN_BETA_STORAGE_CLASS in annotations:
        return _text(annotations[ANN_BETA_STORAGE_CLASS])
    return _text(_spec(claim).get("storageClassName"))


def claim_has_class(claim: Mapping[str, Any]) -> bool:
    """PersistentVolumeClaimHasClass: a class named, even "" (which asks for no class at all)."""
    return ANN_BETA_STORAGE_CLASS in annotations_of(claim) or _spec(claim).get("storageClassName") is not None


def volume_class(volume: Mapping[str, Any]) -> str:
    """GetPersistentVolumeClass: the beta annotation first, then spec.storageClassName."""
    annotations = annotations_of(volume)
    if ANN_BETA_STORAGE_CLASS in annotations:
        return _text(annotations[ANN_BETA_STORAGE_CLASS])
    return _text(_spec(volume).get("storageClassName"))


def access_modes(value: Any) -> list[str]:
    return [mode for mode in value if isinstance(mode, str)] if isinstance(value, list) else []


def access_modes_text(value: Any) -> str:
    """GetAccessModesAsString: `RWO,ROX,RWX,RWOP` in that order, each once."""
    modes = set(access_modes(value))
    return ",".join(short for mode, short in _ACCESS_MODE_SHORT.items() if mode in modes)


def quantity(value: Any) -> Quantity | None:
    try:
        return Quantity.parse(value) if value is not None else None
    except ValueError:
        return None


def requested_storage(claim: Mapping[str, Any]) -> Quantity | None:
    resources = _spec(claim).get("resources")
    requests = resources.get("requests") if isinstance(resources, Mapping) else None
    return quantity(requests.get("storage")) if isinstance(requests, Mapping) else None


def volume_capacity(volume: Mapping[str, Any]) -> Quantity | None:
    capacity = _spec(volume).get("capacity")
    return quantity(capacity.get("storage")) if isinstance(capacity, Mapping) else None


def claim_ref(volume: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ref = _spec(volume).get("claimRef")
    return ref if isinstance(ref, Mapping) else None


def claim_key_of_volume(volume: Mapping[str, Any]) -> str:
    """`namespace/name` of the claim a volume's claimRef names, "" when it names none."""
    ref = claim_ref(volume)
    return f"{_text(ref.get('namespace'))}/{_text(ref.get('name'))}" if ref else ""


def reference_to_claim(claim: Mapping[str, Any]) -> dict[str, Any]:
    """The claimRef a volume bound to `claim` carries (GetReference)."""
    return {"kind": "PersistentVolumeClaim", "namespace": namespace_of(claim), "name": name_of(claim),
            "uid": uid_of(claim), "apiVersion": "v1",
            "resourceVersion": _text(metadata_of(claim).get("resourceVersion"))}


def volume_bound_to_claim(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> dict[str, Any] | None:
    """GetBindVolumeToClaim: a copy of the volume whose claimRef names the claim (marked bound-by-controller
    unless it named it already), or None when the volume says so already."""
    ref = claim_ref(volume) or {}
    edited = copy.deepcopy(dict(volume))
    if (ref.get("name"), ref.get("namespace"), ref.get("uid")) != (name_of(claim), namespace_of(claim), uid_of(claim)):
        edited.setdefault("spec", {})["claimRef"] = reference_to_claim(claim)
    if not is_volume_bound_to_claim(volume, claim):
        metadata = edited.setdefault("metadata", {})
        if not isinstance(metadata.get("annotations"), dict):
            metadata["annotations"] = {}
        metadata["annotations"].setdefault(ANN_BOUND_BY_CONTROLLER, "yes")
    return None if edited == volume else edited


def is_volume_bound_to_claim(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """IsVolumeBoundToClaim: the claimRef names the claim, and its uid (when it has one) is the claim's."""
    ref = claim_ref(volume)
    if ref is None or _text(ref.get("name")) != name_of(claim) or _text(ref.get("namespace")) != namespace_of(claim):
        return False
    return not _text(ref.get("uid")) or _text(ref.get("uid")) == uid_of(claim)


def volume_mode(spec: Mapping[str, Any]) -> str:
    return _text(spec.get("volumeMode")) or FILESYSTEM


def volume_mode_mismatch(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    return volume_mode(_spec(claim)) != volume_mode(_spec(volume))


def access_modes_satisfied(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    """CheckAccessModes: the volume offers every mode the claim asks for."""
    offered = set(access_modes(_spec(volume).get("accessModes")))
    return all(mode in offered for mode in access_modes(_spec(claim).get("accessModes")))


def is_default_class(storage_class: Mapping[str, Any]) -> bool:
    """IsDefaultAnnotation: `storageclass.kubernetes.io/is-default-class: "true"` (or the beta one)."""
    annotations = annotations_of(storage_class)
    return annotations.get(DEFAULT_CLASS_ANNOTATION) == "true" or annotations.get(BETA_DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """GetDefaultClass: of several default classes the newest wins (ties: the name first in order)."""
    defaults = [storage_class for storage_class in classes if is_default_class(storage_class)]
    if not defaults:
        return None
    defaults.sort(key=lambda c: (_text(metadata_of(c).get("creationTimestamp")), name_of(c)), reverse=True)
    newest = _text(metadata_of(defaults[0]).get("creationTimestamp"))
    tied = [c for c in defaults if _text(metadata_of(c).get("creationTimestamp")) == newest]
    return min(tied, key=name_of)


def binding_mode(storage_class: Mapping[str, Any] | None) -> str:
    return _text((storage_class or {}).get("volumeBindingMode")) or IMMEDIATE


def is_delay_binding(claim: Mapping[str, Any], classes: Mapping[str, Mapping[str, Any]]) -> bool:
    """IsDelayBindingMode: the claim's class exists and waits for the first consumer."""
    name = claim_class(claim)
    return bool(name) and name in classes and binding_mode(classes[name]) == WAIT_FOR_FIRST_CONSUMER


def selected_node(claim: Mapping[str, Any]) -> str | None:
    annotations = annotations_of(claim)
    return _text(annotations[ANN_SELECTED_NODE]) if ANN_SELECTED_NODE in annotations else None


def is_fully_bound(claim: Mapping[str, Any]) -> bool:
    """isPVCFullyBound: the claim names its volume and the controller completed the binding."""
    return bool(_text(_spec(claim).get("volumeName"))) and ANN_BIND_COMPLETED in annotations_of(claim)


def provisioned_by(volume: Mapping[str, Any]) -> str:
    return _text(annotations_of(volume).get(ANN_PROVISIONED_BY))


def claim_names(pod: Mapping[str, Any]) -> list[str]:
    """The claims a pod's `persistentVolumeClaim` volumes name, in volume order."""
    volumes = _spec(pod).get("volumes")
    names = []
    for volume in volumes if isinstance(volumes, list) else []:
        source = volume.get("persistentVolumeClaim") if isinstance(volume, Mapping) else None
        if isinstance(source, Mapping) and _text(source.get("claimName")):
            names.append(_text(source["claimName"]))
    return names


def _matches_selector(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    selector = _spec(claim).get("selector")
    if selector is None:
        return True
    try:
        return label_selector_from_object(selector).matches(labels_of(volume))
    except SelectorError:
        return False


def _may_serve(claim: Mapping[str, Any], volume: Mapping[str, Any], requested: Quantity) -> bool:
    """The checks FindMatchingVolume makes of every volume before its binding ones."""
    capacity = volume_capacity(volume)
    return (capacity is not None and capacity.value >= requested.value
            and not volume_mode_mismatch(claim, volume) and not is_deleting(volume))


def find_matching_volume(claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]], *, delay_binding: bool,
                         node_fits: Any = None, excluded: Collection[str] = ()) -> Mapping[str, Any] | None:
    """FindMatchingVolume: a volume pre-bound to the claim, else the smallest Available one that fits.

    `node_fits(volume) -> bool` is given on the scheduler's path (the volume's node affinity against one
    node, and the access modes are checked there); the PV controller passes none and skips unbound
    volumes for claims that wait for their first consumer."""
    requested = requested_storage(claim) or Quantity.of(0)
    wanted_class = claim_class(claim)
    smallest: Mapping[str, Any] | None = None
    for volume in volumes:
        if name_of(volume) in excluded or (claim_ref(volume) is not None
                                           and not is_volume_bound_to_claim(volume, claim)):
            continue
        if not _may_serve(claim, volume, requested):
            continue
        fits_node = node_fits is None or bool(node_fits(volume))
        if is_volume_bound_to_claim(volume, claim):
            return volume if fits_node else None
        if node_fits is None and delay_binding:
            continue
        if phase_of(volume) != AVAILABLE or not _matches_selector(claim, volume) or volume_class(volume) != wanted_class:
            continue
        if not fits_node or (node_fits is not None and not access_modes_satisfied(claim, volume)):
            continue
        if smallest is None or (volume_capacity(smallest) or requested).value > (volume_capacity(volume) or requested).value:
            smallest = volume
    return smallest


def best_match_for_claim(claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]], *,
                         delay_binding: bool) -> Mapping[str, Any] | None:
    """findBestMatchForClaim: volumes offering every mode the claim asks for, those with the fewest modes first."""
    wanted = set(access_modes(_spec(claim).get("accessModes")))
    by_modes: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for volume in volumes:
        modes = frozenset(access_modes(_spec(volume).get("accessModes")))
        if wanted <= modes:
            by_modes.setdefault(modes, []).append(volume)
    for modes in sorted(by_modes, key=lambda found: (len(found), sorted(found))):
        match = find_matching_volume(claim, by_modes[modes], delay_binding=delay_binding)
        if match is not None:
            return match
    return None


def unsatisfied_reason(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> str | None:
    """checkVolumeSatisfyClaim: why a volume a claim names cannot serve it, or None."""
    if is_deleting(volume):
        return f'the volume is marked for deletion "{name_of(volume)}"'
    capacity, requested = volume_capacity(volume), requested_storage(claim) or Quantity.of(0)
    if capacity is None or capacity.value < requested.value:
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if volume_mode_mismatch(claim, volume):
        return "incompatible volumeMode"
    if not access_modes_satisfied(claim, volume):
        return "incompatible accessMode"
    return None


def _requirement_holds(requirement: Mapping[str, Any], value: str | None) -> bool:
    operator, values = requirement.get("operator"), requirement.get("values") or []
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def _term_holds(term: Any, labels: Mapping[str, str], node_name: str) -> bool:
    if not isinstance(term, Mapping):
        return False
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, Mapping)]
    fields = [f for f in term.get("matchFields") or [] if isinstance(f, Mapping)]
    if not expressions and not fields:
        return False  # an empty term matches no node
    return (all(_requirement_holds(e, labels.get(str(e.get("key")))) for e in expressions)
            and all(f.get("key") == "metadata.name" and _requirement_holds(f, node_name) for f in fields))


def volume_accepts_node(volume: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    """CheckNodeAffinity: the volume's required node affinity (any term) holds for the node; none: every node."""
    affinity = _spec(volume).get("nodeAffinity")
    required = affinity.get("required") if isinstance(affinity, Mapping) else None
    if not isinstance(required, Mapping):
        return True
    return any(_term_holds(term, labels, node_name) for term in required.get("nodeSelectorTerms") or [])
