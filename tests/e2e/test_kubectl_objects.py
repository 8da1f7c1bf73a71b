"""The real kubectl (v1.32) against the Docker cluster: discovery, apply/create/get/describe/delete.

What someone who already knows kubectl relies on: the same verbs print the same words, tables have
Kubernetes' columns, apply says created/configured/unchanged, delete returns once the object is
gone, and what minik8s does not serve fails at once with a clean message. Each test that makes
objects works in a namespace of its own. kubectl's discovery cache is a temporary directory.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Cluster, ticker_deployment
from tests.e2e.kubectl_output import column, header_of, parse_table, parse_tables
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

POD_COLUMNS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
TAGGED_IMAGE = "minik8s/busybox:kubectl-run"
@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    with cluster.namespace("kc-objects") as created:
        yield created


def stack(*, greeting: str) -> list[dict[str, Any]]:
    return [ticker_deployment("web", replicas=2),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"greeting": greeting}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"password": "czM="}}]


def apply(cluster: Cluster, namespace: str, objects: list[dict[str, Any]], *flags: str) -> list[str]:
    result = cluster.kubectl("apply", "-n", namespace, *flags, "-f", "-", stdin=yaml.safe_dump_all(objects))
    return result.stdout.splitlines()


def test_version_api_resources_cluster_info_and_cluster_scoped_tables(cluster: Cluster) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.32.0-minik8s"
    assert "Server Version: v1.32.0-minik8s" in cluster.kubectl("version").stdout

    resources = cluster.kubectl("api-resources").stdout
    assert header_of(resources) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name = {row["NAME"]: row for row in parse_table(resources)}
    assert by_name["pods"] == {"NAME": "pods", "SHORTNAMES": "po", "APIVERSION": "v1", "NAMESPACED": "true",
                               "KIND": "Pod"}
    assert by_name["deployments"] == {"NAME": "deployments", "SHORTNAMES": "deploy", "APIVERSION": "apps/v1",
                                      "NAMESPACED": "true", "KIND": "Deployment"}
    assert by_name["nodes"]["NAMESPACED"] == "false" and by_name["secrets"]["SHORTNAMES"] == ""
    assert by_name["leases"]["APIVERSION"] == "coordination.k8s.io/v1"

    info = cluster.kubectl("cluster-info").stdout
    assert "Kubernetes control plane is running at https://127.0.0.1:" in info

    nodes = cluster.kubectl("get", "nodes").stdout
    assert header_of(nodes) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {row["NAME"]: row for row in parse_table(nodes)}
    assert rows["node-1"]["STATUS"] == "Ready" and rows["node-1"]["VERSION"] == "v1.32.0-minik8s"
    wide = cluster.kubectl("get", "nodes", "-o", "wide").stdout
    assert header_of(wide) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                               "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert {row["NAME"]: row["INTERNAL-IP"] for row in parse_table(wide)} == {"node-1": "10.244.1.1",
                                                                               "node-2": "10.244.2.1"}

    namespaces = cluster.kubectl("get", "namespaces").stdout
    assert header_of(namespaces) == ["NAME", "STATUS", "AGE"]
    assert {"default", "kube-system", "kube-node-lease"} <= set(column(parse_table(namespaces), "NAME"))
    described = cluster.kubectl("describe", "namespace", "default").stdout
    assert "Name:         default" in described and "Status:       Active" in described

    leases = cluster.kubectl("get", "leases", "-n", "kube-node-lease").stdout
    assert header_of(leases) == ["NAME", "HOLDER", "AGE"]
    assert {"NAME": "node-1", "HOLDER": "node-1"}.items() <= parse_table(leases)[0].items()

    node = cluster.kubectl("describe", "node", "node-1").stdout
    for section in ("Name:               node-1", "Conditions:", "KubeletReady", "Addresses:", "Capacity:",
                    "Allocatable:", "System Info:", "PodCIDR:", "Non-terminated Pods:", "Allocated resources:",
                    "Lease:", "HolderIdentity:  node-1", "Events:"):
        assert section in node


def test_what_minik8s_does_not_serve_fails_at_once_with_a_clean_message(cluster: Cluster) -> None:
    unknown = cluster.kubectl("get", "foos", check=False)
    assert unknown.returncode == 1 and unknown.stderr.strip() == 'error: the server doesn\'t have a resource type "foos"'
    top = cluster.kubectl("top", "pods", check=False)
    assert top.returncode == 1 and top.stderr.strip() == "error: Metrics API not available"
    missing = cluster.kubectl("get", "pod", "nowhere", check=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nowhere" not found'
    bad = ticker_deployment("bad", replicas=-1)
    invalid = cluster.kubectl("apply", "-n", "default", "-f", "-", stdin=yaml.safe_dump(bad), check=False)
    assert invalid.returncode == 1
    assert invalid.stderr.startswith('The Deployment "bad" is invalid: spec.replicas: Invalid value: -1: ')


def test_apply_create_get_and_delete_a_small_application(cluster: Cluster, namespace: str) -> None:
    assert apply(cluster, namespace, stack(greeting="hello")) == [
        "deployment.apps/web created", "service/web created", "configmap/cfg created", "secret/creds created"]
    rolled = cluster.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s").stdout
    assert rolled.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert apply(cluster, namespace, stack(greeting="hello")) == [
        "deployment.apps/web unchanged", "service/web unchanged", "configmap/cfg unchanged", "secret/creds unchanged"]
    assert apply(cluster, namespace, stack(greeting="bonjour"))[2] == "configmap/cfg configured"
    greeting = cluster.kubectl("get", "-n", namespace, "configmap", "cfg", "-o", "jsonpath={.data.greeting}")
    assert greeting.stdout == "bonjour"
    server_side = apply(cluster, namespace, stack(greeting="hallo"), "--server-side", "--force-conflicts")
    assert server_side == ["deployment.apps/web serverside-applied", "service/web serverside-applied",
                           "configmap/cfg serverside-applied", "secret/creds serverside-applied"]
    again = cluster.kubectl("create", "-n", namespace, "-f", "-", check=False,
                            stdin=yaml.safe_dump(stack(greeting="x")[2]))
    assert again.returncode == 1
    assert again.stderr.strip() == ('Error from server (AlreadyExists): error when creating "STDIN": '
                                    'configmaps "cfg" already exists')
    a_list = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"listed-{n}"}, "data": {"n": str(n)}}
        for n in (1, 2)]}
    assert apply(cluster, namespace, [a_list]) == ["configmap/listed-1 created", "configmap/listed-2 created"]
    assert apply(cluster, namespace, [a_list]) == ["configmap/listed-1 unchanged", "configmap/listed-2 unchanged"]
    wait_for("the endpoints to list both pods", lambda: len(
        (cluster.api.get(f"/api/v1/namespaces/{namespace}/endpoints/web").json().get("subsets") or [{}])[0]
        .get("addresses") or []) == 2)
    check_tables(cluster, namespace)
    check_output_formats(cluster, namespace)
    check_describe(cluster, namespace)

    deleted = cluster.kubectl("delete", "-n", namespace, "configmap", "cfg")
    assert deleted.stdout.strip() == 'configmap "cfg" deleted'
    assert cluster.api.get(f"/api/v1/namespaces/{namespace}/configmaps/cfg").status_code == 404
    pod = parse_table(cluster.kubectl("get", "pods", "-n", namespace).stdout)[0]["NAME"]
    assert cluster.kubectl("delete", "-n", namespace, "pod", pod).stdout.strip() == f'pod "{pod}" deleted'
    assert cluster.pod(pod, namespace) is None  # kubectl waited until the pod was gone


def check_tables(cluster: Cluster, namespace: str) -> None:
    def get(*args: str) -> str:
        return cluster.kubectl("get", "-n", namespace, *args).stdout

    pods = get("pods")
    assert header_of(pods) == POD_COLUMNS
    rows = parse_table(pods)
    assert len(rows) == 2 and all(row["READY"] == "1/1" and row["STATUS"] == "Running" and row["RESTARTS"] == "0"
                                  for row in rows)
    wide = parse_table(get("pods", "-o", "wide"))
    assert list(wide[0]) == [*POD_COLUMNS, "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert all(row["IP"].startswith("10.244.") and row["NODE"] in ("node-1", "node-2")
               and row["NOMINATED NODE"] == "<none>" for row in wide)
    expected = {
        "deployments": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], {"NAME": "web", "READY": "2/2"}),
        "replicasets": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], {"DESIRED": "2", "READY": "2"}),
        "services": (["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
                     {"NAME": "web", "TYPE": "ClusterIP", "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP"}),
        "endpoints": (["NAME", "ENDPOINTS", "AGE"], {"NAME": "web"}),
        "secrets": (["NAME", "TYPE", "DATA", "AGE"], {"NAME": "creds", "TYPE": "Opaque", "DATA": "1"}),
    }
    for kind, (columns, cells) in expected.items():
        table = get(kind)
        assert header_of(table) == columns, kind
        assert cells.items() <= parse_table(table)[0].items(), table
    configmaps = get("configmaps")
    assert header_of(configmaps) == ["NAME", "DATA", "AGE"]
    assert {row["NAME"]: row["DATA"] for row in parse_table(configmaps)}["cfg"] == "1"
    deployments = parse_table(get("deployments", "-o", "wide"))[0]
    assert {"CONTAINERS": "main", "IMAGES": "minik8s/busybox:latest", "SELECTOR": "app=web"}.items() <= \
        deployments.items()
    endpoints = parse_table(get("endpoints", "web"))[0]["ENDPOINTS"]
    assert sorted(address.split(":")[1] for address in endpoints.split(",")) == ["8080", "8080"]
    events = get("events")
    assert header_of(events) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(row["OBJECT"] == "deployment/web" and row["REASON"] == "ScalingReplicaSet"
               for row in parse_table(events))

    everything = parse_tables(get("all"))
    names = {row["NAME"].split("/")[0] for table in everything for row in table}
    assert names == {"pod", "service", "deployment.apps", "replicaset.apps"}
    mixed = parse_tables(get("deployments,services"))
    assert [table[0]["NAME"] for table in mixed] == ["deployment.apps/web", "service/web"]
    across = parse_table(cluster.kubectl("get", "pods", "-A", "-l", "app=web").stdout)
    assert list(across[0])[:2] == ["NAMESPACE", "NAME"] and {row["NAMESPACE"] for row in across} == {namespace}
    labelled = parse_table(get("pods", "--show-labels", "-l", "app=web"))
    assert all(row["LABELS"].startswith("app=web,pod-template-hash=") for row in labelled)
    assert get("pods", "-l", "app=nothing-here") == ""  # "No resources found" goes to stderr
    sorted_names = column(parse_table(get("pods", "--sort-by=.metadata.name")), "NAME")
    assert sorted_names == sorted(sorted_names) and len(sorted_names) == 2


def check_output_formats(cluster: Cluster, namespace: str) -> None:
    def get(*args: str) -> str:
        return cluster.kubectl("get", "-n", namespace, *args).stdout

    pods = cluster.pods(namespace, "app=web")
    names = sorted(pod["metadata"]["name"] for pod in pods)
    as_yaml = yaml.safe_load(get("pods", "-o", "yaml"))
    assert as_yaml["kind"] == "List" and sorted(item["metadata"]["name"] for item in as_yaml["items"]) == names
    as_json = json.loads(get("deployment", "web", "-o", "json"))
    assert as_json["kind"] == "Deployment" and as_json["status"]["readyReplicas"] == 2
    assert sorted(get("pods", "-o", "name").split()) == [f"pod/{name}" for name in names]
    assert sorted(get("pods", "-o", "jsonpath={.items[*].metadata.name}").split()) == names
    custom = get("pods", "-o", "custom-columns=POD:.metadata.name,NODE:.spec.nodeName")
    assert header_of(custom) == ["POD", "NODE"]
    assert {row["POD"]: row["NODE"] for row in parse_table(custom)} == {
        pod["metadata"]["name"]: pod["spec"]["nodeName"] for pod in pods}


def check_describe(cluster: Cluster, namespace: str) -> None:
    def describe(*args: str) -> str:
        return cluster.kubectl("describe", "-n", namespace, *args).stdout

    deployment = describe("deployment", "web")
    for section in ("Name:                   web", f"Namespace:              {namespace}", "Selector:               app=web",
                    "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
                    "StrategyType:           RollingUpdate", "Pod Template:", "Conditions:",
                    "Available      True    MinimumReplicasAvailable", "NewReplicaSet:", "Events:",
                    "ScalingReplicaSet"):
        assert section in deployment, section
    replica_set = describe("replicaset")
    for section in ("Controlled By:  Deployment/web", "Replicas:       2 current / 2 desired",
                    "Pods Status:    2 Running / 0 Waiting / 0 Succeeded / 0 Failed", "Events:", "SuccessfulCreate"):
        assert section in replica_set, section
    service = describe("service", "web")
    for section in ("Type:                     ClusterIP", "Port:                     <unset>  80/TCP",
                    "TargetPort:               8080/TCP", "Session Affinity:         None"):
        assert section in service, section
    pod_addresses = {f"{pod['status']['podIP']}:8080" for pod in cluster.pods(namespace, "app=web")}
    listed = next(line for line in service.splitlines() if line.startswith("Endpoints:")).split()[1]
    assert set(listed.split(",")) == pod_addresses  # read from EndpointSlices by kubectl 1.32
    pod = describe("pod", "-l", "app=web")
    for section in ("Status:           Running", "Controlled By:  ReplicaSet/web-", "Containers:", "State:          Running",
                    "Ready:          True", "Conditions:", "ContainersReady   True",
                    "Events:", "Successfully assigned", "Started container main"):
        assert section in pod, section
    assert "Status:       Active" in cluster.kubectl("describe", "namespace", namespace).stdout


@pytest.fixture
def tagged_image() -> Iterator[str]:
    """busybox under a tag other than `latest`, so the default pull policy is IfNotPresent (no registry here)."""
    subprocess.run(["docker", "tag", "minik8s/busybox:latest", TAGGED_IMAGE], check=True, capture_output=True)
    yield TAGGED_IMAGE
    subprocess.run(["docker", "rmi", TAGGED_IMAGE], capture_output=True)


def test_imperative_create_and_run(cluster: Cluster, namespace: str, tagged_image: str) -> None:
    """`create deployment|configmap|secret` and `run` send protobuf bodies; they work as on Kubernetes."""
    def run(*args: str) -> str:
        return cluster.kubectl("-n", namespace, *args).stdout.strip()

    assert run("create", "configmap", "settings", "--from-literal=mode=fast") == "configmap/settings created"
    assert run("create", "secret", "generic", "token", "--from-literal=key=abc") == "secret/token created"
    assert run("create", "deployment", "hello", f"--image={tagged_image}", "--replicas=1", "--",
               "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait") == "deployment.apps/hello created"
    assert run("run", "once", f"--image={tagged_image}", "--restart=Never", "--",
               "echo", "hi from run") == "pod/once created"
    wait_for("the pod made by run to finish", lambda: (cluster.pod("once", namespace) or {}).get(
        "status", {}).get("phase") == "Succeeded")
    assert run("logs", "once") == "hi from run"
    assert cluster.kubectl("get", "-n", namespace, "configmap", "settings", "-o",
                           "jsonpath={.data.mode}").stdout == "fast"
    assert run("rollout", "status", "deployment/hello", "--timeout=60s") == 'deployment "hello" successfully rolled out'
