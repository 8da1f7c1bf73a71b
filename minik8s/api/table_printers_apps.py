"""The Table cells of the apps/v1 kinds, as printDeployment, printReplicaSet, printDaemonSet, printStatefulSet
and printControllerRevision in Kubernetes' printers.go (v1.32).

Deployments, ReplicaSets and DaemonSets print their counts, (wide) their template's containers and images,
and their selector.
A StatefulSet prints READY as `readyReplicas/spec.replicas`, then (wide) its template's containers and
images. A ControllerRevision prints the object that controls it as `kind.group/name` in lower case
(`statefulset.apps/web`, `<none>` for an orphan) and its revision number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from minik8s.api.table_values import (
    age,
    as_int,
    as_list,
    as_map,
    as_str,
    container_cells,
    format_label_selector,
    format_labels,
    name_of,
    selector_string,
)


def _spec_status(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    return as_map(obj.get("spec")), as_map(obj.get("status"))


def _template_spec(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(as_map(spec.get("template")).get("spec"))


def deployment_cells(deployment: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = _spec_status(deployment)
    selector = selector_string(spec.get("selector"))
    return [
        name_of(deployment), f"{as_int(status.get('readyReplicas'))}/{as_int(spec.get('replicas'), 1)}",
        as_int(status.get("updatedReplicas")), as_int(status.get("availableReplicas")), age(deployment, now),
        *container_cells(_template_spec(spec)), "<invalid>" if selector is None else selector,
    ]


def replica_set_cells(replica_set: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = _spec_status(replica_set)
    return [
        name_of(replica_set), as_int(spec.get("replicas"), 1), as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")), age(replica_set, now), *container_cells(_template_spec(spec)),
        format_label_selector(spec.get("selector")),
    ]


def daemon_set_cells(daemon_set: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = _spec_status(daemon_set)
    counts = ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
              "numberAvailable")
    return [
        name_of(daemon_set), *(as_int(status.get(field)) for field in counts),
        format_labels(_template_spec(spec).get("nodeSelector")), age(daemon_set, now),
        *container_cells(_template_spec(spec)), format_label_selector(spec.get("selector")),
    ]


def stateful_set_cells(stateful_set: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(stateful_set.get("spec")), as_map(stateful_set.get("status"))
    ready = f"{as_int(status.get('readyReplicas'))}/{as_int(spec.get('replicas'), 1)}"
    template_spec = as_map(as_map(spec.get("template")).get("spec"))
    return [name_of(stateful_set), ready, age(stateful_set, now), *container_cells(template_spec)]


def controller_revision_cells(revision: Mapping[str, Any], now: datetime) -> list[Any]:
    return [name_of(revision), controller_name(revision), as_int(revision.get("revision")), age(revision, now)]


def controller_name(obj: Mapping[str, Any]) -> str:
    """formatResourceName of the controller reference's group-kind and name; `<none>` without one."""
    for reference in (as_map(item) for item in as_list(as_map(obj.get("metadata")).get("ownerReferences"))):
        if reference.get("controller") is True:
            api_version = as_str(reference.get("apiVersion"))
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            kind = as_str(reference.get("kind"))
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{as_str(reference.get('name'))}"
    return "<none>"


CELL_PRINTERS: dict[str, Callable[[Mapping[str, Any], datetime], list[Any]]] = {
    "Deployment": deployment_cells,
    "ReplicaSet": replica_set_cells,
    "DaemonSet": daemon_set_cells,
    "StatefulSet": stateful_set_cells,
    "ControllerRevision": controller_revision_cells,
}
