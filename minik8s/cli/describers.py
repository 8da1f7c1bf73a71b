"""`describe` for each kind: kubectl's readable sections, computed from objects already fetched.

Pods (containers, state, conditions, volumes), deployments, replica sets, statefulsets, services, nodes,
namespaces (with their quotas and limit ranges) and the storage kinds (describe_storage.py) get the
sections kubectl's describers print, in the same order and wording; any other
kind gets the generic describer (metadata, then every other field). Every description ends with
the object's Events. The verb fetches the object and what each section needs (`Evidence`); these
functions only format, so they are tested without a cluster.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minik8s.api.table_values import (
    as_int,
    as_list,
    as_map,
    as_str,
    format_label_selector,
    format_labels,
    parse_time,
    since,
)
from minik8s.cli.describe_batch import describe_cron_job, describe_job
from minik8s.cli.describe_disruption import describe_pod_disruption_budget, describe_priority_class
from minik8s.cli.describe_namespace import write_policy
from minik8s.cli.describe_node import describe_node
from minik8s.cli.describe_statefulset import describe_stateful_set
from minik8s.cli.describe_storage import (
    describe_persistent_volume,
    describe_persistent_volume_claim,
    describe_storage_class,
)
from minik8s.cli.describe_text import (
    DescribeWriter,
    timestamp,
    toleration_text,
    write_annotations,
    write_conditions,
    write_containers,
    write_events,
    write_lines,
    write_multiline_map,
    write_pod_template,
    write_spread_constraints,
    write_volumes,
)

TEMPLATE_HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Evidence:
    """An object and what its description needs besides it."""

    obj: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]] | None = None
    pods: Sequence[Mapping[str, Any]] = ()  # a node's pods, a replica set's, or the pods of a claim's namespace
    replica_sets: Sequence[Mapping[str, Any]] = ()  # a deployment's
    endpoints: Mapping[str, Any] | None = None  # a service's
    lease: Mapping[str, Any] | None = None  # a node's
    resource_quotas: Sequence[Mapping[str, Any]] | None = None  # a namespace's (None: not looked up)
    limit_ranges: Sequence[Mapping[str, Any]] | None = None  # a namespace's (None: not looked up)


def describe(kind: str, evidence: Evidence, *, now: datetime) -> str:
    """The description of one object of `kind`."""
    writer = DescribeWriter()
    _DESCRIBERS.get(kind, _describe_generic)(writer, evidence, now)
    write_events(writer, evidence.events, now=now)
    return writer.text()


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_map(obj.get("metadata"))


def _controller(obj: Mapping[str, Any]) -> str:
    for owner in as_list(_metadata(obj).get("ownerReferences")):
        if as_map(owner).get("controller"):
            return f"{as_str(as_map(owner).get('kind'))}/{as_str(as_map(owner).get('name'))}"
    return ""


def _head(writer: DescribeWriter, obj: Mapping[str, Any], *, namespaced: bool = True) -> None:
    metadata = _metadata(obj)
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    if namespaced:
        writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")


def qos_class(pod: Mapping[str, Any]) -> str:
    """The pod's QoS class: Guaranteed, Burstable or BestEffort."""
    containers = [as_map(c) for key in ("initContainers", "containers") for c in as_list(as_map(pod.get("spec")).get(key))]
    if not any(as_map(as_map(c.get("resources")).get(part)) for c in containers for part in ("requests", "limits")):
        return "BestEffort"
    for container in containers:
        resources = as_map(container.get("resources"))
        limits, requests = as_map(resources.get("limits")), as_map(resources.get("requests"))
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                return "Burstable"
    return "Guaranteed"


def _describe_pod(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    pod = evidence.obj
    metadata, spec, status = _metadata(pod), as_map(pod.get("spec")), as_map(pod.get("status"))
    _head(writer, pod)
    if spec.get("priority") is not None:
        writer.write(0, f"Priority:\t{as_int(spec['priority'])}\n")
    if spec.get("priorityClassName"):
        writer.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("serviceAccountName"):
        writer.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    node_name = as_str(spec.get("nodeName"))
    writer.write(0, f"Node:\t{node_name + '/' + as_str(status.get('hostIP')) if node_name else '<none>'}\n")
    if status.get("startTime"):
        writer.write(0, f"Start Time:\t{timestamp(status['startTime'])}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    phase = as_str(status.get("phase"))
    if metadata.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        writer.write(0, f"Status:\tTerminating (lasts {since(parse_time(metadata['deletionTimestamp']), now)})\n")
        writer.write(0, f"Termination Grace Period:\t{as_int(metadata.get('deletionGracePeriodSeconds'))}s\n")
    else:
        writer.write(0, f"Status:\t{phase}\n")
    for label, key in (("Reason", "reason"), ("Message", "message")):
        if status.get(key):
            writer.write(0, f"{label}:\t{status[key]}\n")
    writer.write(0, f"IP:\t{as_str(status.get('podIP'))}\n")
    ips = [as_str(as_map(entry).get("ip")) for entry in as_list(status.get("podIPs"))]
    writer.write(0, "IPs:\n" if ips else "IPs:\t<none>\n")
    for ip in ips:
        writer.write(1, f"IP:\t{ip}\n")
    if _controller(pod):
        writer.write(0, f"Controlled By:\t{_controller(pod)}\n")
    if status.get("nominatedNodeName"):
        writer.write(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if as_list(spec.get("initContainers")):
        write_containers(writer, "Init Containers", spec.get("initContainers"), status.get("initContainerStatuses") or [])
    write_containers(writer, "Containers", spec.get("containers"), status.get("containerStatuses") or [])
    conditions = [as_map(condition) for condition in as_list(status.get("conditions"))]
    if conditions:
        writer.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in conditions:
            writer.write(1, f"{as_str(condition.get('type'))} \t{as_str(condition.get('status'))} \n")
    write_volumes(writer, spec.get("volumes"))
    writer.write(0, f"QoS Class:\t{qos_class(pod)}\n")
    write_multiline_map(writer, "Node-Selectors", spec.get("nodeSelector"))
    write_lines(writer, "Tolerations", [toleration_text(as_map(t)) for t in as_list(spec.get("tolerations"))])
    write_spread_constraints(writer, spec.get("topologySpreadConstraints"))


def _int_or_percent(value: Any, default: str) -> str:
    return default if value is None else str(value)


def template_matches(replica_set: Mapping[str, Any], deployment: Mapping[str, Any]) -> bool:
    """Whether a replica set runs the deployment's current template (ignoring pod-template-hash)."""
    return bool(_normalized_template(replica_set) == _normalized_template(deployment))


def _normalized_template(obj: Mapping[str, Any]) -> Any:
    template = _pruned(as_map(as_map(obj.get("spec")).get("template")))
    labels = as_map(as_map(template).get("metadata")).get("labels")
    if isinstance(labels, dict):
        labels.pop(TEMPLATE_HASH_LABEL, None)
    return _pruned(template)


def _pruned(value: Any) -> Any:
    """JSON without nulls and empty maps (a template read back carries `creationTimestamp: null`)."""
    if isinstance(value, Mapping):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item is not None and item != {}}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


def _replica_sets_text(replica_sets: Sequence[Mapping[str, Any]]) -> str:
    texts = [f"{as_str(_metadata(rs).get('name'))} ({as_int(as_map(rs.get('status')).get('replicas'))}/"
             f"{as_int(as_map(rs.get('spec')).get('replicas'), 1)} replicas created)" for rs in replica_sets]
    return ", ".join(texts) or "<none>"


def _describe_deployment(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    deployment = evidence.obj
    metadata, spec, status = _metadata(deployment), as_map(deployment.get("spec")), as_map(deployment.get("status"))
    _head(writer, deployment)
    writer.write(0, f"CreationTimestamp:\t{timestamp(metadata.get('creationTimestamp'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    writer.write(0, f"Replicas:\t{as_int(spec.get('replicas'), 1)} desired | {as_int(status.get('updatedReplicas'))} "
                    f"updated | {as_int(status.get('replicas'))} total | {as_int(status.get('availableReplicas'))} "
                    f"available | {as_int(status.get('unavailableReplicas'))} unavailable\n")
    strategy = as_map(spec.get("strategy"))
    writer.write(0, f"StrategyType:\t{as_str(strategy.get('type'))}\n")
    writer.write(0, f"MinReadySeconds:\t{as_int(spec.get('minReadySeconds'))}\n")
    if "rollingUpdate" in strategy:
        rolling = as_map(strategy["rollingUpdate"])
        writer.write(0, f"RollingUpdateStrategy:\t{_int_or_percent(rolling.get('maxUnavailable'), '25%')} max "
                        f"unavailable, {_int_or_percent(rolling.get('maxSurge'), '25%')} max surge\n")
    write_pod_template(writer, as_map(spec.get("template")))
    write_conditions(writer, status.get("conditions"))
    if evidence.replica_sets:
        new = [rs for rs in evidence.replica_sets if template_matches(rs, deployment)][:1]
        old = [rs for rs in evidence.replica_sets if rs not in new]
        writer.write(0, f"OldReplicaSets:\t{_replica_sets_text(old)}\n")
        writer.write(0, f"NewReplicaSet:\t{_replica_sets_text(new)}\n")


def _describe_replica_set(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    replica_set = evidence.obj
    metadata, spec, status = _metadata(replica_set), as_map(replica_set.get("spec")), as_map(replica_set.get("status"))
    _head(writer, replica_set)
    writer.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    if _controller(replica_set):
        writer.write(0, f"Controlled By:\t{_controller(replica_set)}\n")
    writer.write(0, f"Replicas:\t{as_int(status.get('replicas'))} current / {as_int(spec.get('replicas'), 1)} desired\n")
    phases = [as_str(as_map(pod.get("status")).get("phase")) for pod in evidence.pods]
    writer.write(0, f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
                    f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed\n")
    write_pod_template(writer, as_map(spec.get("template")))
    write_conditions(writer, status.get("conditions"))


def _endpoint_addresses(endpoints: Mapping[str, Any] | None, port_name: str) -> str:
    addresses: list[str] = []
    for subset in as_list(as_map(endpoints).get("subsets")):
        ports = [as_map(p) for p in as_list(as_map(subset).get("ports")) if as_str(as_map(p).get("name")) == port_name]
        for address in as_list(as_map(subset).get("addresses")):
            addresses.extend(f"{as_str(as_map(address).get('ip'))}:{as_int(port.get('port'))}" for port in ports)
    if not addresses:
        return "<none>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


def _describe_service(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    service = evidence.obj
    metadata, spec = _metadata(service), as_map(service.get("spec"))
    _head(writer, service)
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    writer.write(0, f"Type:\t{as_str(spec.get('type'))}\n")
    if spec.get("ipFamilyPolicy"):
        writer.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    writer.write(0, f"IP Families:\t{','.join(as_list(spec.get('ipFamilies'))) or '<none>'}\n")
    writer.write(0, f"IP:\t{as_str(spec.get('clusterIP'))}\n")
    writer.write(0, f"IPs:\t{','.join(as_list(spec.get('clusterIPs'))) or '<none>'}\n")
    if as_list(spec.get("externalIPs")):
        writer.write(0, f"External IPs:\t{','.join(as_list(spec.get('externalIPs')))}\n")
    for port in (as_map(p) for p in as_list(spec.get("ports"))):
        name, protocol = as_str(port.get("name")) or "<unset>", as_str(port.get("protocol"))
        writer.write(0, f"Port:\t{name}\t{as_int(port.get('port'))}/{protocol}\n")
        writer.write(0, f"TargetPort:\t{port.get('targetPort', port.get('port'))}/{protocol}\n")
        if as_int(port.get("nodePort")):
            writer.write(0, f"NodePort:\t{name}\t{as_int(port.get('nodePort'))}/{protocol}\n")
        writer.write(0, f"Endpoints:\t{_endpoint_addresses(evidence.endpoints, as_str(port.get('name')))}\n")
    writer.write(0, f"Session Affinity:\t{as_str(spec.get('sessionAffinity'))}\n")
    if spec.get("externalTrafficPolicy"):
        writer.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        writer.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")


def _describe_namespace(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    namespace = evidence.obj
    metadata = _metadata(namespace)
    _head(writer, namespace, namespaced=False)
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Status:\t{as_str(as_map(namespace.get('status')).get('phase'))}\n")
    write_policy(writer, evidence.resource_quotas, evidence.limit_ranges)


def _smart_label(key: str) -> str:
    """`creationTimestamp` → `Creation Timestamp` (the generic describer's field labels)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return words[:1].upper() + words[1:]


def _write_fields(writer: DescribeWriter, value: Mapping[str, Any], level: int) -> None:
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            writer.write(level, f"{_smart_label(key)}:\n")
            _write_fields(writer, item, level + 1)
        elif isinstance(item, list):
            writer.write(level, f"{_smart_label(key)}:\n")
            for entry in item:
                if isinstance(entry, Mapping):
                    _write_fields(writer, entry, level + 1)
                else:
                    writer.write(level + 1, f"{entry}\n")
        else:
            writer.write(level, f"{_smart_label(key)}:\t{'' if item is None else item}\n")


def _describe_generic(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    obj = evidence.obj
    metadata = _metadata(obj)
    _head(writer, obj, namespaced=bool(metadata.get("namespace")))
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"API Version:\t{as_str(obj.get('apiVersion'))}\n")
    writer.write(0, f"Kind:\t{as_str(obj.get('kind'))}\n")
    rest = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata")}
    _write_fields(writer, rest, 0)


def _describe_config_map(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    config_map = evidence.obj
    metadata = _metadata(config_map)
    _head(writer, config_map)
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, "\nData\n====\n")
    data = as_map(config_map.get("data"))
    for key in sorted(data):
        writer.write(0, f"{key}:\n----\n{as_str(data[key])}\n\n")
    writer.write(0, "\nBinaryData\n====\n")
    binary = as_map(config_map.get("binaryData"))
    for key in sorted(binary):
        writer.write(0, f"{key}: {len(base64.b64decode(as_str(binary[key])))} bytes\n")
    writer.write(0, "\n")


def _describe_secret(writer: DescribeWriter, evidence: Evidence, now: datetime) -> None:
    secret = evidence.obj
    metadata = _metadata(secret)
    _head(writer, secret)
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"\nType:\t{as_str(secret.get('type'))}\n")
    writer.write(0, "\nData\n====\n")
    data = as_map(secret.get("data"))
    for key in sorted(data):
        writer.write(0, f"{key}:\t{len(base64.b64decode(as_str(data[key])))} bytes\n")


_DESCRIBERS: dict[str, Callable[[DescribeWriter, Evidence, datetime], None]] = {
    "Pod": _describe_pod,
    "Deployment": _describe_deployment,
    "ReplicaSet": _describe_replica_set,
    "Service": _describe_service,
    "Namespace": _describe_namespace,
    "Node": describe_node,
    "ConfigMap": _describe_config_map,
    "Secret": _describe_secret,
    "PersistentVolume": lambda writer, evidence, now: describe_persistent_volume(writer, evidence.obj, now),
    "PersistentVolumeClaim": lambda writer, evidence, now: describe_persistent_volume_claim(
        writer, evidence.obj, evidence.pods, now),
    "StorageClass": lambda writer, evidence, now: describe_storage_class(writer, evidence.obj),
    "StatefulSet": lambda writer, evidence, _: describe_stateful_set(writer, evidence.obj, evidence.pods),
    "Job": lambda writer, evidence, now: describe_job(writer, evidence.obj, now),
    "CronJob": lambda writer, evidence, now: describe_cron_job(writer, evidence.obj, now),
    "PodDisruptionBudget": describe_pod_disruption_budget,
    "PriorityClass": describe_priority_class,
}
