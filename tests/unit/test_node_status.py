"""The pod status the agent reports follows the kubelet's rules for phase, conditions and states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from minik8s.node.runtime import ContainerInfo
from minik8s.node.status import (
    ContainerObservation,
    PodObservation,
    format_runtime_time,
    pod_status,
    status_changed,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LATER = datetime(2024, 5, 1, 12, 5, 0, tzinfo=UTC)
STARTED = "2024-05-01T11:59:58.123456789Z"
FINISHED = "2024-05-01T11:59:59.5Z"


def running(container_id="c1"):
    return ContainerInfo(id=container_id, name=container_id, labels={}, state="running", image="busybox",
                         image_id="sha256:abc", started_at=STARTED)


def exited(code, container_id="c0", *, oom=False):
    return ContainerInfo(id=container_id, name=container_id, labels={}, state="exited", image="busybox",
                         image_id="sha256:abc", exit_code=code, started_at=STARTED, finished_at=FINISHED,
                         oom_killed=oom)


def pod(*, containers=("app",), init=(), restart_policy="Always", status=None, gates=()):
    spec = {
        "restartPolicy": restart_policy,
        "containers": [{"name": name, "image": "busybox"} for name in containers],
    }
    if init:
        spec["initContainers"] = [{"name": name, "image": "busybox"} for name in init]
    if gates:
        spec["readinessGates"] = [{"conditionType": gate} for gate in gates]
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": spec,
            "status": status or {"phase": "Pending", "qosClass": "BestEffort"}}


def observe(name, info=None, **fields):
    return ContainerObservation(name=name, image="busybox", info=info, **fields)


def status_of(spec_pod, *, containers=(), init=(), terminating=False, now=NOW, sandbox_ip="10.0.0.7"):
    sandbox = ContainerInfo(id="s", name="s", labels={}, state="running", image="pause", image_id="", ip=sandbox_ip)
    observation = PodObservation(sandbox=sandbox, host_ip="192.168.1.2", init=list(init), containers=list(containers),
                                 terminating=terminating)
    return pod_status(spec_pod, observation, now=now)


def conditions(status):
    return {c["type"]: (c["status"], c.get("reason"), c.get("message")) for c in status["conditions"]}


def test_a_running_ready_container_makes_a_running_ready_pod():
    status = status_of(pod(), containers=[observe("app", running(), ready=True, restart_count=0)])
    assert status["phase"] == "Running"
    assert conditions(status) == {
        "Initialized": ("True", None, None),
        "Ready": ("True", None, None),
        "ContainersReady": ("True", None, None),
        "PodScheduled": ("True", None, None),
    }
    assert status["podIP"] == "10.0.0.7" and status["podIPs"] == [{"ip": "10.0.0.7"}]
    assert status["hostIP"] == "192.168.1.2" and status["hostIPs"] == [{"ip": "192.168.1.2"}]
    assert status["startTime"] == "2024-05-01T12:00:00Z"
    assert status["qosClass"] == "BestEffort"
    assert status["containerStatuses"] == [{
        "name": "app",
        "state": {"running": {"startedAt": "2024-05-01T11:59:58Z"}},
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": "busybox",
        "imageID": "sha256:abc",
        "containerID": "docker://c1",
        "started": True,
    }]
    assert "initContainerStatuses" not in status


def test_an_unready_container_names_itself_in_the_conditions():
    status = status_of(pod(containers=("a", "b", "c")), containers=[
        observe("a", running("1"), ready=False), observe("b", running("2"), ready=True), observe("c", running("3")),
    ])
    assert status["phase"] == "Running"
    assert conditions(status)["ContainersReady"] == ("False", "ContainersNotReady", "containers with unready status: [a c]")
    assert conditions(status)["Ready"] == ("False", "ContainersNotReady", "containers with unready status: [a c]")


def test_containers_not_yet_created_wait_and_keep_the_pod_pending():
    status = status_of(pod(), containers=[])
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert status["containerStatuses"][0]["started"] is False
    assert "containerID" not in status["containerStatuses"][0]


def test_crash_loop_back_off_shows_waiting_with_the_last_termination():
    message = "back-off 10s restarting failed container=app pod=p_default(u1)"
    status = status_of(pod(), containers=[observe("app", exited(1, "c2"), previous=exited(1, "c1"), restart_count=2,
                                                  waiting_reason="CrashLoopBackOff", waiting_message=message)])
    container = status["containerStatuses"][0]
    assert container["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
    assert container["lastState"] == {"terminated": {
        "exitCode": 1, "reason": "Error", "startedAt": "2024-05-01T11:59:58Z", "finishedAt": "2024-05-01T11:59:59Z",
        "containerID": "docker://c2",
    }}
    assert container["restartCount"] == 2 and container["ready"] is False and container["started"] is False
    assert container["containerID"] == "docker://c2"
    assert status["phase"] == "Running"  # restartPolicy Always: restarting


def test_a_restarted_running_container_reports_the_previous_one_as_last_state():
    status = status_of(pod(), containers=[observe("app", running("c2"), previous=exited(137, "c1", oom=True),
                                                  restart_count=1, ready=True)])
    assert status["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert status["containerStatuses"][0]["restartCount"] == 1


@pytest.mark.parametrize(
    ("policy", "codes", "phase"),
    [
        ("Never", [0], "Succeeded"),
        ("Never", [0, 1], "Failed"),
        ("OnFailure", [0, 0], "Succeeded"),
        ("OnFailure", [1], "Running"),  # restarting
        ("Always", [0], "Running"),
        ("Always", [1], "Running"),
    ],
)
def test_phase_of_exited_containers_follows_the_restart_policy(policy, codes, phase):
    names = [f"c{i}" for i in range(len(codes))]
    observations = [observe(name, exited(code, name)) for name, code in zip(names, codes, strict=True)]
    status = status_of(pod(containers=names, restart_policy=policy), containers=observations)
    assert status["phase"] == phase


def test_one_running_and_one_exited_container_is_running():
    status = status_of(pod(containers=("a", "b"), restart_policy="Never"),
                       containers=[observe("a", running()), observe("b", exited(0))])
    assert status["phase"] == "Running"


def test_succeeded_pod_reports_completed_conditions():
    status = status_of(pod(restart_policy="Never"), containers=[observe("app", exited(0))])
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert conditions(status)["Ready"] == ("False", "PodCompleted", None)
    assert conditions(status)["ContainersReady"] == ("False", "PodCompleted", None)
    assert conditions(status)["Initialized"] == ("True", "PodCompleted", None)


def test_failed_pod_reports_pod_failed_readiness():
    status = status_of(pod(restart_policy="Never"), containers=[observe("app", exited(2))])
    assert status["phase"] == "Failed"
    assert conditions(status)["Ready"] == ("False", "PodFailed", None)


def test_init_containers_run_first_and_keep_the_pod_pending():
    spec_pod = pod(init=("setup", "migrate"))
    status = status_of(spec_pod, init=[observe("setup", exited(0, "i1")), observe("migrate", running("i2"))])
    assert status["phase"] == "Pending"
    assert [s["name"] for s in status["initContainerStatuses"]] == ["setup", "migrate"]
    assert status["initContainerStatuses"][0]["ready"] is True  # an init container is ready once it succeeded
    assert status["initContainerStatuses"][1]["ready"] is False
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert conditions(status)["Initialized"] == (
        "False", "ContainersNotInitialized", "containers with incomplete status: [migrate]")


def test_after_init_containers_the_pod_is_initialized_and_runs():
    status = status_of(pod(init=("setup",)), init=[observe("setup", exited(0, "i1"))],
                       containers=[observe("app", running(), ready=True)])
    assert status["phase"] == "Running"
    assert conditions(status)["Initialized"] == ("True", None, None)


@pytest.mark.parametrize(("policy", "phase"), [("Never", "Failed"), ("OnFailure", "Pending"), ("Always", "Pending")])
def test_a_failed_init_container_fails_the_pod_only_under_never(policy, phase):
    status = status_of(pod(init=("setup",), restart_policy=policy), init=[observe("setup", exited(1, "i1"))])
    assert status["phase"] == phase


def test_init_container_in_back_off_after_failure_fails_under_never():
    status = status_of(pod(init=("setup",), restart_policy="Never"), init=[
        observe("setup", exited(1, "i1"), waiting_reason="CrashLoopBackOff", restart_count=1)])
    assert status["phase"] == "Failed"


def test_config_errors_wait_with_their_reason():
    status = status_of(pod(), containers=[observe("app", waiting_reason="CreateContainerConfigError",
                                                  waiting_message='configmap "x" not found')])
    assert status["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "x" not found'}}
    assert status["phase"] == "Pending"


def test_readiness_gates_hold_ready_until_their_condition_is_true():
    previous = {"phase": "Running", "conditions": [{"type": "example.com/lb", "status": "False"}]}
    status = status_of(pod(gates=("example.com/lb",), status=previous), containers=[observe("app", running(), ready=True)])
    assert conditions(status)["ContainersReady"][0] == "True"
    assert conditions(status)["Ready"] == (
        "False", "ReadinessGatesNotReady", 'the status of pod readiness gate "example.com/lb" is not "True", but False')
    assert status["conditions"][0]["type"] == "example.com/lb"  # conditions of others are kept


def test_transition_times_and_start_time_are_kept_while_nothing_changes():
    first = status_of(pod(), containers=[observe("app", running(), ready=False)])
    spec_pod = pod(status=first)
    second = status_of(spec_pod, containers=[observe("app", running(), ready=True)], now=LATER)
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["PodScheduled"] == times["Initialized"] == "2024-05-01T12:00:00Z"
    assert times["Ready"] == times["ContainersReady"] == "2024-05-01T12:05:00Z"
    assert second["startTime"] == "2024-05-01T12:00:00Z"


def test_a_terminal_phase_is_never_left():
    status = status_of(pod(status={"phase": "Succeeded"}), containers=[observe("app", running())])
    assert status["phase"] == "Succeeded"


def test_a_deleted_pod_whose_containers_stopped_becomes_terminal():
    status = status_of(pod(), containers=[observe("app", exited(143))], terminating=True)
    assert status["phase"] == "Failed"
    clean = status_of(pod(), containers=[observe("app", exited(0))], terminating=True)
    assert clean["phase"] == "Succeeded"
    never_started = status_of(pod(), containers=[], terminating=True)
    assert never_started["phase"] == "Failed"


def test_the_pod_ip_is_kept_when_the_sandbox_is_gone():
    first = status_of(pod(), containers=[observe("app", running())])
    second = status_of(pod(status=first), containers=[observe("app", exited(0))], sandbox_ip=None)
    assert second["podIP"] == "10.0.0.7"


def test_started_follows_the_startup_probe():
    status = status_of(pod(), containers=[observe("app", running(), started=False)])
    assert status["containerStatuses"][0]["started"] is False


def test_status_changed_ignores_order_only():
    status = status_of(pod(containers=("a", "b")), containers=[observe("a", running("1")), observe("b", running("2"))])
    shuffled = {**status, "conditions": list(reversed(status["conditions"])),
                "containerStatuses": list(reversed(status["containerStatuses"]))}
    assert not status_changed(status, shuffled)
    assert status_changed(status, {**status, "phase": "Failed"})
    assert status_changed({}, status)
    same_again = status_of(pod(containers=("a", "b"), status=status),
                           containers=[observe("a", running("1")), observe("b", running("2"))], now=LATER)
    assert not status_changed(status, same_again)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T11:59:58.123456789Z", "2024-05-01T11:59:58Z"),
        ("2024-05-01T13:59:58+02:00", "2024-05-01T11:59:58Z"),
        ("0001-01-01T00:00:00Z", None),
        (None, None),
        ("", None),
    ],
)
def test_runtime_times_are_normalised_to_kubernetes_form(text, expected):
    assert format_runtime_time(text) == expected
