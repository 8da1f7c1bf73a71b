"""The Table columns and cells of PodDisruptionBudgets and PriorityClasses, as Kubernetes' printers.go has them.

`kubectl get pdb` shows NAME, MIN AVAILABLE, MAX UNAVAILABLE (each the int-or-percent as written, `N/A`
when unset), ALLOWED DISRUPTIONS (status.disruptionsAllowed) and AGE (printPodDisruptionBudget).
`kubectl get pc` shows NAME, VALUE, GLOBAL-DEFAULT, AGE and PREEMPTIONPOLICY (printPriorityClass,
an empty cell when the class has no policy). The columns' descriptions are the API's swagger docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.table_values import age, as_int, as_map, as_str, name_of

_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
            "#metadata")


def _column(name: str, description: str, column_type: str = "string") -> dict[str, Any]:
    return {"name": name, "type": column_type, "format": "name" if name == "Name" else "",
            "description": description, "priority": 0}


COLUMNS: dict[str, list[dict[str, Any]]] = {
    "PodDisruptionBudget": [
        _column("Name", _NAME_DOC),
        _column("Min Available", "The minimum number of pods that must be available."),
        _column("Max Unavailable", "The maximum number of pods that may be unavailable."),
        _column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", "integer"),
        _column("Age", _AGE_DOC),
    ],
    "PriorityClass": [
        _column("Name", _NAME_DOC),
        _column("Value", "value represents the integer value of this priority class. This is the actual priority "
                         "that pods receive when they have the name of this class in their pod spec.", "integer"),
        _column("Global-Default", "globalDefault specifies whether this PriorityClass should be considered as the "
                                  "default priority for pods that do not have any priority class. Only one "
                                  "PriorityClass can be marked as `globalDefault`. However, if more than one "
                                  "PriorityClasses exists with their `globalDefault` field set to true, the smallest "
                                  "value of such global default PriorityClasses will be used as the default priority.",
                "boolean"),
        _column("Age", _AGE_DOC),
        _column("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority. One of "
                                    "Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
    ],
}


def _int_or_string(value: Any) -> str:
    """IntOrString.String(), or `N/A` when unset."""
    if value is None:
        return "N/A"
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else as_str(value)


def pod_disruption_budget_cells(pdb: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(pdb.get("spec")), as_map(pdb.get("status"))
    return [name_of(pdb), _int_or_string(spec.get("minAvailable")), _int_or_string(spec.get("maxUnavailable")),
            as_int(status.get("disruptionsAllowed")), age(pdb, now)]


def priority_class_cells(priority_class: Mapping[str, Any], now: datetime) -> list[Any]:
    return [name_of(priority_class), as_int(priority_class.get("value")), priority_class.get("globalDefault") is True,
            age(priority_class, now), as_str(priority_class.get("preemptionPolicy"))]


CELL_PRINTERS = {"PodDisruptionBudget": pod_disruption_budget_cells, "PriorityClass": priority_class_cells}
