"""The kubelet's decisions, table by table: sandbox, init order, restart policies, probes, spec changes."""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.node.pod_sync import LABEL_SANDBOX_ATTEMPT, PodView, Step, decide, spec_hash
from minik8s.node.runtime import LABEL_ATTEMPT, LABEL_CONTAINER, LABEL_ROLE, LABEL_SPEC_HASH, ContainerInfo

APP = {"name": "app", "image": "busybox"}


def pod(*, policy: str = "Always", init: int = 0, phase: str = "Running") -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": policy, "containers": [APP]}
    if init:
        spec["initContainers"] = [{"name": f"init{i}", "image": "busybox"} for i in range(init)]
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": spec,
            "status": {"phase": phase}}


def info(name: str, role: str, state: str = "running", *, attempt: int = 0, sandbox: int = 0,
         exit_code: int | None = None, spec: dict[str, Any] | None = None) -> ContainerInfo:
    labels = {LABEL_ROLE: role, LABEL_CONTAINER: name, LABEL_ATTEMPT: str(attempt),
              LABEL_SANDBOX_ATTEMPT: str(sandbox)}
    if spec is not None:
        labels[LABEL_SPEC_HASH] = spec_hash(spec)
    return ContainerInfo(id=f"{role}-{name}-{sandbox}-{attempt}", name=name, labels=labels, state=state,  # type: ignore[arg-type]
                         image="busybox", image_id="sha", exit_code=exit_code)


SANDBOX = info("", "sandbox")


def run(pod_object: dict[str, Any], *containers: ContainerInfo, backoff: float = 0.0,
        unhealthy: dict[str, str] | None = None) -> list[Step]:
    view = PodView(pod_object, list(containers), lambda name, exited: backoff, unhealthy or {})
    return decide(view).steps


def actions(steps: list[Step]) -> list[tuple[str, str]]:
    return [(step.action, step.container) for step in steps]


def test_a_new_pod_gets_a_sandbox_first() -> None:
    assert actions(run(pod(phase="Pending"))) == [("run_sandbox", "")]


def test_a_dead_sandbox_kills_the_pod_and_makes_a_new_one_with_the_next_attempt() -> None:
    steps = run(pod(), info("", "sandbox", "exited"), info("app", "app"))
    assert [s.action for s in steps] == ["kill_pod", "run_sandbox"] and steps[1].attempt == 1


def test_a_finished_pod_is_not_started_again() -> None:
    assert run(pod(policy="Never", phase="Succeeded"), info("", "sandbox", "exited")) == []


def test_init_containers_run_one_at_a_time_in_order() -> None:
    assert actions(run(pod(init=2), SANDBOX)) == [("start", "init0")]
    assert actions(run(pod(init=2), SANDBOX, info("init0", "init"))) == []  # still running: wait
    done = info("init0", "init", "exited", exit_code=0)
    assert actions(run(pod(init=2), SANDBOX, done)) == [("start", "init1")]
    both = [done, info("init1", "init", "exited", exit_code=0)]
    assert actions(run(pod(init=2), SANDBOX, *both)) == [("start", "app")]


def test_a_failed_init_container_is_retried_unless_the_policy_is_never() -> None:
    failed = info("init0", "init", "exited", exit_code=1)
    assert actions(run(pod(init=1), SANDBOX, failed)) == [("start", "init0")]
    assert run(pod(init=1), SANDBOX, failed)[0].attempt == 1
    assert run(pod(init=1, policy="Never"), SANDBOX, failed) == []


@pytest.mark.parametrize(("policy", "exit_code", "restarts"), [
    ("Always", 0, True), ("Always", 1, True),
    ("OnFailure", 0, False), ("OnFailure", 2, True),
    ("Never", 0, False), ("Never", 2, False),
])
def test_restart_policy(policy: str, exit_code: int, restarts: bool) -> None:
    exited = info("app", "app", "exited", exit_code=exit_code, attempt=3)
    steps = run(pod(policy=policy), SANDBOX, exited)
    assert actions(steps) == ([("start", "app")] if restarts else [])
    if restarts:
        assert steps[0].attempt == 4  # the restart count goes on from the last attempt


def test_a_restart_waits_out_the_back_off() -> None:
    exited = info("app", "app", "exited", exit_code=1)
    view = PodView(pod(), [SANDBOX, exited], lambda name, info_: 8.0, {})
    decision = decide(view)
    assert decision.steps == [] and decision.requeue_after == 8.0
    reason, message = decision.waiting["app"]
    assert reason == "CrashLoopBackOff" and message.startswith("back-off 8s restarting failed container=app pod=p_")


def test_a_failed_liveness_probe_kills_the_running_container() -> None:
    running = info("app", "app", spec=APP)
    steps = run(pod(), SANDBOX, running, unhealthy={"app": "Liveness probe failed"})
    assert [(s.action, s.container_id) for s in steps] == [("kill", running.id)]
    assert "failed liveness probe" in steps[0].message


def test_a_changed_container_spec_replaces_the_container() -> None:
    running = info("app", "app", spec={"name": "app", "image": "busybox:old"})
    assert [s.action for s in run(pod(), SANDBOX, running)] == ["kill"]
    assert run(pod(), SANDBOX, info("app", "app", spec=APP)) == []


def test_old_attempts_are_removed_but_the_previous_one_is_kept() -> None:
    history = [info("app", "app", "exited", attempt=a, exit_code=1) for a in range(3)]
    steps = run(pod(), SANDBOX, *history, info("app", "app", attempt=3, spec=APP))
    assert [s.container_id for s in steps if s.action == "remove"] == [history[0].id, history[1].id]


def test_containers_of_an_old_sandbox_do_not_count_as_running_now() -> None:
    current = info("", "sandbox", attempt=1, sandbox=1)
    old_app = info("app", "app", "exited", sandbox=0, exit_code=137)
    steps = run(pod(), info("", "sandbox", "exited"), current, old_app)
    assert ("start", "app") in actions(steps)
    assert next(s for s in steps if s.action == "start").attempt == 1


def test_a_container_that_could_not_start_is_retried_after_the_back_off() -> None:
    broken = ContainerInfo(id="bad", name="app", labels=info("app", "app").labels, state="created",
                           image="busybox", image_id="sha", error='exec: "nope": executable file not found')
    assert actions(run(pod(), SANDBOX, broken)) == [("start", "app")]
    assert run(pod(), SANDBOX, broken)[0].attempt == 1  # a new attempt, not a second start of the broken one
    assert run(pod(), SANDBOX, broken, backoff=5.0) == []
