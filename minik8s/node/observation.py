"""What the agent saw of one pod, for `pod_status`: its sandbox and each container's history and verdicts.

The agent lists the pod's containers from the runtime, knows which are waiting out a back-off
or failed to start (and why), and asks the probes whether a container is ready or started.
This module folds those into the `PodObservation` that `status.pod_status` reads, so the
status rules stay a pure function and the agent's sync stays about acting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from minik8s.api.meta import spec_of, uid_of
from minik8s.node.pod_sync import LABEL_SANDBOX_ATTEMPT, attempt_of, by_name
from minik8s.node.runtime import LABEL_ROLE, ContainerInfo
from minik8s.node.sandbox_config import pod_ip
from minik8s.node.status import ContainerObservation, PodObservation

Waiting = Mapping[str, tuple[str, str]]  # container name -> (reason, message) of its waiting state


class ProbeVerdicts(Protocol):
    """What the probes say of a pod's newest container of a name (`ProbeSet` answers it)."""

    def ready(self, pod_uid: str, name: str, latest: ContainerInfo | None) -> bool: ...

    def started(self, pod_uid: str, name: str, latest: ContainerInfo | None) -> bool | None: ...


def running_sandbox(containers: Sequence[ContainerInfo], attempt: int) -> ContainerInfo | None:
    """The running sandbox of this attempt, if there is one."""
    for info in containers:
        if (info.labels.get(LABEL_ROLE) == "sandbox" and info.state == "running"
                and attempt_of(info, LABEL_SANDBOX_ATTEMPT) == attempt):
            return info
    return None


def newest_sandbox(containers: Sequence[ContainerInfo]) -> ContainerInfo | None:
    sandboxes = sorted((c for c in containers if c.labels.get(LABEL_ROLE) == "sandbox"), key=attempt_of)
    return sandboxes[-1] if sandboxes else None


def observe_pod(pod: Mapping[str, Any], containers: Sequence[ContainerInfo], *, waiting: Waiting,
                sandbox_attempt: int, host_ip: str, probes: ProbeVerdicts) -> PodObservation:
    """The observation of a pod that is not being deleted."""
    sandbox = running_sandbox(containers, sandbox_attempt) or newest_sandbox(containers)
    return PodObservation(
        sandbox=sandbox, pod_ip=pod_ip(pod, sandbox.ip, host_ip) if sandbox is not None else None,
        host_ip=host_ip,
        init=observe_containers(pod, containers, "init", waiting=waiting, probes=probes),
        containers=observe_containers(pod, containers, "app", waiting=waiting, probes=probes),
        terminating=False,
    )


def observe_containers(pod: Mapping[str, Any], containers: Sequence[ContainerInfo], role: str, *,
                       waiting: Waiting, probes: ProbeVerdicts) -> list[ContainerObservation]:
    """One observation per container of the spec with this role ("init" or "app"), in spec order."""
    uid = uid_of(pod)
    grouped = by_name(containers, role)
    spec = spec_of(pod)
    observed = []
    for container in spec.get("initContainers" if role == "init" else "containers") or []:
        name = container.get("name", "")
        history = grouped.get(name, [])
        latest = history[-1] if history else None
        reason, message = waiting.get(name, (None, None))
        if latest is None and reason is None:
            initializing = role == "app" and spec.get("initContainers")
            reason = "PodInitializing" if initializing else "ContainerCreating"
        observed.append(ContainerObservation(
            name=name, image=str(container.get("image", "")), info=latest,
            previous=history[-2] if len(history) > 1 else None,
            restart_count=attempt_of(latest) if latest else 0,
            waiting_reason=reason, waiting_message=message,
            ready=probes.ready(uid, name, latest),
            started=probes.started(uid, name, latest),
        ))
    return observed
