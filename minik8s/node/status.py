"""The pod status the agent reports, computed from what it observed, as the kubelet computes it.

Users read `kubectl get pods`, controllers read `phase` and the `Ready` condition, Service
endpoints follow readiness: all of them expect Kubernetes' exact rules. `pod_status` is a
pure function of the pod (its spec and the status last written) and an observation the
agent assembled from the runtime, the back-off and the probes, so every rule — the phase
(`pod_phase`), the conditions and their lastTransitionTime (`pod_conditions`), the container
states here — is unit-tested without Docker.

`status_changed` lets the agent skip writes that would change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, format_time, parse_time, spec_of, status_of
from minik8s.node.pod_conditions import pod_conditions
from minik8s.node.pod_phase import FAILED, TERMINAL_PHASES, pod_phase
from minik8s.node.runtime import ContainerInfo

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
UNKNOWN_EXIT_CODE = 137
_RUNNING_STATES = ("running", "paused")
_EXITED_STATES = ("exited", "dead", "removing")


@dataclass
class ContainerObservation:
    """What the agent knows about one container name of the pod."""

    name: str
    image: str  # the image in the pod spec
    info: ContainerInfo | None = None  # the newest container of this name
    previous: ContainerInfo | None = None  # the one before it, for lastState
    restart_count: int = 0
    waiting_reason: str | None = None  # CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError …
    waiting_message: str | None = None
    ready: bool = False  # the readiness probe's verdict (True when there is no readiness probe)
    started: bool | None = None  # the startup probe's verdict; None: no startup probe


@dataclass
class PodObservation:
    sandbox: ContainerInfo | None = None
    pod_ip: str | None = None
    host_ip: str | None = None
    init: list[ContainerObservation] = field(default_factory=list)
    containers: list[ContainerObservation] = field(default_factory=list)
    terminating: bool = False  # the pod is being deleted


def pod_status(pod: Mapping[str, Any], observation: PodObservation, *, now: datetime) -> JsonObject:
    """The full status to write for the pod."""
    spec = spec_of(pod)
    previous = status_of(pod)
    default_reason = POD_INITIALIZING if spec.get("initContainers") else CONTAINER_CREATING
    init_statuses = container_statuses(
        spec.get("initContainers") or [], observation.init, previous.get("initContainerStatuses") or [],
        default_reason=default_reason, init=True,
    )
    statuses = container_statuses(
        spec.get("containers") or [], observation.containers, previous.get("containerStatuses") or [],
        default_reason=default_reason, init=False,
    )
    still_running = any("running" in status["state"] for status in [*init_statuses, *statuses])
    terminal = observation.terminating and not still_running
    phase = pod_phase(spec, init_statuses=init_statuses, statuses=statuses, terminal=terminal)
    if previous.get("phase") in TERMINAL_PHASES:
        phase = previous["phase"]  # a pod never leaves a terminal phase
    elif terminal and phase not in TERMINAL_PHASES:
        phase = FAILED
    status: JsonObject = {"phase": phase}
    if phase == previous.get("phase"):
        status.update({key: previous[key] for key in ("reason", "message") if previous.get(key)})
    status["conditions"] = pod_conditions(
        pod, init_statuses=init_statuses, statuses=statuses, phase=phase, now=now
    )
    status.update(_addresses(observation, previous))
    status["startTime"] = previous.get("startTime") or format_time(now)
    for key in ("qosClass", "nominatedNodeName"):
        if previous.get(key):
            status[key] = previous[key]
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    return status


def _addresses(observation: PodObservation, previous: Mapping[str, Any]) -> JsonObject:
    """podIP/podIPs and hostIP/hostIPs; an address once reported is kept while none is observed."""
    addresses: JsonObject = {}
    sandbox_ip = observation.sandbox.ip if observation.sandbox is not None else None
    pod_ip = observation.pod_ip or sandbox_ip or previous.get("podIP")
    host_ip = observation.host_ip or previous.get("hostIP")
    if host_ip:
        addresses.update(hostIP=host_ip, hostIPs=[{"ip": host_ip}])
    if pod_ip:
        addresses.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    return addresses


def container_statuses(
    containers: Sequence[Mapping[str, Any]],
    observations: Sequence[ContainerObservation],
    previous: Sequence[Mapping[str, Any]],
    *,
    default_reason: str,
    init: bool,
) -> list[JsonObject]:
    """One status per container of the spec, in spec order."""
    by_name = {observation.name: observation for observation in observations}
    previous_by_name = {str(status.get("name")): status for status in previous}
    statuses: list[JsonObject] = []
    for container in containers:
        name = str(container.get("name"))
        observation = by_name.get(name)
        if observation is None:
            statuses.append(_unobserved_status(container, previous_by_name.get(name), default_reason))
            continue
        sidecar = init and container.get("restartPolicy") == "Always"
        statuses.append(container_status(observation, default_reason=default_reason, run_to_completion=init and not sidecar))
    return statuses


def _unobserved_status(container: Mapping[str, Any], previous: Mapping[str, Any] | None, default_reason: str) -> JsonObject:
    return {
        "name": str(container.get("name")),
        "state": {"waiting": {"reason": default_reason}},
        "lastState": dict((previous or {}).get("lastState") or {}),
        "ready": False,
        "restartCount": int((previous or {}).get("restartCount") or 0),
        "image": str(container.get("image") or ""),
        "imageID": "",
        "started": False,
    }


def container_status(observation: ContainerObservation, *, default_reason: str, run_to_completion: bool) -> JsonObject:
    """The API status of one container. `run_to_completion`: a regular init container (ready = exited 0)."""
    info = observation.info
    last = observation.previous
    state: JsonObject
    if observation.waiting_reason:
        state = {"waiting": _waiting(observation.waiting_reason, observation.waiting_message)}
        if info is not None and info.state in _EXITED_STATES:
            last = info
    elif info is None:
        state = {"waiting": {"reason": default_reason}}
    elif info.state in _RUNNING_STATES:
        state = {"running": _dropping_none({"startedAt": format_runtime_time(info.started_at)})}
    elif info.state in _EXITED_STATES:
        state = {"terminated": terminated_state(info)}
    else:
        state = {"waiting": {}}  # created but not started: the kubelet reports an empty waiting state
    running = "running" in state
    if run_to_completion:
        ready = state.get("terminated", {}).get("exitCode") == 0
    else:
        ready = running and observation.ready
    status: JsonObject = {
        "name": observation.name,
        "state": state,
        "lastState": {"terminated": terminated_state(last)} if last is not None and last.state in _EXITED_STATES else {},
        "ready": ready,
        "restartCount": observation.restart_count,
        "image": observation.image,
        "imageID": info.image_id if info is not None else "",
        "started": running and (observation.started if observation.started is not None else True),
    }
    if info is not None:
        status["containerID"] = f"docker://{info.id}"
    return status


def _waiting(reason: str, message: str | None) -> JsonObject:
    return {"reason": reason, "message": message} if message else {"reason": reason}


def terminated_state(info: ContainerInfo) -> JsonObject:
    """terminated{exitCode, reason (Completed/Error/OOMKilled), message, startedAt, finishedAt, containerID}."""
    exit_code = info.exit_code if info.exit_code is not None else UNKNOWN_EXIT_CODE
    reason = "OOMKilled" if info.oom_killed else "Completed" if exit_code == 0 else "Error"
    return _dropping_none(
        {
            "exitCode": exit_code,
            "reason": reason,
            "message": info.error or None,
            "startedAt": format_runtime_time(info.started_at),
            "finishedAt": format_runtime_time(info.finished_at),
            "containerID": f"docker://{info.id}",
        }
    )


def status_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether writing `new` would change anything, ignoring the order of conditions and statuses."""
    return _canonical(old) != _canonical(new)


def _canonical(status: Mapping[str, Any]) -> JsonObject:
    canonical = dict(status)
    if isinstance(canonical.get("conditions"), list):
        canonical["conditions"] = sorted(canonical["conditions"], key=lambda item: str(item.get("type")))
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        if isinstance(canonical.get(key), list):
            canonical[key] = sorted(canonical[key], key=lambda item: str(item.get("name")))
    return canonical


def format_runtime_time(text: str | None) -> str | None:
    """A runtime's timestamp (nanoseconds, any offset) in Kubernetes' form; None when never set."""
    if not text or text.startswith("0001-01-01"):
        return None
    moment = parse_time(text)
    return format_time(moment) if moment is not None else text


def _dropping_none(values: Mapping[str, Any]) -> JsonObject:
    return {key: value for key, value in values.items() if value is not None}
