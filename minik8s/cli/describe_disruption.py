"""`describe` for PodDisruptionBudgets and PriorityClasses, as kubectl's describers print them.

A budget: its name, namespace, `Min available` or `Max unavailable` (whichever is set), selector
(`<unset>` without one), then `Status:` with allowed disruptions and the current, desired and
total counts (describePodDisruptionBudgetV1). A class: name, value, globalDefault, preemption
policy, description and annotations (describePriorityClass).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from minik8s.api.table_values import as_int, as_map, as_str, format_label_selector, format_labels
from minik8s.cli.describe_text import DescribeWriter


class Described(Protocol):
    """What these describers read of describers.py's Evidence: the object."""

    @property
    def obj(self) -> Mapping[str, Any]: ...


def _int_or_string(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else as_str(value)


def describe_pod_disruption_budget(writer: DescribeWriter, evidence: Described, _: datetime) -> None:
    pdb = evidence.obj
    metadata, spec, status = as_map(pdb.get("metadata")), as_map(pdb.get("spec")), as_map(pdb.get("status"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")
    if spec.get("minAvailable") is not None:
        writer.write(0, f"Min available:\t{_int_or_string(spec['minAvailable'])}\n")
    elif spec.get("maxUnavailable") is not None:
        writer.write(0, f"Max unavailable:\t{_int_or_string(spec['maxUnavailable'])}\n")
    selector = spec.get("selector")
    writer.write(0, f"Selector:\t{format_label_selector(selector) if selector is not None else '<unset>'}\n")
    writer.write(0, "Status:\n")
    writer.write(2, f"Allowed disruptions:\t{as_int(status.get('disruptionsAllowed'))}\n")
    writer.write(2, f"Current:\t{as_int(status.get('currentHealthy'))}\n")
    writer.write(2, f"Desired:\t{as_int(status.get('desiredHealthy'))}\n")
    writer.write(2, f"Total:\t{as_int(status.get('expectedPods'))}\n")


def describe_priority_class(writer: DescribeWriter, evidence: Described, _: datetime) -> None:
    priority_class = evidence.obj
    metadata = as_map(priority_class.get("metadata"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Value:\t{as_int(priority_class.get('value'))}\n")
    writer.write(0, f"GlobalDefault:\t{'true' if priority_class.get('globalDefault') is True else 'false'}\n")
    writer.write(0, f"PreemptionPolicy:\t{as_str(priority_class.get('preemptionPolicy'))}\n")
    writer.write(0, f"Description:\t{as_str(priority_class.get('description'))}\n")
    writer.write(0, f"Annotations:\t{format_labels(metadata.get('annotations'))}\n")
