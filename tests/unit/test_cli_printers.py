"""The pure parts of the kubectl-like verbs: what users read (tables, YAML, JSONPath, describe, rollout
lines) and what the CLI decides before any request (resource arguments, flags, apply patches)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from minik8s.api.kinds import DEPLOYMENTS, PODS
from minik8s.cli import jsonpath
from minik8s.cli.api_calls import pick_container
from minik8s.cli.apply_patch import LAST_APPLIED, apply_patch, read_last_applied, with_last_applied
from minik8s.cli.describers import Evidence, describe, qos_class, template_matches
from minik8s.cli.errors import CliError
from minik8s.cli.flags import normalize_bool_flags, parse_duration
from minik8s.cli.kubeconfig_context import error_line
from minik8s.cli.printers import (
    OutputFormat,
    TableOptions,
    format_cell,
    parse_output,
    render_objects,
    render_table,
    to_yaml,
)
from minik8s.cli.resources import parse_kind_name, parse_resource_args, resolve_kind
from minik8s.cli.tabwriter import align
from minik8s.cli.verbs_edit import split_changes
from minik8s.cli.verbs_node import DrainOptions, classify_pods
from minik8s.cli.verbs_read import events_table
from minik8s.cli.verbs_rollout import choose_revision, history_text, rollout_message, undo_patch
from minik8s.client.errors import Invalid, NotFound, ServerUnreachable

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)


def pod_table(rows: list[tuple[str, str, dict[str, str]]]) -> dict[str, Any]:
    columns = [{"name": "Name", "type": "string", "format": "name", "priority": 0},
               {"name": "Status", "type": "string", "format": "", "priority": 0},
               {"name": "Restarts", "type": "integer", "format": "", "priority": 0},
               {"name": "IP", "type": "string", "format": "", "priority": 1}]
    return {"kind": "Table", "columnDefinitions": columns,
            "rows": [{"cells": [name, status, 0, "10.244.0.5"],
                      "object": {"metadata": {"name": name, "namespace": "prod", "labels": labels}}}
                     for name, status, labels in rows]}


# -- tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("NAME\tAGE\na\t1s\n", "NAME   AGE\na      1s\n"),  # min width 6 (text + padding 3)
    ("NAME\tSTATUS\tAGE\nlong-name\tRunning\t5m\n", "NAME        STATUS    AGE\nlong-name   Running   5m\n"),
    ("a\tb\n\nlonger\tc\n", "a     b\n\nlonger   c\n"),  # a blank line ends the column block
])
def test_align_pads_columns_like_gos_tabwriter(text: str, expected: str) -> None:
    assert align(text) == expected


def test_align_remembers_widths_across_calls() -> None:
    widths: list[int] = []
    assert align("a-very-long-name\tx\n", remembered=widths) == "a-very-long-name   x\n"
    assert align("b\ty\n", remembered=widths) == "b                  y\n"


@pytest.mark.parametrize(("options", "expected"), [
    (TableOptions(), ["NAME   STATUS    RESTARTS", "web    Running   0"]),
    (TableOptions(wide=True), ["NAME   STATUS    RESTARTS   IP", "web    Running   0          10.244.0.5"]),
    (TableOptions(with_namespace=True), ["NAMESPACE   NAME   STATUS    RESTARTS", "prod        web    Running   0"]),
    (TableOptions(show_labels=True), ["NAME   STATUS    RESTARTS   LABELS", "web    Running   0          app=web,x=y"]),
    (TableOptions(kind_prefix="pod"), ["NAME      STATUS    RESTARTS", "pod/web   Running   0"]),
    (TableOptions(no_headers=True), ["web   Running   0"]),
])
def test_render_table_decorates_like_kubectl(options: TableOptions, expected: list[str]) -> None:
    text = render_table(pod_table([("web", "Running", {"x": "y", "app": "web"})]), options)
    assert text.splitlines() == expected


def test_an_empty_table_prints_nothing() -> None:
    assert render_table(pod_table([]), TableOptions()) == ""


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (3, "3"), (2.0, "2"), (0.5, "0.5"), (True, "true"), ("two\nlines", "two..."), (["a", "b"], "[a b]"),
])
def test_cells_print_as_go_prints_them(value: Any, text: str) -> None:
    assert format_cell(value) == text


# -- other output forms ------------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "parsed"), [
    (None, OutputFormat()), ("wide", OutputFormat("wide")), ("yaml", OutputFormat("yaml")),
    ("jsonpath={.items[*].metadata.name}", OutputFormat("jsonpath", "{.items[*].metadata.name}")),
])
def test_output_flags(flag: str | None, parsed: OutputFormat) -> None:
    assert parse_output(flag) == parsed


def test_an_unknown_output_format_is_kubectls_error() -> None:
    with pytest.raises(CliError) as raised:
        parse_output("xml")
    assert raised.value.verbatim and raised.value.message.startswith(
        'error: unable to match a printer suitable for the output format "xml"')


def test_yaml_quotes_and_blocks_like_go_yaml() -> None:
    text = to_yaml({"b": "3600", "a": "two\nlines\n", "c": "plain"})
    assert text == 'a: |\n  two\n  lines\nb: "3600"\nc: plain\n'


def test_objects_print_as_one_object_or_a_list() -> None:
    pod = {"metadata": {"name": "web"}}
    deployment = {"metadata": {"name": "api"}}
    assert render_objects([(PODS, pod), (DEPLOYMENTS, deployment)], OutputFormat("name"), single=False) == \
        "pod/web\ndeployment.apps/api\n"
    single = yaml.safe_load(render_objects([(PODS, pod)], OutputFormat("yaml"), single=True))
    assert single == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    listed = yaml.safe_load(render_objects([(PODS, pod)], OutputFormat("yaml"), single=False))
    assert listed["kind"] == "List" and listed["items"] == [single]


# -- JSONPath ----------------------------------------------------------------------------------

DATA = {"items": [
    {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
     "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Scheduled", "status": "True"}]},
     "spec": {"replicas": 2}},
    {"metadata": {"name": "b", "labels": {}}, "status": {"conditions": [{"type": "Ready", "status": "False"}]},
     "spec": {"replicas": 5}},
]}


@pytest.mark.parametrize(("template", "output"), [
    ("{.items[*].metadata.name}", "a b"),
    ("{.items[0].metadata.name}", "a"),
    ("{.items[-1].metadata.name}", "b"),
    ("{.items[0:1].metadata.name}", "a"),
    ('{range .items[*]}{.metadata.name}{"\\t"}{.spec.replicas}{"\\n"}{end}', "a\t2\nb\t5\n"),
    ('{.items[?(@.spec.replicas>3)].metadata.name}', "b"),
    ('{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"),
    ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "x"),
    ("{.items[0].metadata.labels['app.kubernetes.io/name']}", "x"),
    ("{.items[1].metadata.labels}", "{}"),
    ("{.items[0].spec}", '{"replicas":2}'),
    ("{..name}", "a b"),
    ("{.items[*]['metadata.name']}", ""),
    ("{.missing.key}", ""),
    ("names: {.items[*].metadata.name}!", "names: a b!"),
])
def test_jsonpath_renders_like_kubectl(template: str, output: str) -> None:
    assert jsonpath.render(template, DATA) == output


@pytest.mark.parametrize("template", ["{.items[", "{.items[0]", "{range .items[*]}{.a}"])
def test_bad_jsonpath_templates_are_one_line_errors(template: str) -> None:
    with pytest.raises(CliError) as raised:
        jsonpath.render(template, DATA)
    assert raised.value.message.startswith("error: error") and "\n" not in raised.value.message


# -- resource arguments and flags ----------------------------------------------------------------


def test_resource_arguments_as_kubectl_reads_them() -> None:
    requests = parse_resource_args(["po,svc", "web"], verb="get")
    assert [(r.kind.plural, r.names) for r in requests] == [("pods", ("web",)), ("services", ("web",))]
    pairs = parse_resource_args(["deploy/web", "pod/a", "deployment.apps/api"], verb="get")
    assert [(r.kind.plural, r.names) for r in pairs] == [("deployments", ("web", "api")), ("pods", ("a",))]
    everything = parse_resource_args(["all"], verb="get")
    assert [r.kind.plural for r in everything] == ["pods", "services", "daemonsets", "deployments", "replicasets",
                                                   "statefulsets", "cronjobs", "jobs"]
    assert parse_kind_name(["web-1"], default_kind="pods", verb="logs")[1] == "web-1"


@pytest.mark.parametrize(("args", "message"), [
    (["widgets"], 'error: the server doesn\'t have a resource type "widgets"'),
    ([], 'error: you must specify the type of resource to get.'),
    (["pods", "pod/x"], "error: there is no need to specify a resource type as a separate argument"),
])
def test_bad_resource_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CliError) as raised:
        parse_resource_args(args, verb="get")
    assert raised.value.message.startswith(message)


def test_kind_names_resolve_like_kubectl() -> None:
    assert resolve_kind("deployment.apps") is DEPLOYMENTS and resolve_kind("Deployment") is DEPLOYMENTS


@pytest.mark.parametrize(("argv", "normalized"), [
    (["delete", "po", "x", "--wait=false"], ["delete", "po", "x", "--no-wait"]),
    (["label", "--overwrite=true"], ["label", "--overwrite"]),
    (["exec", "p", "--", "cmd", "--flag=false"], ["exec", "p", "--", "cmd", "--flag=false"]),
])
def test_boolean_flags_accept_kubectls_spelling(argv: list[str], normalized: list[str]) -> None:
    assert normalize_bool_flags(argv) == normalized


@pytest.mark.parametrize(("text", "seconds"), [("30", 30.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, flag="--timeout") == seconds


def test_label_arguments_split_into_resources_settings_and_removals() -> None:
    assert split_changes(["pod", "web", "env=prod", "tier-"]) == (["pod", "web"], {"env": "prod"}, ["tier"])


# -- errors --------------------------------------------------------------------------------------


def test_api_errors_read_like_kubectl() -> None:
    servers = ["http://127.0.0.1:6443"]
    assert error_line(NotFound(404, "NotFound", 'pods "x" not found'), servers) == \
        'Error from server (NotFound): pods "x" not found'
    refused = ServerUnreachable("no apiserver answered GET /api (last tried ...: ConnectError('refused'))")
    assert error_line(refused, servers) == \
        "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
    status = {"kind": "Status", "code": 422, "reason": "Invalid", "message": "...",
              "details": {"kind": "Deployment", "name": "bad", "causes": [
                  {"field": "spec.replicas", "message": "Invalid value: -1: must be greater than or equal to 0"}]}}
    assert error_line(Invalid(422, "Invalid", "...", status), servers) == \
        'The Deployment "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'


# -- apply ---------------------------------------------------------------------------------------

APPLIED = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "labels": {"app": "web", "old": "x"}},
           "spec": {"template": {"spec": {"containers": [
               {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
               {"name": "sidecar", "image": "busybox"}]}}}}


def test_apply_patch_sets_the_manifest_and_deletes_only_what_it_dropped() -> None:
    manifest: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]}]}}}}
    patch = apply_patch(manifest, APPLIED, kind="Deployment")
    assert patch["metadata"]["labels"] == {"app": "web", "old": None}
    containers = patch["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "$patch": "delete"}]
    assert containers[1] == {"name": "sidecar", "$patch": "delete"}
    assert read_last_applied(patch) == {**manifest, "metadata": {**manifest["metadata"], "annotations": {}}}


def test_the_first_apply_records_the_manifest_in_the_annotation() -> None:
    created = with_last_applied({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
    assert created["metadata"]["annotations"][LAST_APPLIED] == \
        '{"data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c"}}\n'


# -- describe --------------------------------------------------------------------------------------

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "prod", "uid": "u1", "labels": {"app": "web"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "web-h1", "controller": True}]},
       "spec": {"nodeName": "node-1", "containers": [{
           "name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}],
           "readinessProbe": {"httpGet": {"path": "/ready", "port": 80}, "timeoutSeconds": 1, "periodSeconds": 10,
                              "successThreshold": 1, "failureThreshold": 3}}],
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                                 "tolerationSeconds": 300}],
                "volumes": [{"name": "cache", "emptyDir": {}}]},
       "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
                  "conditions": [{"type": "Ready", "status": "True"}],
                  "containerStatuses": [{"name": "web", "ready": True, "restartCount": 2, "image": "nginx",
                                         "containerID": "docker://abc",
                                         "state": {"running": {"startedAt": "2026-01-02T11:00:00Z"}}}]}}


def test_describe_pod_has_kubectls_sections() -> None:
    event = {"type": "Normal", "reason": "Pulled", "message": "Container image pulled", "count": 3,
             "firstTimestamp": (NOW - timedelta(minutes=10)).isoformat(),
             "lastTimestamp": (NOW - timedelta(seconds=30)).isoformat(), "source": {"component": "kubelet"}}
    lines = describe("Pod", Evidence(POD, [event]), now=NOW).splitlines()
    assert lines[:3] == ["Name:         web-1", "Namespace:    prod", "Node:         node-1/10.0.0.1"]
    for expected in ("Controlled By:  ReplicaSet/web-h1", "    Container ID:   docker://abc",
                     "    State:          Running", "    Restart Count:  2",
                     "    Readiness:      http-get http://:80/ready delay=0s timeout=1s period=10s #success=1 "
                     "#failure=3",
                     "    Type:        EmptyDir (a temporary directory that shares a pod's "
                     "lifetime)", "QoS Class:       BestEffort",
                     "Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s"):
        assert expected in lines, expected
    assert lines[lines.index("Conditions:") + 2].split() == ["Ready", "True"]
    assert lines[-4] == "Events:" and lines[-3].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[-1].split() == ["Normal", "Pulled", "30s", "(x3", "over", "10m)", "kubelet", "Container", "image",
                                 "pulled"]


def test_describe_without_events_says_none_and_unknown_kinds_fall_back_to_fields() -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    lines = describe("Lease", Evidence(lease, []), now=NOW).splitlines()
    assert lines[0].split() == ["Name:", "node-1"]
    assert "Kind:         Lease" in lines and "Spec:" in lines
    assert "  Holder Identity:         node-1" in lines
    assert lines[-1].split() == ["Events:", "<none>"]


def test_describe_workloads_services_and_namespaces() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    deployment = {"metadata": {"name": "web", "namespace": "prod"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template,
                           "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
                  "status": {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2, "unavailableReplicas": 1,
                             "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}}
    current = {"metadata": {"name": "web-h2"}, "spec": {"replicas": 3, "template": {
        **template, "metadata": {"labels": {"app": "web", "pod-template-hash": "h2"}}}}, "status": {"replicas": 3}}
    old = replica_set(1, "nginx:1")
    lines = describe("Deployment", Evidence(deployment, [], replica_sets=[old, current]), now=NOW).splitlines()
    assert "Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable" in lines
    assert "RollingUpdateStrategy:  25% max unavailable, 1 max surge" in lines
    assert lines[-4:-1] == ["  Available      False   MinimumReplicasUnavailable",
                            "OldReplicaSets:  web-h1 (0/1 replicas created)",
                            "NewReplicaSet:   web-h2 (3/3 replicas created)"]

    service = {"metadata": {"name": "web", "namespace": "prod"},
               "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"], "selector": {"app": "web"},
                        "sessionAffinity": "None",
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]}}
    endpoints = {"subsets": [{"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.7"}],
                              "ports": [{"name": "http", "port": 8080}]}]}
    lines = describe("Service", Evidence(service, [], endpoints=endpoints), now=NOW).splitlines()
    for expected in ("Selector:          app=web", "Port:              http  80/TCP", "TargetPort:        8080/TCP",
                     "NodePort:          http  30080/TCP", "Endpoints:         10.244.1.5:8080,10.244.2.7:8080"):
        assert expected in lines, expected

    namespace = {"metadata": {"name": "prod", "labels": {"kubernetes.io/metadata.name": "prod"}},
                 "status": {"phase": "Active"}}
    assert describe("Namespace", Evidence(namespace, []), now=NOW).splitlines() == [
        "Name:         prod", "Labels:       kubernetes.io/metadata.name=prod", "Annotations:  <none>",
        "Status:       Active", "Events:       <none>"]


def test_describe_node_shows_its_pods_and_what_they_ask_for() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"unschedulable": True, "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}, "capacity": {"cpu": "2", "memory": "4Gi"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
    pod = {"metadata": {"name": "web-1", "namespace": "prod", "creationTimestamp": "2026-01-02T11:00:00Z"},
           "spec": {"containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                  "limits": {"cpu": "1", "memory": "2Gi"}}}]}}
    lines = describe("Node", Evidence(node, [], pods=[pod]), now=NOW).splitlines()
    assert "Taints:             k=v:NoSchedule" in lines and "Unschedulable:      true" in lines
    assert any(line.startswith("Lease:") and "Failed to get lease" in line for line in lines)
    assert "  InternalIP:  10.0.0.1" in lines and "Non-terminated Pods:          (1 in total)" in lines
    row = lines[lines.index("Non-terminated Pods:          (1 in total)") + 3].split()
    assert row == ["prod", "web-1", "500m", "(25%)", "1", "(50%)", "1Gi", "(25%)", "2Gi", "(50%)", "60m"]
    allocated = lines.index("Allocated resources:")
    assert lines[allocated + 4].split() == ["cpu", "500m", "(25%)", "1", "(50%)"]


@pytest.mark.parametrize(("resources", "qos"), [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
])
def test_qos_class(resources: dict[str, Any], qos: str) -> None:
    assert qos_class({"spec": {"containers": [{"name": "c", "resources": resources}]}}) == qos


def test_events_table() -> None:
    event = {"metadata": {"namespace": "prod"}, "type": "Warning", "reason": "BackOff", "message": " Back-off ",
             "involvedObject": {"kind": "Pod", "name": "web-1"}, "count": 1,
             "firstTimestamp": (NOW - timedelta(seconds=5)).isoformat()}
    assert events_table([event], all_namespaces=True, now=NOW).splitlines() == [
        "NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT      MESSAGE",
        "prod        5s          Warning   BackOff   Pod/web-1   Back-off"]


# -- rollout and drain ---------------------------------------------------------------------------


def deployment(*, generation: int = 2, observed: int = 2, desired: int = 3, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": desired}, "status": {"observedGeneration": observed, **status}}


@pytest.mark.parametrize(("obj", "message", "done"), [
    (deployment(observed=1), "Waiting for deployment spec update to be observed...", False),
    (deployment(updatedReplicas=1, replicas=3),
     'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', False),
    (deployment(updatedReplicas=3, replicas=4),
     'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False),
    (deployment(updatedReplicas=3, replicas=3, availableReplicas=2),
     'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...', False),
    (deployment(updatedReplicas=3, replicas=3, availableReplicas=3), 'deployment "web" successfully rolled out', True),
])
def test_rollout_status_lines(obj: dict[str, Any], message: str, done: bool) -> None:
    assert rollout_message(obj, kind="Deployment") == (message, done)


def test_rollout_status_fails_on_an_exceeded_deadline() -> None:
    stuck = deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}])
    with pytest.raises(CliError, match='deployment "web" exceeded its progress deadline'):
        rollout_message(stuck, kind="Deployment")


def replica_set(revision: int, image: str, cause: str | None = None) -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if cause:
        annotations["kubernetes.io/change-cause"] = cause
    labels = {"app": "web", "pod-template-hash": f"h{revision}"}
    return {"metadata": {"name": f"web-h{revision}", "annotations": annotations},
            "spec": {"template": {"metadata": {"labels": labels, "creationTimestamp": None},
                                  "spec": {"containers": [{"name": "web", "image": image, "resources": {}}]}}}}


def test_rollout_history_and_undo() -> None:
    sets = [replica_set(2, "nginx:2", "upgrade"), replica_set(1, "nginx:1")]
    assert history_text(sets) == "REVISION  CHANGE-CAUSE\n1         <none>\n2         upgrade\n"
    assert history_text([]) == "No rollout history found."
    chosen, revision = choose_revision(sets, 0, name="web")
    assert revision == 1
    live = {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2", "team": "a"}},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    template_patch, annotations_patch = undo_patch(live, chosen)
    assert template_patch["value"] == {"metadata": {"labels": {"app": "web"}},
                                       "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}
    assert annotations_patch["value"] == {"deployment.kubernetes.io/revision": "2"}
    assert template_matches(sets[0], live)


def bound(name: str, owner: str | None = None, *, empty_dir: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "prod"}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner, "name": "o", "controller": True}]
    volumes = [{"name": "v", "emptyDir": {}}] if empty_dir else []
    return {"metadata": metadata, "spec": {"volumes": volumes}, "status": {"phase": "Running"}}


def test_drain_refuses_what_kubectl_refuses_unless_told() -> None:
    pods = [bound("ds", "DaemonSet"), bound("rs", "ReplicaSet"), bound("bare"), bound("data", "ReplicaSet",
                                                                                      empty_dir=True)]
    evict, warnings, problems = classify_pods(pods, DrainOptions())
    assert [p["metadata"]["name"] for p in evict] == ["rs"]
    assert problems == ["cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): prod/ds",
                        "cannot delete Pods that declare no controller (use --force to override): prod/bare",
                        "cannot delete Pods with local storage (use --delete-emptydir-data to override): prod/data"]
    evict, warnings, problems = classify_pods(pods, DrainOptions(ignore_daemonsets=True, force=True,
                                                                 delete_emptydir_data=True))
    assert [p["metadata"]["name"] for p in evict] == ["rs", "bare", "data"] and not problems
    assert warnings[0] == "ignoring DaemonSet-managed Pods: prod/ds"


@pytest.mark.parametrize(("pod", "chosen", "notice"), [
    ({"spec": {"containers": [{"name": "only"}]}}, "only", None),
    ({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "setup"}]}},
     "a", 'Defaulted container "a" out of: a, b, setup (init)'),
    ({"metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "b"}},
      "spec": {"containers": [{"name": "a"}, {"name": "b"}]}}, "b", None),
    ({"metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "gone"}},
      "spec": {"containers": [{"name": "a"}, {"name": "b"}]}}, "a", 'Defaulted container "a" out of: a, b'),
    ({"spec": {}}, None, None),
])
def test_the_default_container_is_chosen_like_kubectl(pod: dict[str, Any], chosen: str | None,
                                                      notice: str | None) -> None:
    assert pick_container(pod, None) == (chosen, notice)
    assert pick_container(pod, "named") == ("named", None)  # -c wins, silently


def test_describe_pod_shows_the_projected_token_volume_as_kubectl_does() -> None:
    projected = {"name": "kube-api-access-x1y2z", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}
    pod: dict[str, Any] = copy.deepcopy(POD)
    pod["spec"]["volumes"] = [projected]
    lines = [line.split(":", 1) for line in describe("Pod", Evidence(pod, []), now=NOW).splitlines()]
    rows = [(key.strip(), value.strip()) for key, value in (line for line in lines if len(line) == 2)]
    start = rows.index(("kube-api-access-x1y2z", ""))
    assert rows[start + 1:start + 6] == [
        ("Type", "Projected (a volume that contains injected data from multiple sources)"),
        ("TokenExpirationSeconds", "3607"), ("ConfigMapName", "kube-root-ca.crt"), ("ConfigMapOptional", "<nil>"),
        ("DownwardAPI", "true")]
