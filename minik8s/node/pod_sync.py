"""What to do next for one pod, decided purely from the pod and the containers that exist.

This is the kubelet's SyncPod in one function: make sure the sandbox runs (a new one, and new
containers, when it died), run init containers one at a time in order, then keep every app
container running as its restartPolicy says — with CrashLoopBackOff between restarts, a kill
when its liveness probe fails, and a replacement when its spec changed. The agent executes
the steps; nothing here touches Docker or the API, so every rule is a table-driven unit test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from minik8s.api.meta import name_of, namespace_of, spec_of, status_of, uid_of
from minik8s.node.pod_phase import TERMINAL_PHASES
from minik8s.node.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_ROLE,
    LABEL_SPEC_HASH,
    ContainerInfo,
)

LABEL_SANDBOX_ATTEMPT = "minik8s.io/sandbox-attempt"  # which sandbox a container was started in

Action = Literal["run_sandbox", "start", "kill", "kill_pod", "remove"]


@dataclass(frozen=True)
class Step:
    action: Action
    container: str = ""  # the container's name in the pod spec
    role: str = ""  # "init" | "app"
    attempt: int = 0  # the attempt number a started container gets (its restartCount)
    container_id: str = ""  # what to kill or remove
    message: str = ""  # why (goes into the Killing event)


@dataclass
class Decision:
    steps: list[Step] = field(default_factory=list)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # container -> (reason, message)
    requeue_after: float | None = None  # seconds until something (a back-off) expires
    sandbox_attempt: int = 0

    def wait(self, seconds: float) -> None:
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)


def spec_hash(container: Mapping[str, Any]) -> str:
    """Changes when the container's spec does (a new image, say), so the agent replaces it."""
    return hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()[:16]


def attempt_of(info: ContainerInfo, label: str = LABEL_ATTEMPT) -> int:
    try:
        return int(info.labels.get(label, "0"))
    except ValueError:
        return 0


def pod_ref(pod: Mapping[str, Any]) -> str:
    """`name_namespace(uid)`: how the kubelet names a pod in its messages."""
    return f"{name_of(pod)}_{namespace_of(pod)}({uid_of(pod)})"


def by_name(containers: Sequence[ContainerInfo], role: str) -> dict[str, list[ContainerInfo]]:
    """Containers of one role grouped by spec name, oldest attempt first."""
    grouped: dict[str, list[ContainerInfo]] = {}
    for info in containers:
        if info.labels.get(LABEL_ROLE) == role:
            grouped.setdefault(info.labels.get(LABEL_CONTAINER, ""), []).append(info)
    for infos in grouped.values():
        infos.sort(key=attempt_of)
    return grouped


def never_started(info: ContainerInfo) -> bool:
    """Created, but the engine could not start it (bad command): a failure like an exit."""
    return info.state == "created" and bool(info.error)


def should_restart(policy: str, exit_code: int | None) -> bool:
    if policy == "Always":
        return True
    return policy == "OnFailure" and exit_code != 0


BackoffQuery = Callable[[str, ContainerInfo], float]  # (container name, its exited container) → seconds to wait


@dataclass(frozen=True)
class PodView:
    """The inputs of a decision."""

    pod: Mapping[str, Any]
    containers: Sequence[ContainerInfo]  # every container of the pod, sandbox included
    backoff_remaining: BackoffQuery
    unhealthy: Mapping[str, str] = field(default_factory=dict)  # container -> liveness failure message


def decide(view: PodView) -> Decision:
    pod = view.pod
    spec = spec_of(pod)
    sandboxes = sorted((c for c in view.containers if c.labels.get(LABEL_ROLE) == "sandbox"), key=attempt_of)
    decision = Decision(sandbox_attempt=attempt_of(sandboxes[-1]) if sandboxes else 0)
    phase = status_of(pod).get("phase")
    if not sandboxes or sandboxes[-1].state != "running":
        if phase in TERMINAL_PHASES:
            return decision  # finished: nothing runs again
        decision.steps += [Step("kill_pod", message="the pod sandbox changed, it will be killed and re-created")
                           ] if sandboxes else []
        decision.sandbox_attempt = attempt_of(sandboxes[-1]) + 1 if sandboxes else 0
        decision.steps.append(Step("run_sandbox", attempt=decision.sandbox_attempt))
        return decision
    current = [c for c in view.containers
               if attempt_of(c, LABEL_SANDBOX_ATTEMPT) == decision.sandbox_attempt]
    _remove_superseded(decision, view.containers)
    if not _init_done(decision, view, spec, current):
        return decision
    _keep_apps_running(decision, view, spec, current)
    return decision


def _remove_superseded(decision: Decision, containers: Sequence[ContainerInfo]) -> None:
    """Remove old sandboxes and all but the newest two attempts of each container.

    The newest finished attempt stays for `lastState` and `kubectl logs --previous`.
    """
    keep: set[str] = set()
    for role in ("init", "app"):
        for infos in by_name(containers, role).values():
            keep.update(info.id for info in infos[-2:])
    for info in containers:
        if info.labels.get(LABEL_ROLE) == "sandbox":
            if attempt_of(info) != decision.sandbox_attempt:
                decision.steps.append(Step("remove", container_id=info.id))
        elif info.id not in keep and info.state != "running":
            decision.steps.append(Step("remove", container_id=info.id))


def _start_new(decision: Decision, view: PodView, name: str, role: str) -> None:
    """Start a new container of this name, numbered after every attempt of it in any sandbox."""
    attempts = [attempt_of(c) for c in by_name(view.containers, role).get(name, [])]
    decision.steps.append(Step("start", name, role, max(attempts) + 1 if attempts else 0))


def _newest_of_each(spec_containers: Any, current: Sequence[ContainerInfo],
                    role: str) -> Iterator[tuple[Mapping[str, Any], str, ContainerInfo | None]]:
    """(spec, name, its newest container in the current sandbox or None) for each one of a spec list."""
    grouped = by_name(current, role)
    for container in spec_containers or []:
        name = container.get("name", "")
        yield container, name, grouped.get(name, [None])[-1]


def _init_done(decision: Decision, view: PodView, spec: Mapping[str, Any], current: Sequence[ContainerInfo]) -> bool:
    """Run init containers in order; True once every one of them exited 0."""
    policy = spec.get("restartPolicy", "Always")
    for _, name, latest in _newest_of_each(spec.get("initContainers"), current, "init"):
        if latest is None:
            _start_new(decision, view, name, "init")
            return False
        if latest.state in ("running", "created", "restarting") and not never_started(latest):
            if latest.state == "created":
                decision.steps.append(Step("start", name, "init", attempt_of(latest), container_id=latest.id))
            return False
        if latest.exit_code == 0 and not never_started(latest):
            continue
        if policy == "Never":
            return False  # the pod has failed; status says so
        _restart_after_backoff(decision, view, name, "init", latest)
        return False
    return True


def _restart_after_backoff(decision: Decision, view: PodView, name: str, role: str, exited: ContainerInfo) -> None:
    remaining = view.backoff_remaining(name, exited)
    if remaining > 0:
        message = f"back-off {_seconds(remaining)} restarting failed container={name} pod={pod_ref(view.pod)}"
        decision.waiting[name] = ("CrashLoopBackOff", message)
        decision.wait(remaining)
        return
    _start_new(decision, view, name, role)


def _seconds(remaining: float) -> str:
    whole = max(1, round(remaining))
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


def _keep_apps_running(decision: Decision, view: PodView, spec: Mapping[str, Any],
                       current: Sequence[ContainerInfo]) -> None:
    policy = spec.get("restartPolicy", "Always")
    for container, name, latest in _newest_of_each(spec.get("containers"), current, "app"):
        if latest is None:
            _start_new(decision, view, name, "app")
            continue
        if latest.state in ("running", "restarting"):
            if name in view.unhealthy:
                decision.steps.append(Step("kill", name, "app", container_id=latest.id,
                                           message=f"Container {name} failed liveness probe, will be restarted"))
            elif latest.labels.get(LABEL_SPEC_HASH) not in (None, spec_hash(container)):
                decision.steps.append(Step("kill", name, "app", container_id=latest.id,
                                           message=f"Container {name} definition changed, will be restarted"))
            continue
        if latest.state == "created" and not never_started(latest):
            decision.steps.append(Step("start", name, "app", attempt_of(latest), container_id=latest.id))
            continue
        if should_restart(policy, 128 if never_started(latest) else latest.exit_code):
            _restart_after_backoff(decision, view, name, "app", latest)
