"""`describe statefulset`: kubectl's StatefulSetDescriber, from the set and the pods it controls.

Name, namespace, creation time, selector, labels and annotations; `Replicas: N desired | M total`;
the update strategy (with its partition, and maxUnavailable when set); how many of its pods run,
wait, succeeded or failed; the pod template; then `Volume Claims:` — each claim template's name,
storage class, labels, annotations, requested capacity and access modes — as
pkg/describe/describe.go prints them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api.table_values import as_int, as_list, as_map, as_str, format_label_selector
from minik8s.cli.describe_text import (
    DescribeWriter,
    timestamp,
    write_annotations,
    write_multiline_map,
    write_pod_template,
)

STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def describe_stateful_set(writer: DescribeWriter, stateful_set: Mapping[str, Any],
                          pods: Sequence[Mapping[str, Any]]) -> None:
    metadata, spec = as_map(stateful_set.get("metadata")), as_map(stateful_set.get("spec"))
    status = as_map(stateful_set.get("status"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")
    writer.write(0, f"CreationTimestamp:\t{timestamp(metadata.get('creationTimestamp'))}\n")
    writer.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Replicas:\t{as_int(spec.get('replicas'), 1)} desired | {as_int(status.get('replicas'))} total\n")
    strategy = as_map(spec.get("updateStrategy"))
    writer.write(0, f"Update Strategy:\t{as_str(strategy.get('type'))}\n")
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, Mapping) and rolling.get("partition") is not None:
        writer.write(1, f"Partition:\t{as_int(rolling.get('partition'))}\n")
        if rolling.get("maxUnavailable") is not None:
            writer.write(1, f"MaxUnavailable:\t{rolling['maxUnavailable']}\n")
    phases = [as_str(as_map(pod.get("status")).get("phase")) for pod in pods]
    writer.write(0, f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
                    f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed\n")
    write_pod_template(writer, as_map(spec.get("template")))
    write_claim_templates(writer, as_list(spec.get("volumeClaimTemplates")))


def write_claim_templates(writer: DescribeWriter, templates: Sequence[Any]) -> None:
    """describeVolumeClaimTemplates."""
    claims = [as_map(template) for template in templates]
    if not claims:
        writer.write(0, "Volume Claims:\t<none>\n")
        return
    writer.write(0, "Volume Claims:\n")
    for claim in claims:
        metadata, spec = as_map(claim.get("metadata")), as_map(claim.get("spec"))
        annotations = as_map(metadata.get("annotations"))
        storage_class = as_str(annotations.get(STORAGE_CLASS_ANNOTATION) or spec.get("storageClassName"))
        writer.write(1, f"Name:\t{as_str(metadata.get('name'))}\n")
        writer.write(1, f"StorageClass:\t{storage_class}\n")
        write_multiline_map(writer, "  Labels", metadata.get("labels"))
        write_multiline_map(writer, "  Annotations", annotations)
        capacity = as_map(as_map(spec.get("resources")).get("requests")).get("storage")
        writer.write(1, f"Capacity:\t{as_str(capacity) if capacity is not None else '<default>'}\n")
        writer.write(1, f"Access Modes:\t[{' '.join(as_str(mode) for mode in as_list(spec.get('accessModes')))}]\n")
