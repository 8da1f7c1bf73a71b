"""The pod's phase as the kubelet computes it (getPhase): Pending, Running, Succeeded or Failed.

The phase is what controllers act on (a ReplicaSet replaces a Failed pod, a Job counts
Succeeded ones) and what `kubectl get pods` summarises, so it follows Kubernetes' rules
exactly: the restart policy, regular init containers that must exit 0 in order, sidecars
(init containers with `restartPolicy: Always`) that must have started, and a pod being
deleted whose containers have all stopped. It reads only container statuses already built,
so it is a pure function of them and the spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL_PHASES = (SUCCEEDED, FAILED)


def pod_phase(
    spec: Mapping[str, Any], *, init_statuses: Sequence[Mapping[str, Any]], statuses: Sequence[Mapping[str, Any]],
    terminal: bool,
) -> str:
    """Kubernetes' getPhase: Pending, Running, Succeeded or Failed."""
    restart_policy = spec.get("restartPolicy") or "Always"
    by_name = {str(status["name"]): status for status in [*init_statuses, *statuses]}
    init = _count_init(spec.get("initContainers") or [], by_name)
    counts = _count_containers(spec.get("containers") or [], by_name, init)
    initialized = any(status.get("containerID") for status in statuses)
    if init["failed"] > 0 and restart_policy == "Never":
        return FAILED
    if init["pending"] > 0 or (init["pending_sidecars"] > 0 and not initialized) or counts["waiting"] > 0:
        return PENDING
    if counts["running"] > 0 and counts["unknown"] == 0:
        return RUNNING
    if counts["running"] == 0 and counts["stopped"] > 0 and counts["unknown"] == 0:
        all_succeeded = counts["stopped"] == counts["succeeded"]
        if terminal:
            return SUCCEEDED if all_succeeded else FAILED
        if restart_policy == "Always":
            return RUNNING
        if all_succeeded:
            return SUCCEEDED
        return FAILED if restart_policy == "Never" else RUNNING
    return PENDING


def _count_init(init_containers: Sequence[Mapping[str, Any]], by_name: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Regular init containers still pending or failed; sidecars (restartPolicy Always) not yet started."""
    counts = {"pending": 0, "failed": 0, "pending_sidecars": 0, "running": 0, "waiting": 0, "unknown": 0}
    for container in init_containers:
        status = by_name.get(str(container.get("name")))
        state = (status or {}).get("state") or {}
        last = ((status or {}).get("lastState") or {}).get("terminated")
        if container.get("restartPolicy") == "Always":
            if "running" in state:
                counts["running"] += 1
                counts["pending_sidecars"] += 0 if (status or {}).get("started") else 1
            elif "terminated" in state or ("waiting" in state and last is not None):
                continue
            else:
                counts["pending_sidecars"] += 1
                counts["waiting" if "waiting" in state else "unknown"] += 1
        elif "terminated" in state:
            counts["failed"] += 1 if state["terminated"].get("exitCode") != 0 else 0
        elif "waiting" in state and last is not None:
            counts["failed"] += 1 if last.get("exitCode") != 0 else 0
        else:
            counts["pending"] += 1
    return counts


def _count_containers(
    containers: Sequence[Mapping[str, Any]], by_name: Mapping[str, Mapping[str, Any]], init: Mapping[str, int]
) -> dict[str, int]:
    counts = {"running": init["running"], "waiting": init["waiting"], "unknown": init["unknown"], "stopped": 0,
              "succeeded": 0}
    for container in containers:
        status = by_name.get(str(container.get("name")))
        if status is None:
            counts["unknown"] += 1
            continue
        state = status.get("state") or {}
        if "running" in state:
            counts["running"] += 1
        elif "terminated" in state:
            counts["stopped"] += 1
            counts["succeeded"] += 1 if state["terminated"].get("exitCode") == 0 else 0
        elif "waiting" in state and (status.get("lastState") or {}).get("terminated") is not None:
            counts["stopped"] += 1
        elif "waiting" in state:
            counts["waiting"] += 1
        else:
            counts["unknown"] += 1
    return counts
