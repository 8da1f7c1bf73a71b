"""Server-side Tables print what `kubectl get` shows on a real Kubernetes cluster (printers.go, v1.32)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minik8s.api.tables import build_table, column_definitions, human_duration, row_cells

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    """An RFC 3339 timestamp `delta` before NOW, as the apiserver stores it."""
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": ago(hours=1), **extra}


# --- human_duration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),  # up to 2s of clock skew reads as "now"
        (-2 + 1e-9, "0s"),
        (0, "0s"),
        (0.9, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (10_799, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 30 * 60, "3h30m"),
        (8 * 3600 - 1, "7h59m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (53 * 3600, "2d5h"),
        (8 * 86400 - 0.001, "7d23h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400 - 0.001, "7y364d"),
        (8 * 365 * 86400, "8y"),
        (20 * 365 * 86400 + 5 * 86400, "20y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# --- Pod --------------------------------------------------------------------------------------------


def container(name: str, **state: Any) -> dict[str, Any]:
    return {"name": name, "image": f"{name}:1", "ready": False, "restartCount": 0, **state}


def running(name: str, *, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return container(name, ready=ready, started=True, state={"running": {"startedAt": ago(minutes=30)}}, **extra)


def waiting(name: str, reason: str, **extra: Any) -> dict[str, Any]:
    return container(name, state={"waiting": {"reason": reason}}, **extra)


def terminated(name: str, *, exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(minutes=1)}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return container(name, state={"terminated": state})


def pod(
    statuses: list[dict[str, Any]],
    *,
    phase: str = "Running",
    init: list[dict[str, Any]] | None = None,
    spec_extra: dict[str, Any] | None = None,
    status_extra: dict[str, Any] | None = None,
    meta_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": s["name"], "image": s["image"]} for s in statuses]}
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses}
    if init is not None:
        spec["initContainers"] = [{"name": s["name"], "image": s["image"]} for s in init]
        status["initContainerStatuses"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-0", **(meta_extra or {})),
        "spec": {**spec, **(spec_extra or {})},
        "status": {**status, **(status_extra or {})},
    }


def sidecar_pod() -> dict[str, Any]:
    """A pod with a native sidecar (restartable init container) that started and is ready."""
    subject = pod([running("app")], init=[running("proxy")])
    subject["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    return subject


READY_CONDITION = {"conditions": [{"type": "Ready", "status": "True"}]}

POD_CASES: list[tuple[str, dict[str, Any], tuple[str, str, str]]] = [
    ("one of two ready", pod([running("app"), running("log", ready=False)]), ("1/2", "Running", "0")),
    ("all ready", pod([running("app"), running("log")]), ("2/2", "Running", "0")),
    ("no status yet", pod([], phase="Pending"), ("0/0", "Pending", "0")),
    ("creating", pod([waiting("app", "ContainerCreating")], phase="Pending"), ("0/1", "ContainerCreating", "0")),
    ("image pull backoff", pod([waiting("app", "ImagePullBackOff")], phase="Pending"), ("0/1", "ImagePullBackOff", "0")),
    ("err image pull", pod([waiting("app", "ErrImagePull")], phase="Pending"), ("0/1", "ErrImagePull", "0")),
    (
        "crash loop with last restart time",
        pod([waiting("app", "CrashLoopBackOff", restartCount=3,
                      lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=5)}})]),
        ("0/1", "CrashLoopBackOff", "3 (5m ago)"),
    ),
    (
        "restarts counted over containers, latest restart shown",
        pod([running("a", restartCount=1, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(hours=2)}}),
             running("b", restartCount=2, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(seconds=90)}})]),
        ("2/2", "Running", "3 (90s ago)"),
    ),
    ("restarts without a finish time", pod([running("app", restartCount=4)]), ("1/1", "Running", "4")),
    ("completed", pod([terminated("job", exit_code=0, reason="Completed")], phase="Succeeded"), ("0/1", "Completed", "0")),
    ("failed with reason", pod([terminated("job", exit_code=1, reason="Error")], phase="Failed"), ("0/1", "Error", "0")),
    ("oom killed", pod([terminated("app", exit_code=137, reason="OOMKilled")]), ("0/1", "OOMKilled", "0")),
    ("exit code without reason", pod([terminated("app", exit_code=3)]), ("0/1", "ExitCode:3", "0")),
    ("signal without reason", pod([terminated("app", exit_code=137, signal=9)]), ("0/1", "Signal:9", "0")),
    (
        "first container's state wins",
        pod([waiting("a", "CrashLoopBackOff"), waiting("b", "ImagePullBackOff")]),
        ("0/2", "CrashLoopBackOff", "0"),
    ),
    (
        "completed container beside a running one, pod ready",
        pod([terminated("init-like", exit_code=0, reason="Completed"), running("app")], status_extra=READY_CONDITION),
        ("1/2", "Running", "0"),
    ),
    (
        "completed container beside a running one, pod not ready",
        pod([terminated("init-like", exit_code=0, reason="Completed"), running("app")]),
        ("1/2", "NotReady", "0"),
    ),
    ("init 0/2", pod([waiting("app", "PodInitializing")], phase="Pending",
                     init=[running("migrate", ready=False), waiting("seed", "PodInitializing")]), ("0/1", "Init:0/2", "0")),
    ("init 1/2", pod([waiting("app", "PodInitializing")], phase="Pending",
                     init=[terminated("migrate", exit_code=0, reason="Completed"), running("seed", ready=False)]),
     ("0/1", "Init:1/2", "0")),
    ("init crash loop", pod([waiting("app", "PodInitializing")], phase="Pending",
                            init=[waiting("migrate", "CrashLoopBackOff", restartCount=2)]),
     ("0/1", "Init:CrashLoopBackOff", "2")),
    ("init error", pod([waiting("app", "PodInitializing")], phase="Pending",
                       init=[terminated("migrate", exit_code=1, reason="Error")]), ("0/1", "Init:Error", "0")),
    ("init exit code", pod([waiting("app", "PodInitializing")], phase="Pending",
                           init=[terminated("migrate", exit_code=2)]), ("0/1", "Init:ExitCode:2", "0")),
    ("init signal", pod([waiting("app", "PodInitializing")], phase="Pending",
                        init=[terminated("migrate", exit_code=143, signal=15)]), ("0/1", "Init:Signal:15", "0")),
    ("native sidecar counts as a container", sidecar_pod(), ("2/2", "Running", "0")),
    ("terminating", pod([running("app")], meta_extra={"deletionTimestamp": ago(seconds=5)}), ("1/1", "Terminating", "0")),
    (
        "finished pod being deleted keeps its reason",
        pod([terminated("job", exit_code=0, reason="Completed")], phase="Succeeded",
            meta_extra={"deletionTimestamp": ago(seconds=5)}),
        ("0/1", "Completed", "0"),
    ),
    ("node lost", pod([running("app")], status_extra={"reason": "NodeLost"}), ("1/1", "NodeLost", "0")),
    (
        "node lost and being deleted",
        pod([], status_extra={"reason": "NodeLost"}, meta_extra={"deletionTimestamp": ago(seconds=5)}),
        ("0/0", "Unknown", "0"),
    ),
    ("evicted", pod([], phase="Failed", status_extra={"reason": "Evicted"}), ("0/0", "Evicted", "0")),
    (
        "scheduling gated",
        pod([], phase="Pending", status_extra={"conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        ("0/0", "SchedulingGated", "0"),
    ),
]


@pytest.mark.parametrize(("subject", "expected"), [(p, e) for _, p, e in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_ready_status_and_restarts(subject: dict[str, Any], expected: tuple[str, str, str]) -> None:
    cells = row_cells("Pod", subject, now=NOW)
    assert (cells[1], cells[2], cells[3]) == expected


def test_pod_row_has_name_age_and_wide_placeholders() -> None:
    cells = row_cells("Pod", pod([running("app")], phase="Pending"), now=NOW)
    assert cells == ["web-0", "1/1", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"]


def test_pod_wide_cells_show_ip_node_and_readiness_gates() -> None:
    subject = pod(
        [running("app")],
        spec_extra={"nodeName": "node-1", "readinessGates": [{"conditionType": "lb/ready"}, {"conditionType": "x"}]},
        status_extra={"podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}], "nominatedNodeName": "node-2",
                      "conditions": [{"type": "lb/ready", "status": "True"}, {"type": "x", "status": "False"}]},
    )
    assert row_cells("Pod", subject, now=NOW)[5:] == ["10.244.1.7", "node-1", "node-2", "1/2"]


def test_pod_ip_falls_back_to_pod_ips() -> None:
    subject = pod([running("app")], status_extra={"podIPs": [{"ip": "fd00::7"}, {"ip": "10.244.1.7"}]})
    assert row_cells("Pod", subject, now=NOW)[5] == "fd00::7"


# --- Service, Endpoints -----------------------------------------------------------------------------


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("web"), "spec": spec, "status": status or {}}


SERVICE_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        "node port",
        service({"type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "selector": {"app": "web"},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]}),
        ["web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP", "60m", "app=web"],
    ),
    (
        "cluster ip, two ports, protocol defaulted",
        service({"clusterIP": "10.96.0.21", "selector": {"tier": "fe", "app": "web"},
                 "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}),
        ["web", "ClusterIP", "10.96.0.21", "<none>", "80/TCP,53/UDP", "60m", "app=web,tier=fe"],
    ),
    (
        "headless without selector or ports",
        service({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}),
        ["web", "ClusterIP", "None", "<none>", "<none>", "60m", "<none>"],
    ),
    (
        "external IPs",
        service({"type": "ClusterIP", "clusterIP": "10.96.0.22", "externalIPs": ["192.0.2.1", "192.0.2.2"],
                 "ports": [{"port": 443, "protocol": "TCP"}]}),
        ["web", "ClusterIP", "10.96.0.22", "192.0.2.1,192.0.2.2", "443/TCP", "60m", "<none>"],
    ),
    (
        "load balancer pending",
        service({"type": "LoadBalancer", "clusterIP": "10.96.0.23",
                 "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}),
        ["web", "LoadBalancer", "10.96.0.23", "<pending>", "80:31000/TCP", "60m", "<none>"],
    ),
    (
        "load balancer with ingress",
        service({"type": "LoadBalancer", "clusterIP": "10.96.0.24", "externalIPs": ["192.0.2.9"]},
                {"loadBalancer": {"ingress": [{"ip": "198.51.100.2"}, {"hostname": "lb.example"}]}}),
        ["web", "LoadBalancer", "10.96.0.24", "198.51.100.2,lb.example,192.0.2.9", "<none>", "60m", "<none>"],
    ),
    (
        "external name",
        service({"type": "ExternalName", "externalName": "db.example.com"}),
        ["web", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"],
    ),
]


@pytest.mark.parametrize(("subject", "expected"), [(s, e) for _, s, e in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES])
def test_service_cells(subject: dict[str, Any], expected: list[Any]) -> None:
    assert row_cells("Service", subject, now=NOW) == expected


def endpoints(subsets: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("web")}
    if subsets is not None:
        body["subsets"] = subsets
    return body


def addresses(*ips: str) -> list[dict[str, str]]:
    return [{"ip": ip} for ip in ips]


ENDPOINTS_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no subsets", endpoints(None), "<none>"),
    ("two addresses", endpoints([{"addresses": addresses("10.244.1.2", "10.244.1.3"), "ports": [{"port": 80}]}]),
     "10.244.1.2:80,10.244.1.3:80"),
    ("exactly three", endpoints([{"addresses": addresses("10.0.0.1", "10.0.0.2", "10.0.0.3"), "ports": [{"port": 80}]}]),
     "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80"),
    (
        "more than three",
        endpoints([{"addresses": addresses("10.244.1.2", "10.244.1.3", "10.244.2.2", "10.244.2.3"),
                    "ports": [{"port": 80}]}]),
        "10.244.1.2:80,10.244.1.3:80,10.244.2.2:80 + 1 more...",
    ),
    (
        "each port of each address counts",
        endpoints([{"addresses": addresses("10.0.0.1", "10.0.0.2"), "ports": [{"name": "http", "port": 80},
                                                                              {"name": "https", "port": 443}]}]),
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
    ),
    ("headless without ports", endpoints([{"addresses": addresses("10.0.0.1", "10.0.0.2")}]), "10.0.0.1,10.0.0.2"),
    ("ipv6", endpoints([{"addresses": addresses("fd00::1"), "ports": [{"port": 80}]}]), "[fd00::1]:80"),
    ("only not-ready addresses", endpoints([{"notReadyAddresses": addresses("10.0.0.1"), "ports": [{"port": 80}]}]), ""),
]


@pytest.mark.parametrize(("subject", "expected"), [(s, e) for _, s, e in ENDPOINTS_CASES],
                         ids=[c[0] for c in ENDPOINTS_CASES])
def test_endpoints_cells(subject: dict[str, Any], expected: str) -> None:
    assert row_cells("Endpoints", subject, now=NOW) == ["web", expected, "60m"]


# --- Node ---------------------------------------------------------------------------------------------


def node(*, ready: str | None = "True", unschedulable: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [{"type": "MemoryPressure", "status": "False"}],
        "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "172.18.0.2"}],
        "nodeInfo": {"kubeletVersion": "v1.32.0-minik8s", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "docker://26.1.0"},
    }
    if ready is not None:
        status["conditions"].append({"type": "Ready", "status": ready})
    spec = {"unschedulable": True} if unschedulable else {}
    metadata = {"name": "node-1", "creationTimestamp": ago(days=3), "labels": labels or {}}
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata, "spec": spec, "status": status}


@pytest.mark.parametrize(
    ("subject", "status", "roles"),
    [
        (node(), "Ready", "<none>"),
        (node(unschedulable=True), "Ready,SchedulingDisabled", "<none>"),
        (node(ready="Unknown"), "NotReady", "<none>"),
        (node(ready="False", unschedulable=True), "NotReady,SchedulingDisabled", "<none>"),
        (node(ready=None), "Unknown", "<none>"),
        (node(labels={"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "x",
                      "kubernetes.io/role": "worker"}), "Ready", "control-plane,worker"),
    ],
    ids=["ready", "cordoned", "not ready", "not ready and cordoned", "no ready condition", "roles"],
)
def test_node_status_and_roles(subject: dict[str, Any], status: str, roles: str) -> None:
    assert row_cells("Node", subject, now=NOW)[:5] == ["node-1", status, roles, "3d", "v1.32.0-minik8s"]


def test_node_wide_cells() -> None:
    assert row_cells("Node", node(), now=NOW)[5:] == [
        "172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "docker://26.1.0"]
    bare = {"metadata": {"name": "n"}, "status": {}}
    assert row_cells("Node", bare, now=NOW) == ["n", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>",
                                                "<unknown>", "<unknown>", "<unknown>"]


# --- Workloads ----------------------------------------------------------------------------------------


def workload(kind: str, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta("web"),
            "spec": {"template": template, **spec}, "status": status}


def test_deployment_cells() -> None:
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["fe", "be"]}, {"key": "canary", "operator": "DoesNotExist"}]}
    subject = workload("Deployment", {"replicas": 3, "selector": selector},
                       {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2})
    assert row_cells("Deployment", subject, now=NOW) == [
        "web", "2/3", 3, 2, "60m", "web,log", "nginx:1.27,busybox", "app=web,!canary,tier in (be,fe)"]  # sorted by key


def test_deployment_defaults_and_invalid_selector() -> None:
    fresh = workload("Deployment", {"selector": {"matchLabels": {"app": "web"}}}, {})
    assert row_cells("Deployment", fresh, now=NOW)[:4] == ["web", "0/1", 0, 0]
    broken = workload("Deployment", {"selector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]}}, {})
    assert row_cells("Deployment", broken, now=NOW)[-1] == "<invalid>"


def test_replica_set_cells() -> None:
    subject = workload("ReplicaSet", {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d9"}}},
                       {"replicas": 3, "readyReplicas": 1})
    assert row_cells("ReplicaSet", subject, now=NOW) == [
        "web", 3, 3, 1, "60m", "web,log", "nginx:1.27,busybox", "app=web,pod-template-hash=5d9"]
    assert row_cells("ReplicaSet", workload("ReplicaSet", {"replicas": 0}, {}), now=NOW)[1:4] == [0, 0, 0]
    assert row_cells("ReplicaSet", workload("ReplicaSet", {}, {}), now=NOW)[-1] == "<none>"


def test_daemon_set_cells() -> None:
    subject = workload("DaemonSet", {"selector": {"matchLabels": {"app": "agent"}}},
                       {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                        "updatedNumberScheduled": 3, "numberAvailable": 2})
    subject["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    assert row_cells("DaemonSet", subject, now=NOW) == [
        "web", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "60m", "web,log", "nginx:1.27,busybox", "app=agent"]
    assert row_cells("DaemonSet", workload("DaemonSet", {}, {}), now=NOW)[6] == "<none>"


# --- Event and the small kinds --------------------------------------------------------------------------


def test_event_cells_in_column_order() -> None:
    event = {
        "apiVersion": "v1", "kind": "Event", "metadata": meta("web-0.17c1"),
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(minutes=10), "lastTimestamp": ago(seconds=30), "count": 7,
    }
    assert row_cells("Event", event, now=NOW) == [
        "30s", "Warning", "BackOff", "pod/web-0", "spec.containers{app}", "kubelet, node-1",
        "Back-off restarting failed container", "10m", 7, "web-0.17c1"]


def test_event_of_the_events_api_uses_event_time_series_and_reporting_controller() -> None:
    event = {
        "metadata": meta("n.1"), "involvedObject": {"kind": "Node"}, "type": "Normal", "reason": "Starting",
        "eventTime": (NOW - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "reportingComponent": "minik8s-agent", "message": "started",
    }
    assert row_cells("Event", event, now=NOW) == [
        "4m", "Normal", "Starting", "node", "", "minik8s-agent", "started", "4m", 1, "n.1"]
    event["series"] = {"count": 5, "lastObservedTime": (NOW - timedelta(seconds=20)).isoformat()}
    event["reportingInstance"] = "node-1"
    cells = row_cells("Event", event, now=NOW)
    assert (cells[0], cells[5], cells[8]) == ("20s", "minik8s-agent, node-1", 5)


SMALL_KIND_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("Namespace", {"metadata": {"name": "team-a", "creationTimestamp": ago(days=2)}, "status": {"phase": "Terminating"}},
     ["team-a", "Terminating", "2d"]),
    ("Namespace", {"metadata": {"name": "team-b", "creationTimestamp": ago(days=2)}}, ["team-b", "Active", "2d"]),
    ("ConfigMap", {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}, ["cfg", 3, "60m"]),
    ("ConfigMap", {"metadata": meta("empty")}, ["empty", 0, "60m"]),
    ("Secret", {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}},
     ["tls", "kubernetes.io/tls", 2, "60m"]),
    ("Secret", {"metadata": meta("s"), "data": {"p": "cA=="}}, ["s", "Opaque", 1, "60m"]),
    ("Lease", {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "host_1a2b"}},
     ["kube-scheduler", "host_1a2b", "60m"]),
    ("Lease", {"metadata": meta("free"), "spec": {}}, ["free", "", "60m"]),
    ("PodTemplate", {"metadata": meta("unknown-kind")}, ["unknown-kind", "60m"]),
    ("PodTemplate", {"metadata": {"name": "no-timestamp"}}, ["no-timestamp", "<unknown>"]),
]


@pytest.mark.parametrize(("kind", "subject", "expected"), SMALL_KIND_CASES,
                         ids=[f"{kind}-{subject['metadata']['name']}" for kind, subject, _ in SMALL_KIND_CASES])
def test_small_kind_cells(kind: str, subject: dict[str, Any], expected: list[Any]) -> None:
    assert row_cells(kind, subject, now=NOW) == expected


# --- Column definitions and the Table ---------------------------------------------------------------------

EXPECTED_COLUMNS = {
    "Pod": (["Name", "Ready", "Status", "Restarts", "Age"], ["IP", "Node", "Nominated Node", "Readiness Gates"]),
    "Deployment": (["Name", "Ready", "Up-to-date", "Available", "Age"], ["Containers", "Images", "Selector"]),
    "ReplicaSet": (["Name", "Desired", "Current", "Ready", "Age"], ["Containers", "Images", "Selector"]),
    "DaemonSet": (["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"],
                  ["Containers", "Images", "Selector"]),
    "Service": (["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], ["Selector"]),
    "Endpoints": (["Name", "Endpoints", "Age"], []),
    "Node": (["Name", "Status", "Roles", "Age", "Version"],
             ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]),
    "Namespace": (["Name", "Status", "Age"], []),
    "Event": (["Last Seen", "Type", "Reason", "Object", "Message"], ["Subobject", "Source", "First Seen", "Count", "Name"]),
    "ConfigMap": (["Name", "Data", "Age"], []),
    "Secret": (["Name", "Type", "Data", "Age"], []),
    "Lease": (["Name", "Holder", "Age"], []),
    "Widget": (["Name", "Age"], []),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_COLUMNS))
def test_columns_as_kubectl_shows_them(kind: str) -> None:
    columns = column_definitions(kind)
    normal, wide = EXPECTED_COLUMNS[kind]
    assert [c["name"] for c in columns if c["priority"] == 0] == normal
    assert [c["name"] for c in columns if c["priority"] == 1] == wide
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in columns)
    assert [c["format"] for c in columns if c["name"] == "Name"] == ["name"]
    assert all(c["description"] for c in columns)


def test_every_row_has_one_cell_per_column() -> None:
    samples = {"Pod": POD_CASES[0][1], "Service": SERVICE_CASES[0][1], "Endpoints": ENDPOINTS_CASES[1][1],
               "Node": node(), "Deployment": workload("Deployment", {}, {}), "ReplicaSet": workload("ReplicaSet", {}, {}),
               "DaemonSet": workload("DaemonSet", {}, {}), "Event": {"metadata": meta("e")},
               **{kind: subject for kind, subject, _ in SMALL_KIND_CASES}}
    for kind, subject in samples.items():
        assert len(row_cells(kind, subject, now=NOW)) == len(column_definitions(kind)), kind


def test_column_types_match_kubernetes() -> None:
    assert {c["name"]: c["type"] for c in column_definitions("ReplicaSet")}["Desired"] == "integer"
    assert {c["name"]: c["type"] for c in column_definitions("Pod")}["Restarts"] == "string"
    column_definitions("Pod")[0]["name"] = "mutated"
    assert column_definitions("Pod")[0]["name"] == "Name"


def test_build_table_with_partial_object_metadata() -> None:
    finished = pod([terminated("job", exit_code=0, reason="Completed")], phase="Succeeded")
    table = build_table("Pod", [POD_CASES[0][1], finished], resource_version="42", now=NOW)
    assert (table["kind"], table["apiVersion"], table["metadata"]) == ("Table", "meta.k8s.io/v1", {"resourceVersion": "42"})
    assert table["columnDefinitions"] == column_definitions("Pod")
    first, second = table["rows"]
    assert first["cells"][:3] == ["web-0", "1/2", "Running"]
    assert first["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": POD_CASES[0][1]["metadata"]}
    assert "conditions" not in first
    assert second["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                     "message": "The pod has completed successfully."}]
    json.dumps(table)  # the apiserver sends it as is


def test_build_table_include_object_policies_and_continue() -> None:
    listed_item = {"metadata": meta("cfg"), "data": {"a": "1"}}  # items of a list may lack kind/apiVersion
    full = build_table("ConfigMap", [listed_item], resource_version="7", now=NOW, include_object="Object",
                       continue_token="eyJ2Ijo")
    assert full["metadata"] == {"resourceVersion": "7", "continue": "eyJ2Ijo"}
    assert full["rows"][0]["object"] == {"apiVersion": "v1", "kind": "ConfigMap", **listed_item}
    bare = build_table("ConfigMap", [listed_item], resource_version="7", now=NOW, include_object="None")
    assert bare["rows"] == [{"cells": ["cfg", 1, "60m"]}]
    empty = build_table("Lease", [], resource_version="9", now=NOW)
    assert empty["rows"] == [] and [c["name"] for c in empty["columnDefinitions"]] == ["Name", "Holder", "Age"]
    with pytest.raises(ValueError, match="includeObject"):
        build_table("Pod", [], resource_version="1", now=NOW, include_object="Everything")
