"""minik8s' own CLI against real containers: `logs` and `exec` as a user types them.

tests/integration/test_cli_verbs.py checks every verb against a stand-in agent; here the bytes come
from Docker through the node agent and the apiserver, so what the user reads is what the
container wrote — several containers, `--tail`, `-f`, `--previous` after a restart, `deploy/NAME`,
stdin with `-i`, and the exit code of the command.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Cluster, container_status, is_ready
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

BUSYBOX = {"image": "minik8s/busybox:latest", "imagePullPolicy": "IfNotPresent"}
# First run: says "first" and fails; the restart (same emptyDir) says "second" and stays.
RESTARTS_ONCE = ("if [ -f /data/ran ]; then echo second; exec sleep 3600; fi; "
                 "touch /data/ran; echo first; exit 1")


def two_container_pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": 0, "volumes": [{"name": "data", "emptyDir": {}}],
                     "containers": [
                         {"name": "main", **BUSYBOX, "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; "
                                                                 "done; i=0; while true; do i=$((i+1)); "
                                                                 "echo tick $i; sleep 0.2; done"]},
                         {"name": "once", **BUSYBOX, "command": ["sh", "-c", RESTARTS_ONCE],
                          "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}


def test_logs_of_each_container_tail_follow_and_previous(cluster: Cluster) -> None:
    with cluster.namespace("cli-logs") as namespace:
        cluster.create_pod(two_container_pod("talk"), namespace)
        wait_for("container once to restart", lambda: container_status(
            cluster.api.get(f"/api/v1/namespaces/{namespace}/pods/talk").json(), "once").get("restartCount"),
            timeout=60)
        wait_for("the pod to be Ready", lambda: is_ready(
            cluster.api.get(f"/api/v1/namespaces/{namespace}/pods/talk").json()), timeout=30)

        main = cluster.verb("logs", "talk", "-c", "main", "-n", namespace).stdout.splitlines()
        assert main[:5] == [f"line {i}" for i in range(1, 6)] and main[5] == "tick 1"
        assert cluster.verb("logs", "talk", "-c", "main", "--tail", "1", "-n", namespace).stdout.startswith("tick ")
        assert cluster.verb("logs", "talk", "-c", "once", "-n", namespace).stdout == "second\n"
        assert cluster.verb("logs", "talk", "-c", "once", "--previous", "-n", namespace).stdout == "first\n"
        defaulted = cluster.verb("logs", "talk", "--tail", "1", "-n", namespace)  # kubectl takes the first
        assert defaulted.stderr == 'Defaulted container "main" out of: main, once\n'
        assert defaulted.stdout.startswith("tick ")

        follow = subprocess.Popen([sys.executable, "-m", "minik8s.cli.main", "logs", "-f", "talk", "-c", "main",
                                   "--tail", "1", "-n", namespace, "--kubeconfig", str(cluster.home / "kubeconfig")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = threading.Timer(30, follow.kill)  # a hung stream ends in EOF and fails below
        deadline.start()
        try:
            lines: list[str] = []
            assert follow.stdout is not None
            while len(lines) < 3:  # the last line, then new ones as the container writes them
                line = follow.stdout.readline()
                assert line, follow.stderr.read() if follow.stderr else ""
                lines.append(line.rstrip("\n"))
            numbers = [int(line.split()[1]) for line in lines]
            assert numbers == list(range(numbers[0], numbers[0] + 3)), lines
        finally:
            deadline.cancel()
            follow.kill()
            follow.communicate(timeout=10)


def test_logs_of_a_deployment_and_exec_with_stdin_and_exit_codes(cluster: Cluster, tmp_path: Path) -> None:
    with cluster.namespace("cli-exec") as namespace:
        manifest = tmp_path / "hello.yaml"
        manifest.write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: hello}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: hello}}}}
  template:
    metadata: {{labels: {{app: hello}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: hello
        image: {BUSYBOX["image"]}
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo hello from $(hostname); exec sleep 3600"]
""")
        assert cluster.verb("apply", "-f", str(manifest), "-n", namespace).stdout == "deployment.apps/hello created\n"
        cluster.verb("rollout", "status", "deployment/hello", "-n", namespace, "--timeout", "60s")
        pod = cluster.pods(namespace, "app=hello")[0]["metadata"]["name"]
        assert cluster.verb("logs", "deploy/hello", "-n", namespace).stdout == f"hello from {pod}\n"

        assert cluster.verb("exec", pod, "-n", namespace, "--", "hostname").stdout == f"{pod}\n"
        piped = cluster.verb("exec", "-i", pod, "-n", namespace, "--", "sh", "-c", "tr a-z A-Z; echo done >&2",
                            stdin="from the host\n")
        assert (piped.stdout, piped.stderr) == ("FROM THE HOST\n", "done\n")
        terminal = cluster.verb("exec", "-t", pod, "-n", namespace, "--", "tty")  # -t: the command gets a terminal
        assert terminal.stdout.startswith("/dev/pts/"), terminal
        failed = cluster.verb("exec", pod, "-n", namespace, "--", "sh", "-c", "echo partial; exit 3", check=False)
        assert (failed.returncode, failed.stdout) == (3, "partial\n")
        assert failed.stderr == "command terminated with exit code 3\n"
        missing = cluster.verb("exec", pod, "-n", namespace, "--", "no-such-command", check=False)
        assert missing.returncode != 0 and missing.stderr.strip(), missing
        assert "Traceback" not in missing.stderr
