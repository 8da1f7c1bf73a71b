"""What every workload controller asks of a pod: its phase, node, readiness and availability.

Kubernetes answers these in podutil (IsPodReady, IsPodAvailable) and controller_utils
(FilterActivePods); `kubectl get rs` READY/AVAILABLE, a DaemonSet's rolling update, a
Deployment's rollout and the Endpoints of a Service all rest on them, so they must agree
exactly — hence one copy, over plain pod JSON, with `now` passed in so tests can pin time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from minik8s.api.meta import condition_of, is_condition_true, is_deleting, parse_time, spec_of, status_of

TERMINAL_PHASES = ("Succeeded", "Failed")


def phase_of(pod: Mapping[str, Any]) -> str:
    return str(status_of(pod).get("phase") or "")


def node_name_of(pod: Mapping[str, Any]) -> str:
    return str(spec_of(pod).get("nodeName") or "")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    """Succeeded or Failed: the pod will not run again."""
    return phase_of(pod) in TERMINAL_PHASES


def is_active(pod: Mapping[str, Any]) -> bool:
    """FilterActivePods: not Succeeded, not Failed, not being deleted."""
    return not is_terminal(pod) and not is_deleting(pod)


def is_ready(pod: Mapping[str, Any]) -> bool:
    """IsPodReady: the Ready condition is True."""
    return is_condition_true(pod, "Ready")


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When a ready pod last became ready (the Ready condition's lastTransitionTime)."""
    condition = condition_of(pod, "Ready")
    if condition is None or condition.get("status") != "True":
        return None
    return parse_time(condition.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], *, min_ready_seconds: int, now: datetime) -> bool:
    """IsPodAvailable: ready, and for more than minReadySeconds (at once when that is 0)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def available_at(pod: Mapping[str, Any], *, min_ready_seconds: int) -> datetime | None:
    """When a ready but not yet available pod turns available; None if not ready or no clock."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    return since + timedelta(seconds=min_ready_seconds)
