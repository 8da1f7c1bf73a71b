"""Validation of PersistentVolumes and PersistentVolumeClaims, and of what an update may change.

Kubernetes' ValidatePersistentVolume(Update) and ValidatePersistentVolumeClaim(Update)
(pkg/apis/core/validation): access modes (ReadWriteOncePod alone), a positive `storage` capacity or
request, a known reclaim policy and volume mode, exactly one volume source, node affinity (required
for a `local` volume), a claim's label selector; a volume's source, mode and node affinity never
change, and a claim's spec changes only to name its volume once, to gain a class it had none of, or
(bound) in its storage request.

minik8s's node agent can only bind-mount a directory of its node, so a volume is `hostPath` or
`local`; every other source, `Block` volumes, `Recycle`, mount options, claims cloned from a data
source and VolumeAttributesClasses are refused with a clear message rather than accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minik8s.api.field_errors import FieldError, join_key, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.formats import check_dns1123_subdomain
from minik8s.api.meta_validation import (
    IMMUTABLE_MESSAGE,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from minik8s.api.persistent_volumes import (
    ACCESS_MODES,
    BOUND,
    DELETE,
    FILESYSTEM,
    READ_WRITE_ONCE_POD,
    RECYCLE,
    RETAIN,
)
from minik8s.api.policy_validation import quantities
from minik8s.api.storage_class_validation import (
    not_supported_by_minik8s,
    validate_node_selector,
)

RECLAIM_POLICIES = (DELETE, RECYCLE, RETAIN)
VOLUME_MODES = ("Block", FILESYSTEM)
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                   "Socket")
SUPPORTED_SOURCES = ("hostPath", "local")
# Every PersistentVolumeSource of the v1 API.
KNOWN_SOURCES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker", "nfs", "rbd",
                 "quobyte", "cephfs", "iscsi", "cinder", "fc", "flexVolume", "azureFile", "vsphereVolume",
                 "photonPersistentDisk", "portworxVolume", "azureDisk", "scaleIO", "local", "storageos", "csi")
NOT_POSITIVE = "must be greater than zero"
CLAIM_IMMUTABLE = "spec is immutable after creation except resources.requests and volumeAttributesClassName for " \
                  "bound claims"
ONLY_NODE_DIRECTORIES = "its node agent mounts only directories of its node (hostPath, local)"


def _validate_access_modes(reader: FieldReader, spec: Mapping[str, Any], path: str, required_detail: str) -> None:
    modes = [mode for _, mode in reader.strings(spec, "accessModes", path)]
    modes_path = join_path(path, "accessModes")
    if not modes:
        reader.add(FieldError.required(modes_path, required_detail))
    for mode in modes:
        if mode not in ACCESS_MODES:
            reader.add(FieldError.not_supported(modes_path, mode, sorted(ACCESS_MODES)))
    if READ_WRITE_ONCE_POD in modes and any(mode != READ_WRITE_ONCE_POD and mode in ACCESS_MODES for mode in modes):
        reader.add(FieldError.forbidden(modes_path, "may not use ReadWriteOncePod with other access modes"))


def _validate_volume_mode(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    mode = reader.optional_string(spec, "volumeMode", path)
    mode_path = join_path(path, "volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        reader.add(FieldError.not_supported(mode_path, mode, VOLUME_MODES))
    elif mode == "Block":
        reader.add(not_supported_by_minik8s(mode_path, mode, "it has no block volumes"))


def _validate_class_name(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    name = reader.string(spec, "storageClassName", path)
    if name:
        reader.extend(FieldError.invalid(join_path(path, "storageClassName"), name, problem)
                      for problem in check_dns1123_subdomain(name))


def _validate_positive(reader: FieldReader, amounts: Mapping[str, Any], path: str) -> None:
    for name, amount in amounts.items():
        if amount.value <= 0:
            reader.add(FieldError.invalid(join_key(path, name), str(amount), NOT_POSITIVE))


# -- PersistentVolume --------------------------------------------------------------------------------


def validate_persistent_volume(reader: FieldReader, volume: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, volume, "PersistentVolume")
    spec = reader.mapping(volume, "spec", "")
    _validate_access_modes(reader, spec, "spec", "")
    _validate_capacity(reader, spec)
    policy = reader.string(spec, "persistentVolumeReclaimPolicy", "spec")
    policy_path = "spec.persistentVolumeReclaimPolicy"
    if policy and policy not in RECLAIM_POLICIES:
        reader.add(FieldError.not_supported(policy_path, policy, RECLAIM_POLICIES))
    elif policy == RECYCLE:
        reader.add(not_supported_by_minik8s(policy_path, policy, "it recycles no volume (Recycle is deprecated: "
                                                                  "use Delete and dynamic provisioning)"))
    affinity = reader.optional_mapping(spec, "nodeAffinity", "spec")
    if affinity is not None:
        required = reader.optional_mapping(affinity, "required", "spec.nodeAffinity")
        if required is None:
            reader.add(FieldError.required("spec.nodeAffinity.required", "must specify required node constraints"))
        else:
            validate_node_selector(reader, required, "spec.nodeAffinity.required")
    _validate_source(reader, spec, has_node_affinity=affinity is not None)
    _validate_class_name(reader, spec, "spec")
    _validate_volume_mode(reader, spec, "spec")
    reader.mapping(spec, "claimRef", "spec")
    options = reader.strings(spec, "mountOptions", "spec")
    if options:
        reader.add(FieldError.forbidden("spec.mountOptions", "may not specify mount options for this volume type"))
    if reader.string(spec, "volumeAttributesClassName", "spec"):
        reader.add(not_supported_by_minik8s("spec.volumeAttributesClassName", spec["volumeAttributesClassName"],
                                            "it has no VolumeAttributesClasses"))
    if old is not None:
        _validate_volume_update(reader, volume, old)


def _validate_capacity(reader: FieldReader, spec: Mapping[str, Any]) -> None:
    capacity = reader.mapping(spec, "capacity", "spec")
    if not capacity:
        reader.add(FieldError.required("spec.capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        reader.add(FieldError.not_supported("spec.capacity", dict(capacity), ("storage",)))
    _validate_positive(reader, quantities(reader, spec, "capacity", "spec"), "spec.capacity")


def _validate_source(reader: FieldReader, spec: Mapping[str, Any], *, has_node_affinity: bool) -> None:
    sources = [source for source in KNOWN_SOURCES if spec.get(source) is not None]
    if not sources:
        reader.add(FieldError.required("spec", "must specify a volume type"))
    for extra in sources[1:]:
        reader.add(FieldError.forbidden(join_path("spec", extra), "may not specify more than 1 volume type"))
    if not sources:
        return
    source = sources[0]
    source_path = join_path("spec", source)
    if source not in SUPPORTED_SOURCES:
        reader.add(not_supported_by_minik8s(source_path, source, ONLY_NODE_DIRECTORIES))
        return
    settings = reader.mapping(spec, source, "spec")
    path = reader.string(settings, "path", source_path)
    if not path:
        reader.add(FieldError.required(join_path(source_path, "path")))
    elif ".." in path.split("/"):
        reader.add(FieldError.invalid(join_path(source_path, "path"), path, "must not contain '..'"))
    if source == "hostPath":
        host_path_type = reader.optional_string(settings, "type", source_path)
        if host_path_type is not None and host_path_type not in HOST_PATH_TYPES:
            reader.add(FieldError.not_supported(join_path(source_path, "type"), host_path_type, HOST_PATH_TYPES))
    else:
        reader.optional_string(settings, "fsType", source_path)
        if not has_node_affinity:
            reader.add(FieldError.required("spec.nodeAffinity", "Local volume requires node affinity"))


def _validate_volume_update(reader: FieldReader, volume: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    validate_object_meta_update(reader, volume, old)
    spec, old_spec = reader.mapping(volume, "spec", ""), old.get("spec") or {}
    if any(spec.get(source) != old_spec.get(source) for source in KNOWN_SOURCES):
        reader.add(FieldError.forbidden("spec.persistentvolumesource",
                                        "spec.persistentvolumesource is immutable after creation"))
    if spec.get("volumeMode") != old_spec.get("volumeMode"):
        reader.add(FieldError.invalid("volumeMode", spec.get("volumeMode"), IMMUTABLE_MESSAGE))
    if old_spec.get("nodeAffinity") is not None and spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
        reader.add(FieldError.invalid("nodeAffinity", spec.get("nodeAffinity"), IMMUTABLE_MESSAGE))


# -- PersistentVolumeClaim ---------------------------------------------------------------------------


def validate_persistent_volume_claim(reader: FieldReader, claim: Mapping[str, Any],
                                     old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, claim, "PersistentVolumeClaim")
    validate_claim_spec(reader, reader.mapping(claim, "spec", ""), "spec")
    if old is not None:
        _validate_claim_update(reader, claim, old)


def validate_claim_spec(reader: FieldReader, spec: Mapping[str, Any], path: str) -> None:
    """ValidatePersistentVolumeClaimSpec, shared with claim templates (StatefulSets)."""
    _validate_access_modes(reader, spec, path, "at least 1 access mode is required")
    validate_label_selector(reader, spec, "selector", path)
    resources_path = join_path(path, "resources")
    resources = reader.mapping(spec, "resources", path)
    requests = quantities(reader, resources, "requests", resources_path)
    quantities(reader, resources, "limits", resources_path)
    if "storage" not in requests and "storage" not in reader.mapping(resources, "requests", resources_path):
        reader.add(FieldError.required(join_key(resources_path, "storage")))
    elif "storage" in requests and requests["storage"].value <= 0:
        reader.add(FieldError.invalid(join_key(resources_path, "storage"), str(requests["storage"]), NOT_POSITIVE))
    _validate_class_name(reader, spec, path)
    _validate_volume_mode(reader, spec, path)
    reader.string(spec, "volumeName", path)
    for field in ("dataSource", "dataSourceRef"):
        if reader.optional_mapping(spec, field, path) is not None:
            reader.add(not_supported_by_minik8s(join_path(path, field), spec[field],
                                                "its provisioner makes empty volumes only (no clones or snapshots)"))
    if reader.string(spec, "volumeAttributesClassName", path):
        reader.add(not_supported_by_minik8s(join_path(path, "volumeAttributesClassName"),
                                            spec["volumeAttributesClassName"], "it has no VolumeAttributesClasses"))


def _requests_storage(spec: Mapping[str, Any]) -> Any:
    resources = spec.get("resources")
    requests = resources.get("requests") if isinstance(resources, Mapping) else None
    return requests.get("storage") if isinstance(requests, Mapping) else None


def _comparable_spec(spec: Mapping[str, Any], old_spec: Mapping[str, Any], *, bound: bool) -> dict[str, Any]:
    """The new spec with what an update may change taken from the old one (ValidatePersistentVolumeClaimUpdate)."""
    comparable = dict(spec)
    if not old_spec.get("volumeName"):
        comparable["volumeName"] = old_spec.get("volumeName")  # a claim names its volume once
    if old_spec.get("storageClassName") is None and spec.get("storageClassName") is not None:
        comparable["storageClassName"] = None  # a claim without a class may gain one
    resources = spec.get("resources")
    if bound and isinstance(resources, Mapping) and isinstance(resources.get("requests"), Mapping):
        requests = {**resources["requests"], "storage": _requests_storage(old_spec)}
        comparable["resources"] = {**resources, "requests": requests}
    return {key: value for key, value in comparable.items() if value is not None}


def _validate_claim_update(reader: FieldReader, claim: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    validate_object_meta_update(reader, claim, old)
    spec, old_spec = reader.mapping(claim, "spec", ""), old.get("spec") or {}
    status = claim.get("status")
    bound = isinstance(status, Mapping) and status.get("phase") == BOUND
    old_comparable = {key: value for key, value in old_spec.items() if value is not None}
    if _comparable_spec(spec, old_spec, bound=bound) != old_comparable:
        reader.add(FieldError.forbidden("spec", CLAIM_IMMUTABLE))
    if spec.get("volumeMode") != old_spec.get("volumeMode"):
        reader.add(FieldError.invalid("volumeMode", spec.get("volumeMode"), IMMUTABLE_MESSAGE))
    _validate_shrink(reader, claim, old)


def _validate_shrink(reader: FieldReader, claim: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """A request may shrink (RecoverVolumeExpansionFailure, on in v1.32) but not to the capacity or below."""
    quiet = FieldReader()  # the amounts' own problems are reported by the spec's validation

    def amounts(obj: Mapping[str, Any], *path: str) -> dict[str, Any]:
        for step in path[:-1]:
            obj = quiet.mapping(obj, step, "")
        return quantities(quiet, obj, path[-1], "")

    new, before = amounts(claim, "spec", "resources", "requests"), amounts(old, "spec", "resources", "requests")
    capacity = amounts(old, "status", "capacity")
    if "storage" not in new or "storage" not in before or new["storage"].value >= before["storage"].value:
        return
    if "storage" in capacity and new["storage"].value <= capacity["storage"].value:
        reader.add(FieldError.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"))
