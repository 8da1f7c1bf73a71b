"""The building blocks of `describe` output, laid out as kubectl's describers lay them out.

kubectl's describe text is written in fragments (`Labels:\\t`, then one `k=v` per line) at
indentation levels of two spaces, and a Go tabwriter (padding 2) aligns the values of
consecutive `Field:\\tvalue` lines. `DescribeWriter` reproduces that, and the functions here
write the sections several kinds share: labels, annotations, tolerations, containers, volumes,
pod templates and the Events table. All pure: the clock comes in as `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from minik8s.api.table_values import as_int, as_list, as_map, as_str, format_label_selector, parse_time, since
from minik8s.cli.apply_patch import LAST_APPLIED
from minik8s.cli.tabwriter import DESCRIBE_MIN_WIDTH, DESCRIBE_PADDING, align

MAX_ANNOTATION_LENGTH = 140


class DescribeWriter:
    """Collects describe text; `flush` closes an alignment block as kubectl's Flush does."""

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._current: list[str] = []

    def write(self, level: int, text: str) -> None:
        self._current.append("  " * level + text)

    def flush(self) -> None:
        self._blocks.append(self._aligned())
        self._current = []

    def text(self) -> str:
        return "".join(self._blocks) + self._aligned()

    def _aligned(self) -> str:
        return align("".join(self._current), min_width=DESCRIBE_MIN_WIDTH, padding=DESCRIBE_PADDING)


def timestamp(value: Any) -> str:
    """A time as Go's RFC1123Z in the local zone (`Mon, 02 Jan 2006 15:04:05 -0700`)."""
    moment = parse_time(value)
    if moment is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return moment.astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


def write_multiline_map(writer: DescribeWriter, title: str, values: Any) -> None:
    """`Labels:` with one `k=v` per line, or `<none>` (printLabelsMultiline)."""
    writer.write(0, f"{title}:\t")
    entries = as_map(values)
    if not entries:
        writer.write(0, "<none>\n")
        return
    for index, key in enumerate(sorted(entries)):
        if index:
            writer.write(0, "\t")
        writer.write(0, f"{key}={entries[key]}\n")


def write_annotations(writer: DescribeWriter, title: str, values: Any) -> None:
    """`Annotations:` without the last-applied one; long or multi-line values on their own lines."""
    writer.write(0, f"{title}:\t")
    entries = {key: value for key, value in as_map(values).items() if key != LAST_APPLIED}
    if not entries:
        writer.write(0, "<none>\n")
        return
    for index, key in enumerate(sorted(entries)):
        if index:
            writer.write(0, "\t")
        value = as_str(entries[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LENGTH or "\n" in value:
            writer.write(0, f"{key}:\n")
            for line in value.split("\n"):
                shortened = line if len(line) <= MAX_ANNOTATION_LENGTH - 2 else line[:MAX_ANNOTATION_LENGTH - 2] + "..."
                writer.write(0, f"\t  {shortened}\n")
        else:
            writer.write(0, f"{key}: {value}\n")


def toleration_text(toleration: Mapping[str, Any]) -> str:
    key, value, effect = as_str(toleration.get("key")), as_str(toleration.get("value")), as_str(toleration.get("effect"))
    text = key + (f"={value}" if value else "") + (f":{effect}" if effect else "")
    if toleration.get("operator") == "Exists" and not value:
        text += " op=Exists" if key or effect else "op=Exists"
    if toleration.get("tolerationSeconds") is not None:
        text += f" for {as_int(toleration.get('tolerationSeconds'))}s"
    return text


def write_lines(writer: DescribeWriter, title: str, lines: Sequence[str]) -> None:
    """`Title:\\tfirst` then `\\tnext` per line, or `<none>`."""
    writer.write(0, f"{title}:\t")
    if not lines:
        writer.write(0, "<none>\n")
    for index, line in enumerate(lines):
        writer.write(0, ("\t" if index else "") + f"{line}\n")


def write_spread_constraints(writer: DescribeWriter, constraints: Any, *, space: str = "") -> None:
    """`Topology Spread Constraints:` one line per constraint, by topologyKey (nothing when there is none)."""
    entries = sorted((as_map(entry) for entry in as_list(constraints)), key=lambda c: as_str(c.get("topologyKey")))
    for index, constraint in enumerate(entries):
        writer.write(0, f"{space}\t" if index else f"{space}Topology Spread Constraints:\t")
        line = (f"{as_str(constraint.get('topologyKey'))}:{as_str(constraint.get('whenUnsatisfiable'))} "
                f"when max skew {as_int(constraint.get('maxSkew'))} is exceeded")
        if constraint.get("labelSelector") is not None:
            line += f" for selector {format_label_selector(constraint['labelSelector'])}"
        writer.write(0, line + "\n")


def write_events(writer: DescribeWriter, events: Sequence[Mapping[str, Any]] | None, *, now: datetime) -> None:
    """The Events table (DescribeEvents), oldest first; None when events were not looked up."""
    if events is None:
        return
    if not events:
        writer.write(0, "Events:\t<none>\n")
        return
    writer.flush()
    writer.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    writer.write(1, "----\t------\t----\t----\t-------\n")
    for event in sorted(events, key=event_sort_key):
        source = as_str(as_map(event.get("source")).get("component")) or as_str(event.get("reportingController"))
        message = as_str(event.get("message")).strip()
        field_path = as_str(as_map(event.get("involvedObject")).get("fieldPath"))
        if field_path:
            message = f"{field_path}: {message}"
        writer.write(1, f"{as_str(event.get('type'))}\t{as_str(event.get('reason'))}\t{event_interval(event, now)}"
                        f"\t{source}\t{message}\n")


def event_sort_key(event: Mapping[str, Any]) -> str:
    """Events in time order: last seen, else the event time, else first seen."""
    for field in ("lastTimestamp", "eventTime", "firstTimestamp"):
        moment = parse_time(event.get(field))
        if moment is not None:
            return moment.isoformat()
    return as_str(as_map(event.get("metadata")).get("creationTimestamp"))


def event_interval(event: Mapping[str, Any], now: datetime) -> str:
    """`5s`, or `2m (x3 over 10m)` for a repeated event."""
    first = parse_time(event.get("eventTime")) or parse_time(event.get("firstTimestamp"))
    first_seen = since(first, now)
    series = as_map(event.get("series"))
    if series:
        return f"{since(parse_time(series.get('lastObservedTime')), now)} (x{as_int(series.get('count'))} over {first_seen})"
    if as_int(event.get("count")) > 1:
        return f"{since(parse_time(event.get('lastTimestamp')), now)} (x{as_int(event.get('count'))} over {first_seen})"
    return first_seen


def probe_text(probe: Mapping[str, Any]) -> str:
    """DescribeProbe: `http-get http://:80/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`."""
    attributes = (f"delay={as_int(probe.get('initialDelaySeconds'))}s timeout={as_int(probe.get('timeoutSeconds'))}s "
                  f"period={as_int(probe.get('periodSeconds'))}s #success={as_int(probe.get('successThreshold'))} "
                  f"#failure={as_int(probe.get('failureThreshold'))}")
    if "exec" in probe:
        return f"exec [{' '.join(as_str(part) for part in as_list(as_map(probe['exec']).get('command')))}] {attributes}"
    if "httpGet" in probe:
        http = as_map(probe["httpGet"])
        scheme = (as_str(http.get("scheme")) or "HTTP").lower()
        return f"http-get {scheme}://{as_str(http.get('host'))}:{http.get('port')}{as_str(http.get('path'))} {attributes}"
    if "tcpSocket" in probe:
        tcp = as_map(probe["tcpSocket"])
        return f"tcp-socket {as_str(tcp.get('host'))}:{tcp.get('port')} {attributes}"
    if "grpc" in probe:
        return f"grpc <pod>:{as_map(probe['grpc']).get('port')} {as_str(as_map(probe['grpc']).get('service'))} {attributes}"
    return f"unknown {attributes}"


def _ports_text(ports: Sequence[Mapping[str, Any]], field: str) -> str:
    texts = []
    for port in ports:
        text = f"{as_int(port.get(field))}/{as_str(port.get('protocol'))}"
        texts.append(f"{text} ({port['name']})" if port.get("name") else text)
    return ", ".join(texts)


def _write_state(writer: DescribeWriter, title: str, state: Mapping[str, Any]) -> None:
    if "running" in state:
        writer.write(2, f"{title}:\tRunning\n")
        writer.write(3, f"Started:\t{timestamp(as_map(state['running']).get('startedAt'))}\n")
    elif "terminated" in state:
        terminated = as_map(state["terminated"])
        writer.write(2, f"{title}:\tTerminated\n")
        for field, label in (("reason", "Reason"), ("message", "Message")):
            if terminated.get(field):
                writer.write(3, f"{label}:\t{terminated[field]}\n")
        writer.write(3, f"Exit Code:\t{as_int(terminated.get('exitCode'))}\n")
        if as_int(terminated.get("signal")) > 0:
            writer.write(3, f"Signal:\t{as_int(terminated.get('signal'))}\n")
        writer.write(3, f"Started:\t{timestamp(terminated.get('startedAt'))}\n")
        writer.write(3, f"Finished:\t{timestamp(terminated.get('finishedAt'))}\n")
    else:
        writer.write(2, f"{title}:\tWaiting\n")
        reason = as_str(as_map(state.get("waiting")).get("reason"))
        if reason:
            writer.write(3, f"Reason:\t{reason}\n")


def _write_container(writer: DescribeWriter, container: Mapping[str, Any], status: Mapping[str, Any] | None, *, space: str) -> None:
    writer.write(1, f"{' ' if space else ''}{as_str(container.get('name'))}:\n")
    if status is not None:
        writer.write(2, f"Container ID:\t{as_str(status.get('containerID'))}\n")
    writer.write(2, f"Image:\t{as_str(container.get('image'))}\n")
    if status is not None:
        writer.write(2, f"Image ID:\t{as_str(status.get('imageID'))}\n")
    ports = [as_map(port) for port in as_list(container.get("ports"))]
    for label, field in (("Port", "containerPort"), ("Host Port", "hostPort")):
        text = _ports_text(ports, field)
        writer.write(2, f"{label}s:\t{text}\n" if "," in text else f"{label}:\t{text or '<none>'}\n")
    for label, field in (("Command", "command"), ("Args", "args")):
        if as_list(container.get(field)):
            writer.write(2, f"{label}:\n")
            for part in as_list(container.get(field)):
                for line in str(part).split("\n"):
                    writer.write(3, f"{line}\n")
    if status is not None:
        _write_state(writer, "State", as_map(status.get("state")))
        if "terminated" in as_map(status.get("lastState")):
            _write_state(writer, "Last State", as_map(status.get("lastState")))
        writer.write(2, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
        writer.write(2, f"Restart Count:\t{as_int(status.get('restartCount'))}\n")
    _write_resources(writer, as_map(container.get("resources")), level=2)
    for label, field in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
        if isinstance(container.get(field), dict):
            writer.write(2, f"{label}:\t{probe_text(container[field])}\n")
    _write_environment(writer, [as_map(env) for env in as_list(container.get("env"))])
    mounts = sorted((as_map(mount) for mount in as_list(container.get("volumeMounts"))),
                    key=lambda mount: as_str(mount.get("mountPath")))
    writer.write(2, "Mounts:" + ("\n" if mounts else "\t<none>\n"))
    for mount in mounts:
        flags = ["ro" if mount.get("readOnly") else "rw"]
        if mount.get("subPath"):
            flags.append(f'path="{mount["subPath"]}"')
        writer.write(3, f"{as_str(mount.get('mountPath'))} from {as_str(mount.get('name'))} ({','.join(flags)})\n")


def _write_resources(writer: DescribeWriter, resources: Mapping[str, Any], *, level: int) -> None:
    for label, field in (("Limits", "limits"), ("Requests", "requests")):
        values = as_map(resources.get(field))
        if values:
            writer.write(level, f"{label}:\n")
        for name in sorted(values):
            writer.write(level + 1, f"{name}:\t{values[name]}\n")


def _write_environment(writer: DescribeWriter, env: Sequence[Mapping[str, Any]]) -> None:
    writer.write(2, "Environment:" + ("\n" if env else "\t<none>\n"))
    for variable in env:
        name = as_str(variable.get("name"))
        source = as_map(variable.get("valueFrom"))
        if not source:
            for index, line in enumerate(as_str(variable.get("value")).split("\n")):
                writer.write(3, f"{name}:\t{line}\n" if index == 0 else f"\t{line}\n")
        elif "fieldRef" in source:
            field_ref = as_map(source["fieldRef"])
            writer.write(3, f"{name}:\t ({as_str(field_ref.get('apiVersion'))}:{as_str(field_ref.get('fieldPath'))})\n")
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            ref_kind = "config map" if "configMapKeyRef" in source else "secret"
            ref = as_map(source.get("configMapKeyRef") or source.get("secretKeyRef"))
            optional = "true" if ref.get("optional") else "false"
            writer.write(3, f"{name}:\t<set to the key '{as_str(ref.get('key'))}' of {ref_kind} "
                            f"'{as_str(ref.get('name'))}'>\tOptional: {optional}\n")
        else:
            writer.write(3, f"{name}:\t<set from {next(iter(source))}>\n")


def write_containers(writer: DescribeWriter, title: str, containers: Any, statuses: Any, *, space: str = "") -> None:
    """A `Containers:` section; `statuses` None for a template (no state lines)."""
    specs = [as_map(container) for container in as_list(containers)]
    writer.write(0, f"{space}{title}:{'' if specs else ' <none>'}\n")
    by_name = None if statuses is None else {as_str(as_map(s).get("name")): as_map(s) for s in as_list(statuses)}
    for container in specs:
        status = None if by_name is None else by_name.get(as_str(container.get("name")))
        _write_container(writer, container, status, space=space)


_VOLUME_TYPES = {
    "emptyDir": lambda source: [("Type", "EmptyDir (a temporary directory that shares a pod's lifetime)"),
                                ("Medium", as_str(source.get("medium"))),
                                ("SizeLimit", as_str(source.get("sizeLimit")) or "<unset>")],
    "hostPath": lambda source: [("Type", "HostPath (bare host directory volume)"), ("Path", as_str(source.get("path"))),
                                ("HostPathType", as_str(source.get("type")) or "<none>")],
    "configMap": lambda source: [("Type", "ConfigMap (a volume populated by a ConfigMap)"),
                                 ("Name", as_str(source.get("name"))),
                                 ("Optional", "true" if source.get("optional") else "false")],
    "secret": lambda source: [("Type", "Secret (a volume populated by a Secret)"),
                              ("SecretName", as_str(source.get("secretName"))),
                              ("Optional", "true" if source.get("optional") else "false")],
    "persistentVolumeClaim": lambda source: [
        ("Type", "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)"),
        ("ClaimName", as_str(source.get("claimName"))), ("ReadOnly", "true" if source.get("readOnly") else "false")],
    "projected": lambda source: [("Type", "Projected (a volume that contains injected data from multiple sources)"),
                                 *(row for part in as_list(source.get("sources")) for row in _projected_rows(as_map(part)))],
}


def _optional(value: Any) -> str:
    """A *bool as Go's %v prints it."""
    return "<nil>" if value is None else ("true" if value else "false")


def _projected_rows(part: Mapping[str, Any]) -> list[tuple[str, str]]:
    """printProjectedVolumeSource: one or two rows per source."""
    if "secret" in part:
        secret = as_map(part["secret"])
        return [("SecretName", as_str(secret.get("name"))), ("SecretOptionalName", _optional(secret.get("optional")))]
    if "downwardAPI" in part:
        return [("DownwardAPI", "true")]
    if "configMap" in part:
        config_map = as_map(part["configMap"])
        return [("ConfigMapName", as_str(config_map.get("name"))),
                ("ConfigMapOptional", _optional(config_map.get("optional")))]
    if "serviceAccountToken" in part:
        return [("TokenExpirationSeconds", str(as_map(part["serviceAccountToken"]).get("expirationSeconds", 3600)))]
    return []


def write_volumes(writer: DescribeWriter, volumes: Any, *, space: str = "") -> None:
    entries = [as_map(volume) for volume in as_list(volumes)]
    if not entries:
        writer.write(0, f"{space}Volumes:\t<none>\n")
        return
    writer.write(0, f"{space}Volumes:\n")
    for volume in entries:
        writer.write(1, f"{' ' if space else ''}{as_str(volume.get('name'))}:\n")
        source_type = next((name for name in _VOLUME_TYPES if name in volume), None)
        if source_type is None:
            writer.write(1, "<unknown>\n")
            continue
        for label, value in _VOLUME_TYPES[source_type](as_map(volume[source_type])):
            writer.write(2, f"{label}:\t{value}\n")


def write_pod_template(writer: DescribeWriter, template: Mapping[str, Any]) -> None:
    """DescribePodTemplate, as deployments and replica sets show theirs."""
    metadata, spec = as_map(template.get("metadata")), as_map(template.get("spec"))
    writer.write(0, "Pod Template:\n")
    write_multiline_map(writer, "  Labels", metadata.get("labels"))
    if as_map(metadata.get("annotations")):
        write_annotations(writer, "  Annotations", metadata.get("annotations"))
    if spec.get("serviceAccountName"):
        writer.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if as_list(spec.get("initContainers")):
        write_containers(writer, "Init Containers", spec.get("initContainers"), None, space="  ")
    write_containers(writer, "Containers", spec.get("containers"), None, space="  ")
    write_volumes(writer, spec.get("volumes"), space="  ")
    write_spread_constraints(writer, spec.get("topologySpreadConstraints"), space="  ")
    if spec.get("priorityClassName"):
        writer.write(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    write_multiline_map(writer, "  Node-Selectors", spec.get("nodeSelector"))
    write_lines(writer, "  Tolerations", [toleration_text(as_map(t)) for t in as_list(spec.get("tolerations"))])


def write_conditions(writer: DescribeWriter, conditions: Any) -> None:
    """A workload's `Conditions:` table (type, status, reason)."""
    entries = [as_map(condition) for condition in as_list(conditions)]
    if not entries:
        return
    writer.write(0, "Conditions:\n  Type\tStatus\tReason\n")
    writer.write(1, "----\t------\t------\n")
    for condition in entries:
        writer.write(1, f"{as_str(condition.get('type'))} \t{as_str(condition.get('status'))}\t"
                        f"{as_str(condition.get('reason'))}\n")
