"""The kubectl-like verbs of the `minik8s` CLI, run as a user runs them, against a real apiserver.

One apiserver replica runs for the module, with no controllers and no nodes: the tests play the
controllers themselves (ReplicaSets with owner references, statuses written through /status)
and, for `logs` and `exec`, a node agent (a tiny WebSocket/HTTP server the apiserver relays to).
Every command is a subprocess of `python -m minik8s.cli.main`; the tests assert what it prints,
on which stream, and its exit code, and that no traceback ever reaches the user.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from websockets.sync.server import ServerConnection, serve

from minik8s.api.registry import REGISTRY
from minik8s.client.kubeconfig import write_kubeconfig
from minik8s.client.paths import collection_path
from tests.support.ports import free_ports
from tests.support.replicas import ReplicaSet
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
MINIK8S = [sys.executable, "-m", "minik8s.cli.main"]
BASE_ENVIRONMENT = {key: value for key, value in os.environ.items()
                    if key not in ("MINIK8S_HOME", "KUBECONFIG", "MINIK8S_DEBUG")}
BASE_ENVIRONMENT["PYTHONPATH"] = str(REPO)

pytestmark = pytest.mark.timeout(120)

WEB = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""

SOLO = """apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo, tier: cache}}
spec:
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
  volumes: [{name: scratch, emptyDir: {}}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaSet]:
    replicas = ReplicaSet(tmp_path_factory.mktemp("cli-cluster"), size=1)
    replicas.start_all()
    try:
        yield replicas
    finally:
        replicas.stop_all()


@pytest.fixture(scope="module")
def api(cluster: ReplicaSet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.replicas[0].url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def kubeconfig(cluster: ReplicaSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-home") / "kubeconfig"
    write_kubeconfig(path, servers=[cluster.replicas[0].url])
    return path


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def cli(kubeconfig: Path) -> Run:
    """Run the CLI with the test cluster's kubeconfig in $KUBECONFIG."""

    def run(*args: str, stdin: str | None = None, code: int | None = 0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {**BASE_ENVIRONMENT, "KUBECONFIG": str(kubeconfig), **(env or {})}
        result = subprocess.run([*MINIK8S, *args], input=stdin, capture_output=True, text=True, timeout=60,
                                env=environment, cwd=REPO, check=False)
        assert "Traceback" not in result.stderr, result.stderr
        if code is not None:
            assert result.returncode == code, f"minik8s {' '.join(args)} exited {result.returncode}:\n" \
                                              f"{result.stdout}\n{result.stderr}"
        return result

    return run


@pytest.fixture
def namespace(api: httpx.Client, request: pytest.FixtureRequest) -> str:
    name: str = request.node.name.removeprefix("test_").replace("_", "-")[:50].strip("-")
    response = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert response.status_code == 201, response.text
    return name


def header(line: str) -> list[str]:
    return line.split()


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


def create_all(api: httpx.Client, namespace: str, manifests: str) -> None:
    """Set up objects directly over HTTP (what is under test is the verb, not the setup)."""
    for document in yaml.safe_load_all(manifests):
        kind = REGISTRY.by_kind(document["apiVersion"], document["kind"])
        assert kind is not None
        response = api.post(collection_path(kind, namespace=namespace), json=document)
        assert response.status_code == 201, response.text


def put_status(api: httpx.Client, path: str, status: dict[str, Any]) -> dict[str, Any]:
    current = api.get(path).json()
    current["status"] = status
    response = api.put(f"{path}/status", json=current)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- get ---------------------------------------------------------------------------------------


def test_get_prints_server_tables_like_kubectl(cli: Run, namespace: str) -> None:
    assert cli("apply", "-n", namespace, "-f", "-", stdin=WEB + "---\n" + SOLO).stdout.splitlines() == [
        "deployment.apps/web created", "service/web created", "pod/solo created"]

    pods = cli("get", "pods", "-n", namespace).stdout.splitlines()
    assert header(pods[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:4] == ["solo", "0/1", "Pending", "0"]
    assert pods[0].index("READY") == pods[1].index("0/1") == len("NAME") + 3  # kubectl's tabwriter: padding 3

    wide = table(cli("get", "po", "-o", "wide", "-n", namespace).stdout)
    assert wide[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                       "READINESS", "GATES"]

    several = cli("get", "pods,svc", "-n", namespace).stdout
    blocks = several.split("\n\n")
    assert len(blocks) == 2
    assert table(blocks[0])[1][0] == "pod/solo"
    assert header(blocks[1].splitlines()[0])[:3] == ["NAME", "TYPE", "CLUSTER-IP"]
    assert table(blocks[1])[1][:2] == ["service/web", "ClusterIP"]

    everything = table(cli("get", "all", "-n", namespace).stdout)
    assert {"pod/solo", "service/web", "deployment.apps/web"} <= {row[0] for row in everything}

    labelled = table(cli("get", "pods", "-A", "--show-labels", "-l", "tier=cache").stdout)
    assert labelled[0][0] == "NAMESPACE" and labelled[0][-1] == "LABELS"
    assert labelled[1][0] == namespace and labelled[1][1] == "solo" and labelled[1][-1] == "app=solo,tier=cache"

    empty = cli("get", "configmaps,secrets", "-n", namespace)
    assert empty.stdout == "" and empty.stderr == f"No resources found in {namespace} namespace.\n"


def test_get_output_forms(cli: Run, namespace: str, api: httpx.Client) -> None:
    create_all(api, namespace, WEB + "---\n" + SOLO)
    assert cli("get", "pods,deploy", "-o", "name", "-n", namespace).stdout.splitlines() == [
        "pod/solo", "deployment.apps/web"]
    assert cli("get", "pods", "-n", namespace, "-o",
               'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image}{"\\n"}{end}').stdout \
        == "solo=busybox\n"

    listed = yaml.safe_load(cli("get", "pods", "-n", namespace, "-o", "yaml").stdout)
    assert listed["kind"] == "List" and listed["items"][0]["kind"] == "Pod"
    single = json.loads(cli("get", "deployment", "web", "-n", namespace, "-o", "json").stdout)
    assert single["kind"] == "Deployment" and single["spec"]["replicas"] == 2

    unknown = cli("get", "pods", "-o", "xml", code=1)
    assert unknown.stderr.startswith('error: unable to match a printer suitable for the output format "xml"')


def test_get_watch_prints_rows_as_they_change(cli: Run, namespace: str, api: httpx.Client,
                                              kubeconfig: Path) -> None:
    create_all(api, namespace, SOLO)
    environment = {**BASE_ENVIRONMENT, "KUBECONFIG": str(kubeconfig)}
    watcher = subprocess.Popen([*MINIK8S, "get", "pods", "-w", "-n", namespace], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in watcher.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        def read_until(fragment: str) -> bool:
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.1))
            return any(fragment in line for line in seen)

        wait_for("the listed pod", lambda: read_until("solo"), timeout=15)
        pod = yaml.safe_load(SOLO)
        pod["metadata"]["name"] = "late"
        assert api.post(f"/api/v1/namespaces/{namespace}/pods", json=pod).status_code == 201
        wait_for("the new pod's row", lambda: read_until("late"), timeout=15)
    finally:
        watcher.terminate()
        watcher.wait(10)
    assert header(seen[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[0] for line in seen[1:]] == ["solo", "late"]  # one header, then rows


# -- apply, create, delete ----------------------------------------------------------------------


def test_apply_creates_configures_and_leaves_unchanged(cli: Run, namespace: str, tmp_path: Path,
                                                       api: httpx.Client) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "a-web.yaml").write_text(WEB)
    (folder / "b-settings.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, labels: {app: demo, old: x}}\n"
        "data: {mode: fast}\n")
    assert cli("apply", "-f", str(folder), "-n", namespace).stdout.splitlines() == [
        "deployment.apps/web created", "service/web created", "configmap/settings created"]
    assert cli("apply", "-f", str(folder), "-n", namespace).stdout.splitlines() == [
        "deployment.apps/web unchanged", "service/web unchanged", "configmap/settings unchanged"]

    (folder / "b-settings.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, labels: {app: demo}}\ndata: {mode: safe}\n")
    assert cli("apply", "-f", str(folder / "b-settings.yaml"), "-n", namespace).stdout == \
        "configmap/settings configured\n"
    settings = api.get(f"/api/v1/namespaces/{namespace}/configmaps/settings").json()
    assert settings["data"] == {"mode": "safe"}
    assert settings["metadata"]["labels"] == {"app": "demo"}  # the label the manifest dropped is gone

    assert cli("create", "-f", str(folder / "b-settings.yaml"), "-n", namespace, code=1).stderr == (
        f'Error from server (AlreadyExists): error when creating "{folder / "b-settings.yaml"}": '
        'configmaps "settings" already exists\n')
    assert cli("create", "-n", namespace, "-f", "-", stdin=SOLO).stdout == "pod/solo created\n"


def test_delete_waits_until_objects_are_gone(cli: Run, namespace: str, api: httpx.Client,
                                             kubeconfig: Path) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    held: dict[str, Any] = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {"a": "b"}}
    assert api.post(path, json=held).status_code == 201
    environment = {**BASE_ENVIRONMENT, "KUBECONFIG": str(kubeconfig)}
    deleter = subprocess.Popen([*MINIK8S, "delete", "configmap", "held", "-n", namespace], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment, cwd=REPO)
    try:
        wait_for("the delete request",
                 lambda: api.get(f"{path}/held").json()["metadata"].get("deletionTimestamp"), timeout=15)
        assert deleter.poll() is None  # still waiting: the finalizer holds the object
        patch = api.patch(f"{path}/held", json={"metadata": {"finalizers": None}},
                          headers={"Content-Type": "application/merge-patch+json"})
        assert patch.status_code == 200, patch.text
        out, err = deleter.communicate(timeout=15)
    finally:
        if deleter.poll() is None:
            deleter.kill()
    assert deleter.returncode == 0, err
    assert out == 'configmap "held" deleted\n'

    assert api.post(path, json={**held, "metadata": {**held["metadata"], "name": "kept"}}).status_code == 201
    assert cli("delete", "cm", "kept", "--wait=false", "-n", namespace).stdout == 'configmap "kept" deleted\n'
    assert api.get(f"{path}/kept").status_code == 200  # not waited for
    api.patch(f"{path}/kept", json={"metadata": {"finalizers": None}},
              headers={"Content-Type": "application/merge-patch+json"})

    for name, tier in (("one", "a"), ("two", "a"), ("three", "b")):
        api.post(path, json={"metadata": {"name": name, "labels": {"tier": tier}}})
    assert cli("delete", "cm", "-l", "tier=a", "-n", namespace).stdout.splitlines() == [
        'configmap "one" deleted', 'configmap "two" deleted']
    assert cli("delete", "configmaps", "--all", "-n", namespace).stdout == 'configmap "three" deleted\n'
    assert cli("delete", "pod", "ghost", "-n", namespace, code=1).stderr == \
        'Error from server (NotFound): pods "ghost" not found\n'


# -- scale, label, annotate, set image -----------------------------------------------------------


def test_scale_label_annotate_and_set_image(cli: Run, namespace: str, api: httpx.Client) -> None:
    create_all(api, namespace, WEB + "---\n" + SOLO)
    assert cli("scale", "deploy", "web", "--replicas=4", "-n", namespace).stdout == "deployment.apps/web scaled\n"
    assert api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()["spec"]["replicas"] == 4

    assert cli("label", "pod", "solo", "env=prod", "-n", namespace).stdout == "pod/solo labeled\n"
    clash = cli("label", "pod", "solo", "env=dev", "-n", namespace, code=1)
    assert clash.stderr == "error: 'env' already has a value (prod), and --overwrite is false\n"
    assert cli("label", "pod/solo", "env=dev", "--overwrite", "-n", namespace).stdout == "pod/solo labeled\n"
    assert cli("label", "pod", "solo", "env-", "-n", namespace).stdout == "pod/solo unlabeled\n"
    labels = api.get(f"/api/v1/namespaces/{namespace}/pods/solo").json()["metadata"]["labels"]
    assert labels == {"app": "solo", "tier": "cache"}

    assert cli("annotate", "pod", "solo", "note=hello", "-n", namespace).stdout == "pod/solo annotated\n"
    assert api.get(f"/api/v1/namespaces/{namespace}/pods/solo").json()["metadata"]["annotations"]["note"] == "hello"

    assert cli("set", "image", "deploy/web", "web=nginx:1.27", "-n", namespace).stdout == \
        "deployment.apps/web image updated\n"
    template = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert cli("set", "image", "deploy/web", "nope=x", "-n", namespace, code=1).stderr == \
        'error: unable to find container named "nope"\n'


# -- rollout -----------------------------------------------------------------------------------


def _replica_set(deployment: dict[str, Any], revision: int, image: str) -> dict[str, Any]:
    labels = {"app": "web", "pod-template-hash": f"h{revision}"}
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
             "uid": deployment["metadata"]["uid"], "controller": True}
    return {"metadata": {"name": f"web-h{revision}", "labels": labels, "ownerReferences": [owner],
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


def test_rollout_history_undo_restart_pause_and_status(cli: Run, namespace: str, api: httpx.Client) -> None:
    create_all(api, namespace, WEB)
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
    deployment = api.get(path).json()
    for revision, image in ((1, "nginx:1.24"), (2, "nginx:1.25")):
        created = api.post(f"/apis/apps/v1/namespaces/{namespace}/replicasets",
                           json=_replica_set(deployment, revision, image))
        assert created.status_code == 201, created.text

    history = cli("rollout", "history", "deploy/web", "-n", namespace).stdout.splitlines()
    assert history[0] == "deployment.apps/web "
    assert table("\n".join(history[1:])) == [["REVISION", "CHANGE-CAUSE"], ["1", "<none>"], ["2", "<none>"]]

    assert cli("rollout", "undo", "deploy/web", "-n", namespace).stdout == "deployment.apps/web rolled back\n"
    template = api.get(path).json()["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "nginx:1.24"
    assert "pod-template-hash" not in template["metadata"]["labels"]
    assert cli("rollout", "undo", "deployment", "web", "--to-revision=1", "-n", namespace).stdout == \
        "deployment.apps/web skipped rollback (current template already matches revision 1)\n"

    assert cli("rollout", "restart", "deploy/web", "-n", namespace).stdout == "deployment.apps/web restarted\n"
    assert "kubectl.kubernetes.io/restartedAt" in api.get(path).json()["spec"]["template"]["metadata"]["annotations"]

    assert cli("rollout", "pause", "deploy/web", "-n", namespace).stdout == "deployment.apps/web paused\n"
    assert api.get(path).json()["spec"]["paused"] is True
    assert cli("rollout", "pause", "deploy/web", "-n", namespace, code=1).stderr == \
        'error: deployments.apps "web" is already paused\n'
    assert cli("rollout", "resume", "deploy/web", "-n", namespace).stdout == "deployment.apps/web resumed\n"
    assert not api.get(path).json()["spec"].get("paused")

    generation = api.get(path).json()["metadata"]["generation"]
    put_status(api, path, {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
                           "availableReplicas": 2, "readyReplicas": 2})
    assert cli("rollout", "status", "deploy/web", "-n", namespace).stdout == \
        'deployment "web" successfully rolled out\n'
    put_status(api, path, {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 1,
                           "conditions": [{"type": "Progressing", "status": "False",
                                           "reason": "ProgressDeadlineExceeded"}]})
    assert cli("rollout", "status", "deploy/web", "-n", namespace, code=1).stderr == \
        'error: deployment "web" exceeded its progress deadline\n'


# -- nodes -------------------------------------------------------------------------------------


def _bound_pod(name: str, node: str, owner_kind: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if owner_kind:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner_kind, "name": "owner",
                                        "uid": f"uid-{owner_kind}", "controller": True}]
    return {"metadata": metadata,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}}


def test_cordon_uncordon_and_drain(cli: Run, namespace: str, api: httpx.Client, kubeconfig: Path) -> None:
    node = f"{namespace}-node"
    assert api.post("/api/v1/nodes", json={"metadata": {"name": node}}).status_code == 201
    assert cli("cordon", node).stdout == f"node/{node} cordoned\n"
    assert api.get(f"/api/v1/nodes/{node}").json()["spec"]["unschedulable"] is True
    assert cli("cordon", node).stdout == f"node/{node} already cordoned\n"
    assert cli("uncordon", node).stdout == f"node/{node} uncordoned\n"
    assert not api.get(f"/api/v1/nodes/{node}").json()["spec"].get("unschedulable")

    pods = f"/api/v1/namespaces/{namespace}/pods"
    for name, owner in (("daemon", "DaemonSet"), ("worker", "ReplicaSet")):
        assert api.post(pods, json=_bound_pod(name, node, owner)).status_code == 201
    refused = cli("drain", node, code=1)
    assert refused.stdout == f"node/{node} cordoned\n"
    assert refused.stderr == (f'error: unable to drain node "{node}" due to error: cannot delete DaemonSet-managed '
                              f"Pods (use --ignore-daemonsets to ignore): {namespace}/daemon\n")

    environment = {**BASE_ENVIRONMENT, "KUBECONFIG": str(kubeconfig)}
    drainer = subprocess.Popen([*MINIK8S, "drain", node, "--ignore-daemonsets"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment, cwd=REPO)
    try:  # play the node agent: the evicted pod terminates, then goes away
        wait_for("eviction", lambda: api.get(f"{pods}/worker").json()["metadata"].get("deletionTimestamp"),
                 timeout=15)
        api.request("DELETE", f"{pods}/worker", json={"gracePeriodSeconds": 0})
        out, err = drainer.communicate(timeout=15)
    finally:
        if drainer.poll() is None:
            drainer.kill()
    assert drainer.returncode == 0, err
    assert out.splitlines() == [f"node/{node} already cordoned", f"evicting pod {namespace}/worker",
                                "pod/worker evicted", f"node/{node} drained"]
    assert err == f"Warning: ignoring DaemonSet-managed Pods: {namespace}/daemon\n"
    assert api.get(f"{pods}/daemon").status_code == 200


# -- describe, events, discovery ---------------------------------------------------------------


def _event(namespace: str, pod: dict[str, Any], *, reason: str, message: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"metadata": {"name": f"solo.{reason.lower()}"}, "type": "Warning", "reason": reason,
            "message": message, "count": 1, "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "kubelet"},
            "involvedObject": {"kind": "Pod", "namespace": namespace, "name": "solo", "apiVersion": "v1",
                               "uid": pod["metadata"]["uid"]}}


def test_describe_and_events(cli: Run, namespace: str, api: httpx.Client) -> None:
    create_all(api, namespace, WEB + "---\n" + SOLO)
    pod = api.get(f"/api/v1/namespaces/{namespace}/pods/solo").json()
    event = _event(namespace, pod, reason="BackOff", message="Back-off restarting failed container")
    assert api.post(f"/api/v1/namespaces/{namespace}/events", json=event).status_code == 201

    described = cli("describe", "pod", "solo", "-n", namespace).stdout
    lines = described.splitlines()
    assert lines[0].split() == ["Name:", "solo"] and lines[1].split() == ["Namespace:", namespace]
    for section in ("Labels:", "Containers:", "  main:", "    Image:", "    Command:", "Volumes:", "  scratch:",
                    "QoS Class:", "Tolerations:", "Events:"):
        assert any(line.startswith(section) for line in lines), section
    assert lines[lines.index("Events:") + 1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[-1].split()[:2] == ["Warning", "BackOff"] and lines[-1].endswith(
        "kubelet  Back-off restarting failed container")

    deployment = cli("describe", "deploy/web", "-n", namespace).stdout
    assert "Replicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable" in deployment
    assert "Pod Template:" in deployment and deployment.splitlines()[-1].split() == ["Events:", "<none>"]
    service = cli("describe", "svc", "web", "-n", namespace).stdout
    assert "Selector:                 app=web" in service and "TargetPort:               80/TCP" in service
    # (the `kubernetes` Endpoints is not written for these replicas: they advertise loopback)
    assert api.post(f"/api/v1/namespaces/{namespace}/endpoints", json={
        "metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}],
    }).status_code == 201
    generic = cli("describe", "endpoints", "web", "-n", namespace).stdout
    assert "Kind:         Endpoints" in generic and "Subsets:" in generic

    events = table(cli("events", "-n", namespace).stdout)
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:5] == ["Warning", "BackOff", "Pod/solo", "Back-off"]
    assert table(cli("events", "-A", "--for", "pod/solo").stdout)[1][0] == namespace
    assert cli("events", "-n", "kube-public").stderr == "No events found in kube-public namespace.\n"


def test_api_resources_version_and_cluster_info(cli: Run, cluster: ReplicaSet) -> None:
    resources = table(cli("api-resources").stdout)
    assert resources[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in resources
    assert ["nodes", "no", "v1", "false", "Node"] in resources
    version = cli("version").stdout.splitlines()
    assert version[0].startswith("Client Version: v") and version[1] == "Server Version: v1.32.0-minik8s"
    assert cli("cluster-info").stdout.splitlines()[0] == \
        f"Kubernetes control plane is running at {cluster.replicas[0].url}"


# -- logs and exec, through the apiserver to a node agent -----------------------------------------

LOG_LINES = ["starting", "listening on :80", "ready"]


def _agent_http(connection: ServerConnection, request: Any) -> Any:
    """containerLogs answers canned lines (honouring tailLines); other paths go on to exec."""
    parts = urlsplit(request.path)
    if not parts.path.startswith("/containerLogs/"):
        return None
    tail = parse_qs(parts.query).get("tailLines")
    lines = LOG_LINES[-int(tail[0]):] if tail else LOG_LINES
    return connection.respond(200, "".join(f"{line}\n" for line in lines))


def _agent_exec(connection: ServerConnection) -> None:
    """exec: `echo ARGS`, `cat` (stdin back), `exit N`; then the v5 status frame."""
    command = parse_qs(urlsplit(connection.request.path).query)["command"] if connection.request else []
    status: dict[str, Any] = {"metadata": {}, "status": "Success"}
    if command[0] == "echo":
        connection.send(bytes([1]) + (" ".join(command[1:]) + "\n").encode())
    elif command[0] == "cat":
        received = b""
        for frame in connection:
            assert isinstance(frame, bytes)
            if frame == bytes([255, 0]):
                break
            if frame[0] == 0:
                received += frame[1:]
        connection.send(bytes([1]) + received)
    elif command[0] == "exit":
        status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": f"command terminated with non-zero exit code: {command[1]}",
                  "details": {"causes": [{"reason": "ExitCode", "message": command[1]}]}}
    connection.send(bytes([3]) + json.dumps(status).encode())
    connection.close()


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    port = free_ports(1)[0]
    server = serve(_agent_exec, "127.0.0.1", port, subprotocols=["v5.channel.k8s.io"],  # type: ignore[list-item]
                   process_request=_agent_http)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        thread.join(5)


def test_logs_and_exec_reach_the_container_through_the_apiserver(cli: Run, namespace: str, api: httpx.Client,
                                                                 agent: int) -> None:
    node = f"{namespace}-node"
    assert api.post("/api/v1/nodes", json={"metadata": {"name": node}}).status_code == 201
    put_status(api, f"/api/v1/nodes/{node}", {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                               "daemonEndpoints": {"kubeletEndpoint": {"Port": agent}}})
    create_all(api, namespace, WEB)
    pod = _bound_pod("web-1", node, None)
    pod["metadata"]["labels"] = {"app": "web"}
    assert api.post(f"/api/v1/namespaces/{namespace}/pods", json=pod).status_code == 201

    assert cli("logs", "web-1", "-n", namespace).stdout == "starting\nlistening on :80\nready\n"
    assert cli("logs", "deploy/web", "--tail", "1", "-c", "c", "-n", namespace).stdout == "ready\n"

    assert cli("exec", "web-1", "-n", namespace, "--", "echo", "hello", "there").stdout == "hello there\n"
    assert cli("exec", "-i", "web-1", "-n", namespace, "--", "cat", stdin="from stdin\n").stdout == "from stdin\n"
    failed = cli("exec", "web-1", "-n", namespace, "--", "exit", "3", code=3)
    assert failed.stderr == "command terminated with exit code 3\n"
    missing = cli("exec", "ghost", "-n", namespace, "--", "echo", code=1)
    assert missing.stderr == 'Error from server (NotFound): pods "ghost" not found\n'


# -- where the cluster is, and bad input ----------------------------------------------------------


def test_kubeconfig_resolution(cli: Run, kubeconfig: Path, cluster: ReplicaSet, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "kubeconfig").write_text(kubeconfig.read_text())
    via_home = cli("get", "ns", "default", "-o", "name", env={"KUBECONFIG": "", "MINIK8S_HOME": str(home)})
    assert via_home.stdout == "namespace/default\n"
    via_server = cli("get", "ns", "default", "-o", "name", "--server", cluster.replicas[0].url,
                     env={"KUBECONFIG": str(tmp_path / "absent")})
    assert via_server.stdout == "namespace/default\n"
    replicas = tmp_path / "replicas-kubeconfig"  # the first replica is down: the CLI fails over to the next
    write_kubeconfig(replicas, servers=[f"http://127.0.0.1:{free_ports(1)[0]}", cluster.replicas[0].url])
    assert cli("get", "ns", "default", "-o", "name", "--kubeconfig", str(replicas)).stdout == "namespace/default\n"
    missing = cli("get", "pods", "--kubeconfig", str(tmp_path / "nope"), code=1)
    assert missing.stderr.startswith(f'error: no cluster configured: the kubeconfig "{tmp_path / "nope"}" does '
                                     "not exist")


def test_bad_input_gives_one_clear_line(cli: Run, namespace: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [ConfigMap\n")
    kindless = tmp_path / "kindless.yaml"
    kindless.write_text("apiVersion: v1\nmetadata: {name: x}\n")
    widget = tmp_path / "widget.yaml"
    widget.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n")
    closed_port = free_ports(1)[0]
    cases = [
        (("apply", "-f", "missing.yaml"), 'error: the path "missing.yaml" does not exist'),
        (("apply", "-f", str(broken)), f"error: error parsing {broken}: yaml: line 2: "),
        (("apply", "-f", str(kindless)), f'error: error validating "{kindless}": error validating data: kind not set'),
        (("apply", "-f", str(widget)), f'error: resource mapping not found for name: "w" namespace: "" from '
                                       f'"{widget}": no matches for kind "Widget" in version "example.com/v1"'),
        (("get", "widgets"), 'error: the server doesn\'t have a resource type "widgets"'),
        (("get", "pods", "--server", f"http://127.0.0.1:{closed_port}", "--request-timeout", "1s"),
         f"The connection to the server 127.0.0.1:{closed_port} was refused - did you specify the right host "
         "or port?"),
        (("get", "pod", "ghost", "-n", namespace), 'Error from server (NotFound): pods "ghost" not found'),
        (("create", "-f", str(invalid), "-n", namespace), 'The ConfigMap "Bad_Name" is invalid: metadata.name: '
                                                          'Invalid value: "Bad_Name"'),
        (("scale", "deploy", "ghost", "--replicas", "1", "-n", namespace),
         'Error from server (NotFound): deployments.apps "ghost" not found'),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent commands: use both cores
        results = list(pool.map(lambda case: cli(*case[0], code=1), cases))
    for (args, expected), result in zip(cases, results, strict=True):
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith(expected), (args, result.stderr)
        assert result.stdout == "", (args, result.stdout)

