"""Taints and tolerations, as both the DaemonSet and the node lifecycle controllers read them.

The node lifecycle controller puts the well-known `node.kubernetes.io/...` taints on nodes it
finds silent, not ready or cordoned, and evicts the pods that do not tolerate them; the
DaemonSet controller, placing pods itself, must judge the same taints against the same
tolerations (plus those every daemon pod gets). Kubernetes' v1.Toleration.ToleratesTaint is
the one rule both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """v1.Toleration.ToleratesTaint: effect, key and (for Equal) value must match; blanks are wildcards."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False
