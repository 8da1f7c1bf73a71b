"""One printer per kind: the cells of a Table row, computed as Kubernetes' printers.go does.

Each printer mirrors its namesake in pkg/printers/internalversion/printers.go (v1.32) with
GenerateOptions.Wide set, as the apiserver always does, so the priority-1 cells are included. The
pod STATUS logic is the one users read most (`Init:0/2`, `CrashLoopBackOff`, `Terminating`), so it
follows the Go code step by step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api import table_printers_access as access
from minik8s.api import table_printers_apps as apps
from minik8s.api import table_printers_disruption as disruption
from minik8s.api import table_printers_storage as storage
from minik8s.api.table_printers_batch import CELL_PRINTERS as BATCH_CELL_PRINTERS
from minik8s.api.table_values import (
    age,
    as_int,
    as_list,
    as_map,
    as_str,
    format_labels,
    host_port,
    later,
    name_of,
    parse_time,
    present_map,
    since,
)

__all__ = ["row_cells", "row_conditions"]

CellPrinter = Callable[[Mapping[str, Any], datetime], list[Any]]


# --- Pod ---------------------------------------------------------------------------------------------


@dataclass
class _PodTally:
    """What printPod accumulates while it walks a pod's container statuses."""

    reason: str
    ready: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None
    initializing: bool = False


def _is_sidecar(container_spec: Mapping[str, Any] | None) -> bool:
    """A restartable init container (`restartPolicy: Always`), counted like an app container."""
    return container_spec is not None and container_spec.get("restartPolicy") == "Always"


def _last_termination(container_status: Mapping[str, Any]) -> datetime | None:
    terminated = present_map(as_map(container_status.get("lastState")).get("terminated"))
    return None if terminated is None else parse_time(terminated.get("finishedAt"))


def _terminated_reason(terminated: Mapping[str, Any]) -> str:
    if reason := as_str(terminated.get("reason")):
        return reason
    signal = as_int(terminated.get("signal"))
    return f"Signal:{signal}" if signal != 0 else f"ExitCode:{as_int(terminated.get('exitCode'))}"


def _tally_init_containers(pod: Mapping[str, Any], tally: _PodTally) -> None:
    """printPod's walk of init containers: it stops at the first one that has not completed."""
    init_specs = [as_map(container) for container in as_list(as_map(pod.get("spec")).get("initContainers"))]
    specs_by_name = {as_str(spec.get("name")): spec for spec in init_specs}
    statuses = as_list(as_map(pod.get("status")).get("initContainerStatuses"))
    for index, container in enumerate(as_map(status) for status in statuses):
        restart_count, finished_at = as_int(container.get("restartCount")), _last_termination(container)
        tally.restarts += restart_count
        tally.last_restart = later(tally.last_restart, finished_at)
        sidecar = _is_sidecar(specs_by_name.get(as_str(container.get("name"))))
        if sidecar:
            tally.sidecar_restarts += restart_count
            tally.sidecar_last_restart = later(tally.sidecar_last_restart, finished_at)
        state = as_map(container.get("state"))
        terminated, waiting = present_map(state.get("terminated")), present_map(state.get("waiting"))
        if terminated is not None and as_int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started") is True:
            tally.ready += 1 if container.get("ready") is True else 0
            continue
        tally.initializing = True
        waiting_reason = as_str(as_map(waiting).get("reason"))
        if terminated is not None:
            tally.reason = "Init:" + _terminated_reason(terminated)
        elif waiting_reason and waiting_reason != "PodInitializing":
            tally.reason = "Init:" + waiting_reason
        else:
            tally.reason = f"Init:{index}/{len(init_specs)}"
        break


def _conditions(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [as_map(condition) for condition in as_list(as_map(pod.get("status")).get("conditions"))]


def _tally_containers(pod: Mapping[str, Any], tally: _PodTally) -> None:
    """printPod's walk of app containers, last to first, so the first container's state wins."""
    tally.restarts, tally.last_restart = tally.sidecar_restarts, tally.sidecar_last_restart
    has_running = False
    statuses = [as_map(status) for status in as_list(as_map(pod.get("status")).get("containerStatuses"))]
    for container in reversed(statuses):
        tally.restarts += as_int(container.get("restartCount"))
        tally.last_restart = later(tally.last_restart, _last_termination(container))
        state = as_map(container.get("state"))
        waiting, terminated = present_map(state.get("waiting")), present_map(state.get("terminated"))
        if waiting is not None and as_str(waiting.get("reason")):
            tally.reason = as_str(waiting.get("reason"))
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif container.get("ready") is True and present_map(state.get("running")) is not None:
            has_running = True
            tally.ready += 1
    if tally.reason == "Completed" and has_running:
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in _conditions(pod))
        tally.reason = "Running" if ready else "NotReady"


def _tally_pod(pod: Mapping[str, Any]) -> _PodTally:
    """printPod's READY counts, RESTARTS and STATUS reason, in its order of precedence."""
    status = as_map(pod.get("status"))
    phase = as_str(status.get("phase"))
    tally = _PodTally(reason=as_str(status.get("reason")) or phase)
    conditions = _conditions(pod)
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions):
        tally.reason = "SchedulingGated"
    _tally_init_containers(pod, tally)
    initialized = next((c.get("status") for c in conditions if c.get("type") == "Initialized"), "") == "True"
    if not tally.initializing or initialized:
        _tally_containers(pod, tally)
    if as_map(pod.get("metadata")).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            tally.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    return tally


def _readiness_gates(pod: Mapping[str, Any]) -> str:
    gate_specs = as_list(as_map(pod.get("spec")).get("readinessGates"))
    gates = [as_str(as_map(gate).get("conditionType")) for gate in gate_specs]
    if not gates:
        return "<none>"
    statuses = {}
    for condition in reversed(_conditions(pod)):  # reversed: the first condition of a type wins
        statuses[condition.get("type")] = condition.get("status")
    return f"{sum(1 for gate in gates if statuses.get(gate) == 'True')}/{len(gates)}"


def _pod_cells(pod: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(pod.get("spec")), as_map(pod.get("status"))
    tally = _tally_pod(pod)
    sidecars = sum(1 for container in as_list(spec.get("initContainers")) if _is_sidecar(as_map(container)))
    total = len(as_list(spec.get("containers"))) + sidecars
    restarts = str(tally.restarts)
    if tally.restarts != 0 and tally.last_restart is not None:
        restarts = f"{tally.restarts} ({since(tally.last_restart, now)} ago)"
    pod_ips = as_list(status.get("podIPs"))  # v1 podIP wins over podIPs, as in the v1 → internal conversion
    pod_ip = as_str(status.get("podIP")) or (as_str(as_map(pod_ips[0]).get("ip")) if pod_ips else "")
    return [
        name_of(pod), f"{tally.ready}/{total}", tally.reason, restarts, age(pod, now),
        pod_ip or "<none>", as_str(spec.get("nodeName")) or "<none>",
        as_str(status.get("nominatedNodeName")) or "<none>", _readiness_gates(pod),
    ]


_POD_COMPLETED_MESSAGES = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}


def row_conditions(kind: str, obj: Mapping[str, Any]) -> list[dict[str, str]]:
    """printPod's row conditions: a finished pod's row is marked `Completed`."""
    phase = as_str(as_map(obj.get("status")).get("phase"))
    if kind != "Pod" or phase not in _POD_COMPLETED_MESSAGES:
        return []
    message = _POD_COMPLETED_MESSAGES[phase]
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


# --- Node, Service, Endpoints, Event -------------------------------------------------------------------

_ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"


def _node_roles(labels: Mapping[str, Any]) -> list[str]:
    roles = set()
    for key, value in labels.items():
        if key.startswith(_ROLE_LABEL_PREFIX) and key[len(_ROLE_LABEL_PREFIX):]:
            roles.add(key[len(_ROLE_LABEL_PREFIX):])
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(status: Mapping[str, Any], address_type: str) -> str:
    addresses = (as_map(address) for address in as_list(status.get("addresses")))
    return next((as_str(a.get("address")) for a in addresses if a.get("type") == address_type), "<none>")


def _node_cells(node: Mapping[str, Any], now: datetime) -> list[Any]:
    status = as_map(node.get("status"))
    info = as_map(status.get("nodeInfo"))
    conditions = [as_map(condition) for condition in as_list(status.get("conditions"))]
    ready = {as_str(c.get("type")): c for c in conditions}.get("Ready")  # the last Ready condition wins
    states = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if as_map(node.get("spec")).get("unschedulable") is True:
        states.append("SchedulingDisabled")
    roles = ",".join(_node_roles(as_map(as_map(node.get("metadata")).get("labels")))) or "<none>"
    return [
        name_of(node), ",".join(states), roles, age(node, now), as_str(info.get("kubeletVersion")),
        _node_address(status, "InternalIP"), _node_address(status, "ExternalIP"),
        as_str(info.get("osImage")) or "<unknown>", as_str(info.get("kernelVersion")) or "<unknown>",
        as_str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


def _service_external_ip(service_type: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    external_ips = [as_str(address) for address in as_list(spec.get("externalIPs"))]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if service_type == "LoadBalancer":
        ingress = [as_map(entry) for entry in as_list(as_map(status.get("loadBalancer")).get("ingress"))]
        addresses = {as_str(entry.get("ip")) or as_str(entry.get("hostname")) for entry in ingress}
        balancers = sorted(addresses - {""})
        if external_ips:
            return ",".join([*balancers, *external_ips])
        return ",".join(balancers) or "<pending>"
    if service_type == "ExternalName":
        return as_str(spec.get("externalName"))
    return "<unknown>"


def _service_ports(spec: Mapping[str, Any]) -> str:
    pieces = []
    for port in (as_map(entry) for entry in as_list(spec.get("ports"))):
        number, node_port = as_int(port.get("port")), as_int(port.get("nodePort"))
        protocol = as_str(port.get("protocol")) or "TCP"
        pieces.append(f"{number}:{node_port}/{protocol}" if node_port > 0 else f"{number}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(service: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(service.get("spec")), as_map(service.get("status"))
    service_type = as_str(spec.get("type")) or "ClusterIP"
    cluster_ips = as_list(spec.get("clusterIPs"))  # v1 clusterIP wins over clusterIPs, as in the conversion
    cluster_ip = as_str(spec.get("clusterIP")) or (as_str(cluster_ips[0]) if cluster_ips else "")
    return [
        name_of(service), service_type, cluster_ip or "<none>",
        _service_external_ip(service_type, spec, status), _service_ports(spec), age(service, now),
        format_labels(spec.get("selector")),
    ]


def _format_endpoints(endpoints: Mapping[str, Any], limit: int = 3) -> str:
    """printers.go formatEndpoints: the first three `ip:port`, then `+ N more...`."""
    subsets = [as_map(subset) for subset in as_list(endpoints.get("subsets"))]
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count, more = 0, False
    for subset in subsets:
        addresses = [as_str(as_map(address).get("ip")) for address in as_list(subset.get("addresses"))]
        ports = [as_int(as_map(port).get("port")) for port in as_list(subset.get("ports"))]
        groups = [[host_port(ip, port) for ip in addresses] for port in ports] if ports else [addresses]
        for group in groups:
            count += len(group)
            for target in group:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(target)
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _event_cells(event: Mapping[str, Any], now: datetime) -> list[Any]:
    first_time = parse_time(event.get("firstTimestamp"))
    first_seen = since(first_time if first_time is not None else parse_time(event.get("eventTime")), now)
    last_time = parse_time(event.get("lastTimestamp"))
    last_seen = first_seen if last_time is None else since(last_time, now)
    count = as_int(event.get("count"))
    if (series := present_map(event.get("series"))) is not None:
        last_seen, count = since(parse_time(series.get("lastObservedTime")), now), as_int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events of the events.k8s.io API carry no count
    involved, source = as_map(event.get("involvedObject")), as_map(event.get("source"))
    kind, involved_name = as_str(involved.get("kind")).lower(), as_str(involved.get("name"))
    component = as_str(source.get("component")) or as_str(event.get("reportingComponent"))
    instance = as_str(source.get("host")) or as_str(event.get("reportingInstance"))
    return [
        last_seen, as_str(event.get("type")), as_str(event.get("reason")),
        f"{kind}/{involved_name}" if involved_name else kind, as_str(involved.get("fieldPath")),
        f"{component}, {instance}" if instance else component, as_str(event.get("message")).strip(),
        first_seen, count, name_of(event),
    ]


# --- The small kinds ---------------------------------------------------------------------


def _namespace_cells(namespace: Mapping[str, Any], now: datetime) -> list[Any]:
    phase = as_str(as_map(namespace.get("status")).get("phase")) or "Active"
    return [name_of(namespace), phase, age(namespace, now)]


def _config_map_cells(config_map: Mapping[str, Any], now: datetime) -> list[Any]:
    entries = len(as_map(config_map.get("data"))) + len(as_map(config_map.get("binaryData")))
    return [name_of(config_map), entries, age(config_map, now)]


def _secret_cells(secret: Mapping[str, Any], now: datetime) -> list[Any]:
    secret_type = as_str(secret.get("type")) or "Opaque"
    return [name_of(secret), secret_type, len(as_map(secret.get("data"))), age(secret, now)]


def _lease_cells(lease: Mapping[str, Any], now: datetime) -> list[Any]:
    return [name_of(lease), as_str(as_map(lease.get("spec")).get("holderIdentity")), age(lease, now)]


def _endpoints_cells(endpoints: Mapping[str, Any], now: datetime) -> list[Any]:
    return [name_of(endpoints), _format_endpoints(endpoints), age(endpoints, now)]


_CELL_PRINTERS: dict[str, CellPrinter] = {
    "Namespace": _namespace_cells,
    "Node": _node_cells,
    "Pod": _pod_cells,
    "Service": _service_cells,
    "Endpoints": _endpoints_cells,
    "Event": _event_cells,
    "ConfigMap": _config_map_cells,
    "Secret": _secret_cells,
    "ServiceAccount": access.service_account_cells,
    "LimitRange": access.limit_range_cells,
    "ResourceQuota": access.resource_quota_cells,
    **apps.CELL_PRINTERS,
    "Lease": _lease_cells,
    "Role": access.role_cells,
    "ClusterRole": access.role_cells,
    "RoleBinding": access.binding_cells,
    "ClusterRoleBinding": access.binding_cells,
    **storage.CELL_PRINTERS,
    **BATCH_CELL_PRINTERS,
    **disruption.CELL_PRINTERS,
}


def row_cells(kind: str, obj: Mapping[str, Any], *, now: datetime) -> list[Any]:
    """One row's cells in `column_definitions(kind)` order, wide ones included, as Kubernetes prints them."""
    printer = _CELL_PRINTERS.get(kind)
    return printer(obj, now) if printer is not None else [name_of(obj), age(obj, now)]
