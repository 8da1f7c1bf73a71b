"""Pods as real Docker containers on two node agents: what a user of a kubelet relies on."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from tests.e2e.conftest import Cluster, busybox_pod, container_status, is_ready
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

HTTPD = "mkdir -p /www && echo $(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def test_pods_on_both_nodes_run_and_answer_on_their_pod_ip(cluster: Cluster, cleanup_pods: list[str]) -> None:
    for node in ("node-1", "node-2"):
        cleanup_pods.append(f"web-{node}")
        cluster.create_pod(busybox_pod(f"web-{node}", HTTPD, node=node, container={
            "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}))
    for node in ("node-1", "node-2"):
        pod = cluster.wait_pod(f"web-{node}", is_ready, what="Ready")
        assert pod["status"]["phase"] == "Running"
        subnet = "10.244.1." if node == "node-1" else "10.244.2."
        assert pod["status"]["podIP"].startswith(subnet) and pod["status"]["hostIP"] == subnet + "1"
        answer = httpx.get(f"http://{pod['status']['podIP']}:8080/", timeout=3).text.strip()
        assert answer == f"web-{node}"  # the pod's hostname is its name
    nodes = cluster.api.get("/api/v1/nodes").json()["items"]
    assert {n["metadata"]["name"] for n in nodes} >= {"node-1", "node-2"}
    assert all(n["status"]["capacity"]["pods"] == "110" for n in nodes)


def test_containers_of_a_pod_share_localhost(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("duo")
    pod = busybox_pod("duo", HTTPD)
    pod["spec"]["containers"].append({
        "name": "client", "image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "until wget -qO /tmp/got http://127.0.0.1:8080/; do sleep 0.2; done; "
                                "cat /tmp/got; exec sleep 3600"]})
    cluster.create_pod(pod)
    cluster.wait_pod("duo", is_ready, what="Ready")
    logs = wait_for("the client's log", lambda: cluster.api.get(
        "/api/v1/namespaces/default/pods/duo/log", params={"container": "client"}).text.strip())
    assert logs == "duo"


def test_env_from_configmap_and_secret_and_a_configmap_volume(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cluster.create("/api/v1/namespaces/default/configmaps",
                   {"metadata": {"name": "e2e-settings"}, "data": {"greeting": "hello", "app.conf": "port=80"}})
    cluster.create("/api/v1/namespaces/default/secrets",
                   {"metadata": {"name": "e2e-creds"}, "stringData": {"password": "s3cret"}})
    cleanup_pods.append("envy")
    cluster.create_pod(busybox_pod("envy", "echo $GREETING $PASSWORD $MY_NAME; cat /etc/app/app.conf; echo; sleep 3600",
                                   container={
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "e2e-settings", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "e2e-creds", "key": "password"}}},
                {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]},
        volumes=[{"name": "config", "configMap": {"name": "e2e-settings"}}]))
    cluster.wait_pod("envy", is_ready, what="Ready")
    logs = wait_for("both lines of the log", lambda: (lambda text: text if "port" in text else None)(
        cluster.api.get("/api/v1/namespaces/default/pods/envy/log").text))
    assert logs.splitlines() == ["hello s3cret envy", "port=80"]
    cluster.api.delete("/api/v1/namespaces/default/configmaps/e2e-settings")
    cluster.api.delete("/api/v1/namespaces/default/secrets/e2e-creds")


def test_a_crashing_container_backs_off_and_its_restart_count_rises(cluster: Cluster,
                                                                   cleanup_pods: list[str]) -> None:
    cleanup_pods.append("crasher")
    cluster.create_pod(busybox_pod("crasher", "echo boom; exit 3"))
    pod = cluster.wait_pod("crasher", lambda p: container_status(p, "main").get("restartCount", 0) >= 2,
                           what="restarted twice")
    wait_for("CrashLoopBackOff", lambda: container_status(cluster.pod("crasher") or {}, "main")
             .get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff", timeout=20)
    last = container_status(pod, "main")["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    back_offs = [e for e in cluster.events_for("crasher") if e["reason"] == "BackOff"]
    assert back_offs and "Back-off restarting failed container main" in back_offs[0]["message"]
    table = cluster.kubectl("get", "pod", "crasher").stdout.splitlines()[1].split()
    assert table[2] in ("CrashLoopBackOff", "Error") and int(table[3]) >= 2


def test_a_failing_liveness_probe_restarts_the_container(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("sickly")
    cluster.create_pod(busybox_pod("sickly", "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600",
                                   container={"livenessProbe": {"exec": {"command": ["test", "-f", "/tmp/alive"]},
                                                                "periodSeconds": 1, "failureThreshold": 1}}))
    cluster.wait_pod("sickly", lambda p: container_status(p, "main").get("restartCount", 0) >= 1,
                     what="restarted by its liveness probe", timeout=40)
    reasons = {e["reason"] for e in cluster.events_for("sickly")}
    assert {"Unhealthy", "Killing"} <= reasons


def test_a_failing_readiness_probe_keeps_the_pod_unready(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("shy")
    cluster.create_pod(busybox_pod("shy", "exec sleep 3600", container={
        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1}}))
    cluster.wait_pod("shy", lambda p: container_status(p, "main").get("state", {}).get("running"), what="running")
    wait_for("a failed readiness result", lambda: any(e["reason"] == "Unhealthy" for e in cluster.events_for("shy")),
             timeout=15)
    pod = cluster.pod("shy") or {}
    assert not is_ready(pod) and container_status(pod, "main")["ready"] is False
    cluster.kubectl("exec", "shy", "--", "touch", "/tmp/ready")
    cluster.wait_pod("shy", is_ready, what="Ready once the file exists")


def test_init_containers_run_in_order_before_the_app(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("initialised")
    pod = busybox_pod("initialised", "cat /work/order; exec sleep 3600",
                      container={"volumeMounts": [{"name": "work", "mountPath": "/work"}]},
                      volumes=[{"name": "work", "emptyDir": {}}])
    pod["spec"]["initContainers"] = [
        {"name": f"step{i}", "image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", f"sleep 0.{i}; echo step{i} >> /work/order"],
         "volumeMounts": [{"name": "work", "mountPath": "/work"}]} for i in (1, 2, 3)]
    cluster.create_pod(pod)
    ready = cluster.wait_pod("initialised", is_ready, what="Ready")
    assert [s["state"]["terminated"]["reason"] for s in ready["status"]["initContainerStatuses"]] == ["Completed"] * 3
    logs = cluster.api.get("/api/v1/namespaces/default/pods/initialised/log").text
    assert logs.split() == ["step1", "step2", "step3"]


def test_deletion_sends_sigterm_before_sigkill(cluster: Cluster, tmp_path: Path) -> None:
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    command = "trap 'echo got-term > /markers/term; exit 0' TERM; echo started > /markers/start; " \
              "while true; do sleep 0.1; done"
    with cluster.namespace("graceful", privileged=True) as namespace:  # the markers are a hostPath
        cluster.create_pod(busybox_pod("graceful", command, grace=10, container={
            "volumeMounts": [{"name": "markers", "mountPath": "/markers"}]},
            volumes=[{"name": "markers", "hostPath": {"path": str(marker_dir)}}]), namespace=namespace)
        cluster.wait_pod("graceful", lambda p: p["status"].get("phase") == "Running", what="Running",
                         namespace=namespace)
        wait_for("the start marker", lambda: (marker_dir / "start").exists())
        started = time.monotonic()
        cluster.delete_pod("graceful", namespace)
        cluster.wait_gone("graceful", timeout=15, namespace=namespace)
        assert (marker_dir / "term").read_text().strip() == "got-term"
        assert time.monotonic() - started < 10  # the trap exited at once: no wait for the full grace period


def test_an_image_that_does_not_exist_backs_off_with_an_event(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("missing-image")
    pod = busybox_pod("missing-image", "true")
    pod["spec"]["containers"][0]["image"] = "minik8s/does-not-exist:v1"
    cluster.create_pod(pod)
    cluster.wait_pod("missing-image", lambda p: container_status(p, "main").get("state", {}).get("waiting", {})
                     .get("reason") == "ImagePullBackOff", what="in ImagePullBackOff", timeout=30)
    failures = [e for e in cluster.events_for("missing-image") if e["reason"] == "Failed"]
    assert failures and "minik8s/does-not-exist:v1" in failures[0]["message"]


def test_logs_follow_and_exec_through_the_api(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("chatty")
    cluster.create_pod(busybox_pod("chatty", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"))
    cluster.wait_pod("chatty", lambda p: p["status"].get("phase") == "Running", what="Running")
    lines: list[str] = []
    with cluster.api.stream("GET", "/api/v1/namespaces/default/pods/chatty/log",
                            params={"follow": "true", "tailLines": "1"}) as response:
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 4:
                break
    numbers = [int(line.split("-")[1]) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + 4))  # consecutive lines, streamed live
    query = "command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262%3B%20exit%203&stdout=true&stderr=true"
    url = f"{cluster.api.base_url}/api/v1/namespaces/default/pods/chatty/exec?{query}".replace("https://", "wss://")
    frames: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
    with websockets.sync.client.connect(url, subprotocols=["v5.channel.k8s.io"],  # type: ignore[list-item]
                                          ssl=cluster.tls) as socket:
        for message in socket:
            data = message if isinstance(message, bytes) else message.encode()
            if data:
                frames[data[0]] = frames.get(data[0], b"") + data[1:]
    assert frames[1] == b"out\n" and frames[2] == b"err\n"
    status = json.loads(frames[3])
    assert status["reason"] == "NonZeroExitCode" and status["details"]["causes"][0]["message"] == "3"
    result = cluster.kubectl("exec", "chatty", "--", "sh", "-c", "echo hi; exit 4", check=False)
    assert result.stdout == "hi\n" and result.returncode == 4


def test_a_missing_configmap_holds_the_container_until_it_exists(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("patient")
    cluster.create_pod(busybox_pod("patient", "echo $VALUE; exec sleep 3600", container={
        "env": [{"name": "VALUE", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "value"}}}]}))
    cluster.wait_pod("patient", lambda p: container_status(p, "main").get("state", {}).get("waiting", {})
                     .get("reason") == "CreateContainerConfigError", what="CreateContainerConfigError")
    assert any(e["reason"] == "Failed" and 'configmap "later" not found' in e["message"]
               for e in cluster.events_for("patient"))
    cluster.create("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "later"}, "data": {"value": "42"}})
    cluster.wait_pod("patient", is_ready, what="Ready once the ConfigMap exists")
    assert cluster.api.get("/api/v1/namespaces/default/pods/patient/log").text.strip() == "42"
    cluster.api.delete("/api/v1/namespaces/default/configmaps/later")


def test_a_bad_command_is_a_container_error_not_an_agent_crash(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("typo")
    pod = busybox_pod("typo", "")
    pod["spec"]["containers"][0]["command"] = ["/bin/no-such-program"]
    cluster.create_pod(pod)
    cluster.wait_pod("typo", lambda p: container_status(p, "main").get("restartCount", 0) >= 1 or
                     container_status(p, "main").get("state", {}).get("waiting", {}).get("reason") in
                     ("RunContainerError", "CrashLoopBackOff"), what="failing to run")
    status = cluster.cli("status", "-o", "json").stdout
    agents = [c for c in json.loads(status)["components"] if c["kind"] == "node-agent"]
    assert all(agent["healthy"] for agent in agents)


def test_a_restarted_agent_adopts_running_containers(cluster: Cluster, cleanup_pods: list[str]) -> None:
    cleanup_pods.append("steady")
    cluster.create_pod(busybox_pod("steady", "exec sleep 3600", node="node-2"))
    before = cluster.wait_pod("steady", is_ready, what="Ready")
    container_id = container_status(before, "main")["containerID"]
    agent = next(c for c in json.loads(cluster.cli("status", "-o", "json").stdout)["components"]
                 if c.get("node") == "node-2")
    subprocess.run(["kill", "-9", str(agent["pid"])], check=True)
    cluster.cli("up")  # brings back only what is not running
    wait_for("the agent to sync again", lambda: all(
        c["healthy"] for c in json.loads(cluster.cli("status", "-o", "json").stdout)["components"]), timeout=30)
    after = cluster.wait_pod("steady", is_ready, what="still Ready")
    assert container_status(after, "main")["containerID"] == container_id
    assert container_status(after, "main")["restartCount"] == 0
