"""Kubernetes-level faults: a node agent, the Docker engine, the apiservers, the scheduler, the
controller-manager and the proxy's rules, each broken on a real cluster and then healed.

Each `ClusterFault` injects its fault into a running workload (workload.py), heals it and returns
when the workload is whole again; `run_cluster_fault` times that recovery from the moment the
workload started to hurt (the injection) or, for an outage that must be healed by hand, from the
heal, and collects what a user would call a bug: the observer's double binds and extra pods, and
containers the fault should have left alone but did not (`kept`). Processes are found with
`minik8s status -o json` and healed with `minik8s up`, which starts again only what is not running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.linearizability import Anomaly
from tests.faults.workload import Workload, sample_for, service_answers
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
RECOVERY_DEADLINE = 120.0
APISERVER_OUTAGE = 30.0  # seconds every apiserver stays down (issue #14)


@dataclass
class Outcome:
    """What one fault did: when the workload was whole again, and anomalies beyond the observer's."""

    recovered_at: float = 0.0
    measured_from: float = 0.0
    anomalies: list[Anomaly] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterFault:
    name: str
    recovery: str  # what "recovered" means for this fault, for the table
    act: Callable[[Workload, Outcome], None]


def pid_of(workload: Workload, match: Callable[[dict[str, object]], bool]) -> list[int]:
    status = json.loads(workload.cluster.cli("status", "-o", "json", check=False).stdout or '{"components": []}')
    return [int(str(component["pid"])) for component in status["components"] if component.get("pid") and
            match(component)]


def kill(pids: list[int]) -> None:
    assert pids, "no process to kill: the cluster is not what the fault expects"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def heal(workload: Workload) -> None:
    """`minik8s up`: starts what is not running, leaves the rest."""
    workload.cluster.cli("up")


def wait_whole(workload: Workload, outcome: Outcome, what: str) -> None:
    wait_for(what, workload.whole, timeout=RECOVERY_DEADLINE, interval=0.2)
    outcome.recovered_at = time.monotonic()


def check_kept(workload: Workload, before: dict[str, tuple[str, int]], outcome: Outcome, why: str) -> None:
    """Every container running before the fault still runs, unrestarted."""
    after = workload.containers()
    for pod, container in before.items():
        if after.get(pod) != container:
            outcome.anomalies.append(Anomaly("container not kept", pod, f"{why}: {container} became {after.get(pod)}"))


def node_agent_killed(workload: Workload, outcome: Outcome) -> None:
    outcome.measured_from = time.monotonic()
    kill(pid_of(workload, lambda component: component.get("node") == "node-2"))
    try:
        wait_for("every replica Ready on node-1", lambda: len(on_node := [
            pod for pod in workload.ready_pods() if pod["spec"]["nodeName"] == "node-1"]) == workload.replicas
            and workload.whole() and bool(on_node), timeout=RECOVERY_DEADLINE, interval=0.2)
        outcome.recovered_at = time.monotonic()
    finally:
        heal(workload)
        workload.cluster.wait_nodes_healthy(timeout=RECOVERY_DEADLINE)


def node_agent_restarted(workload: Workload, outcome: Outcome) -> None:
    before = workload.containers()
    outcome.measured_from = time.monotonic()
    kill(pid_of(workload, lambda component: component.get("node") == "node-1"))
    heal(workload)
    workload.cluster.wait_nodes_healthy(timeout=RECOVERY_DEADLINE)
    wait_whole(workload, outcome, "the workload after node-1's agent restarted")
    check_kept(workload, before, outcome, "a restarted agent adopts its pods")


def docker_restarted(workload: Workload, outcome: Outcome) -> None:
    outcome.measured_from = time.monotonic()
    restart = subprocess.run(["bash", "-c", "kill $(cat /var/run/docker.pid) && while [ -e /var/run/docker.pid ]; "
                              "do sleep 0.1; done && bash deploy/setup/docker.sh"], cwd=ROOT, capture_output=True,
                             text=True, timeout=RECOVERY_DEADLINE)
    assert restart.returncode == 0, restart.stderr
    wait_whole(workload, outcome, "the workload after the Docker engine restarted")
    workload.cluster.wait_nodes_healthy(timeout=RECOVERY_DEADLINE)


def apiservers_down(workload: Workload, outcome: Outcome) -> None:
    before = workload.containers()
    kill(pid_of(workload, lambda component: component.get("kind") == "apiserver"))
    # The outage lasts a fixed time, during which the data plane must keep serving.
    samples = sample_for(lambda: service_answers(workload.cluster_ip), APISERVER_OUTAGE)
    failed = samples.count(False)
    if failed:
        outcome.anomalies.append(Anomaly("service down", "web", f"{failed} of {len(samples)} requests failed "
                                                                  "while the apiservers were down"))
    outcome.notes.append(f"the Service answered {samples.count(True)} of {len(samples)} requests during the outage")
    outcome.measured_from = time.monotonic()
    heal(workload)
    workload.scale(workload.replicas + 1)  # needs the controller-manager, scheduler, agents and proxy back
    wait_whole(workload, outcome, "a new replica Ready and served after the apiservers came back")
    check_kept(workload, before, outcome, "pods keep running while the apiservers are down")
    workload.scale(workload.replicas - 1)
    wait_for("the scale-down", workload.whole, timeout=RECOVERY_DEADLINE)


def daemon_killed(kind: str) -> Callable[[Workload, Outcome], None]:
    def act(workload: Workload, outcome: Outcome) -> None:
        before = workload.containers()
        kill(pid_of(workload, lambda component: component.get("kind") == kind))
        outcome.measured_from = time.monotonic()
        workload.scale(workload.replicas + 2)  # asked of the dead daemon: done by its successor, once
        heal(workload)
        wait_whole(workload, outcome, f"two new replicas after the {kind} was killed")
        check_kept(workload, before, outcome, f"killing the {kind} leaves running pods alone")
        workload.scale(workload.replicas - 2)
        wait_for("the scale-down", workload.whole, timeout=RECOVERY_DEADLINE)
    return act


def rules_flushed(workload: Workload, outcome: Outcome) -> None:
    outcome.measured_from = time.monotonic()
    subprocess.run(["iptables", "-w", "-t", "nat", "-F", "MINIK8S-SERVICES"], check=True)
    wait_for("the proxy to repair its rules", lambda: service_answers(workload.cluster_ip), timeout=RECOVERY_DEADLINE,
             interval=0.1)
    outcome.recovered_at = time.monotonic()


CLUSTER_FAULTS = (
    ClusterFault("node agent killed", "its pods Ready on the other node", node_agent_killed),
    ClusterFault("node agent restarted", "node Ready, pods adopted", node_agent_restarted),
    ClusterFault("Docker engine restarted", "every pod Ready again", docker_restarted),
    ClusterFault(f"all apiservers down {APISERVER_OUTAGE:.0f} s", "a new replica Ready (from the restart)",
                 apiservers_down),
    ClusterFault("scheduler SIGKILL", "2 new replicas Ready", daemon_killed("scheduler")),
    ClusterFault("controller-manager SIGKILL", "2 new replicas Ready", daemon_killed("controller-manager")),
    ClusterFault("proxy rules flushed", "the Service answers", rules_flushed),
)
