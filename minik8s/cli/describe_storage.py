"""`describe` for PersistentVolumes, PersistentVolumeClaims and StorageClasses, as kubectl's describers.

describePersistentVolume (class, phase — `Terminating (lasts 5s)` once deleted —, claim, reclaim
policy, access modes, capacity, node affinity term by term, message, source), describePersistentVolumeClaim
(class, phase, volume, capacity and access modes once bound, the pods of its namespace using it:
`Used By`) and describeStorageClass (whether it is the default, provisioner, parameters, expansion,
mount options, reclaim policy, binding mode, allowed topologies), in kubectl's order and words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api.persistent_volumes import (
    access_modes_text,
    claim_class,
    claim_names,
    is_default_class,
    quantity,
    volume_class,
)
from minik8s.api.table_values import as_list, as_map, as_str, format_labels, parse_time, since
from minik8s.cli.describe_text import DescribeWriter, write_annotations, write_multiline_map


def _storage(amounts: Any) -> str:
    amount = quantity(as_map(amounts).get("storage"))
    return str(amount) if amount is not None else "0"


def _status_line(obj: Mapping[str, Any], now: datetime) -> str:
    deleted = as_map(obj.get("metadata")).get("deletionTimestamp")
    if deleted:
        return f"Terminating (lasts {since(parse_time(deleted), now)})"
    return as_str(as_map(obj.get("status")).get("phase"))


def _finalizers(obj: Mapping[str, Any]) -> str:
    """Go's %v of a string slice: `[a b]`."""
    return "[" + " ".join(as_str(f) for f in as_list(as_map(obj.get("metadata")).get("finalizers"))) + "]"


def _write_node_affinity(writer: DescribeWriter, affinity: Any) -> None:
    """printVolumeNodeAffinity: each required term's expressions, `key in [a, b]`."""
    required = as_map(as_map(affinity).get("required")) if affinity else {}
    if not required:
        writer.write(0, "Node Affinity:\t<none>\n")
        return
    writer.write(0, "Node Affinity:\t\n")
    terms = as_list(required.get("nodeSelectorTerms"))
    writer.write(1, "Required Terms:\t" + ("\n" if terms else "<none>\n"))
    for index, term in enumerate(terms):
        expressions = [as_map(e) for e in as_list(as_map(term).get("matchExpressions"))]
        writer.write(2, f"Term {index}:\t")
        if not expressions:
            writer.write(0, "<none>\n")
        for position, expression in enumerate(expressions):
            text = f"{as_str(expression.get('key'))} {as_str(expression.get('operator')).lower()}"
            values = [as_str(v) for v in as_list(expression.get("values"))]
            if values:
                text += f" [{', '.join(values)}]"
            writer.write(2 if position else 0, ("\t" if position else "") + text + "\n")


def _write_source(writer: DescribeWriter, spec: Mapping[str, Any]) -> None:
    writer.write(0, "Source:\n")
    if spec.get("hostPath") is not None:
        source = as_map(spec["hostPath"])
        writer.write(2, "Type:\tHostPath (bare host directory volume)\n")
        writer.write(2, f"Path:\t{as_str(source.get('path'))}\n")
        writer.write(2, f"HostPathType:\t{as_str(source.get('type')) if 'type' in source else '<none>'}\n")
    elif spec.get("local") is not None:
        writer.write(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n")
        writer.write(2, f"Path:\t{as_str(as_map(spec['local']).get('path'))}\n")
    else:
        writer.write(1, "<unknown>\n")


def describe_persistent_volume(writer: DescribeWriter, volume: Mapping[str, Any], now: datetime) -> None:
    metadata, spec = as_map(volume.get("metadata")), as_map(volume.get("spec"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Finalizers:\t{_finalizers(volume)}\n")
    writer.write(0, f"StorageClass:\t{volume_class(volume)}\n")
    writer.write(0, f"Status:\t{_status_line(volume, now)}\n")
    claim = as_map(spec.get("claimRef"))
    claim_text = f"{as_str(claim.get('namespace'))}/{as_str(claim.get('name'))}" if spec.get("claimRef") else ""
    writer.write(0, f"Claim:\t{claim_text}\n")
    writer.write(0, f"Reclaim Policy:\t{as_str(spec.get('persistentVolumeReclaimPolicy'))}\n")
    writer.write(0, f"Access Modes:\t{access_modes_text(spec.get('accessModes'))}\n")
    if spec.get("volumeMode"):
        writer.write(0, f"VolumeMode:\t{as_str(spec['volumeMode'])}\n")
    writer.write(0, f"Capacity:\t{_storage(spec.get('capacity'))}\n")
    _write_node_affinity(writer, spec.get("nodeAffinity"))
    writer.write(0, f"Message:\t{as_str(as_map(volume.get('status')).get('message'))}\n")
    _write_source(writer, spec)


def claim_users(claim: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> list[str]:
    """getPodsForPVC: the pods of the claim's namespace with a volume naming it, by name."""
    name = as_str(as_map(claim.get("metadata")).get("name"))
    return sorted(as_str(as_map(pod.get("metadata")).get("name")) for pod in pods if name in claim_names(pod))


def describe_persistent_volume_claim(writer: DescribeWriter, claim: Mapping[str, Any],
                                     pods: Sequence[Mapping[str, Any]], now: datetime) -> None:
    metadata, spec, status = as_map(claim.get("metadata")), as_map(claim.get("spec")), as_map(claim.get("status"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")
    writer.write(0, f"StorageClass:\t{claim_class(claim)}\n")
    writer.write(0, f"Status:\t{_status_line(claim, now)}\n")
    volume_name = as_str(spec.get("volumeName"))
    writer.write(0, f"Volume:\t{volume_name}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Finalizers:\t{_finalizers(claim)}\n")
    writer.write(0, f"Capacity:\t{_storage(status.get('capacity')) if volume_name else ''}\n")
    writer.write(0, f"Access Modes:\t{access_modes_text(status.get('accessModes')) if volume_name else ''}\n")
    if spec.get("volumeMode"):
        writer.write(0, f"VolumeMode:\t{as_str(spec['volumeMode'])}\n")
    users = claim_users(claim, pods)
    writer.write(0, "Used By:\t" + (users[0] if users else "<none>") + "\n")
    for user in users[1:]:
        writer.write(0, f"\t{user}\n")


def describe_storage_class(writer: DescribeWriter, storage_class: Mapping[str, Any]) -> None:
    metadata = as_map(storage_class.get("metadata"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    default = "Yes" if is_default_class(storage_class) else "No"
    writer.write(0, f"IsDefaultClass:\t{default}\n")
    writer.write(0, f"Annotations:\t{format_labels(metadata.get('annotations'))}\n")
    writer.write(0, f"Provisioner:\t{as_str(storage_class.get('provisioner'))}\n")
    writer.write(0, f"Parameters:\t{format_labels(storage_class.get('parameters'))}\n")
    expansion = storage_class.get("allowVolumeExpansion")
    writer.write(0, f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else ('True' if expansion else 'False')}\n")
    options = [as_str(option) for option in as_list(storage_class.get("mountOptions"))]
    writer.write(0, "MountOptions:\t<none>\n" if not options else "MountOptions:\n")
    for option in options:
        writer.write(1, f"{option}\n")
    for label, key in (("ReclaimPolicy", "reclaimPolicy"), ("VolumeBindingMode", "volumeBindingMode")):
        if storage_class.get(key) is not None:
            writer.write(0, f"{label}:\t{as_str(storage_class[key])}\n")
    if storage_class.get("allowedTopologies") is not None:
        _write_allowed_topologies(writer, as_list(storage_class["allowedTopologies"]))


def _write_allowed_topologies(writer: DescribeWriter, terms: list[Any]) -> None:
    """printAllowedTopologies: each term's label requirements, `key in [a, b]`."""
    writer.write(0, "AllowedTopologies:\t" + ("\n" if terms else "<none>\n"))
    for index, term in enumerate(terms):
        requirements = [as_map(r) for r in as_list(as_map(term).get("matchLabelExpressions"))]
        writer.write(1, f"Term {index}:\t")
        if not requirements:
            writer.write(0, "<none>\n")
        for position, requirement in enumerate(requirements):
            text = f"{as_str(requirement.get('key'))} in"
            values = [as_str(v) for v in as_list(requirement.get("values"))]
            if values:
                text += f" [{', '.join(values)}]"
            writer.write(1 if position else 0, ("\t" if position else "") + text + "\n")
