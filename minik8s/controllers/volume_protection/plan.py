"""When a claim or a volume may go, decided without side effects: the protection finalizers.

Kubernetes' pvc-protection and pv-protection controllers (pkg/controller/volume/pvcprotection,
pvprotection). A claim being deleted keeps `kubernetes.io/pvc-protection` while a scheduled pod of its
namespace names it in a volume (the kubelet refuses to start a new pod on a claim being deleted, so an
unscheduled pod does not count); a volume being deleted keeps `kubernetes.io/pv-protection` while it is
Bound. An object that is not being deleted and lacks its finalizer gets it (one created before the
admission plugin was on). `finalizers_after` is the new finalizer list, or None when nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minik8s.api.meta import is_deleting, metadata_of, name_of, namespace_of, spec_of
from minik8s.api.persistent_volumes import BOUND, claim_names, phase_of


def pod_uses_claim(pod: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """podUsesPVC: a scheduled pod of the claim's namespace with a volume naming it."""
    return (bool(spec_of(pod).get("nodeName")) and namespace_of(pod) == namespace_of(claim)
            and name_of(claim) in claim_names(pod))


def claim_in_use(claim: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> bool:
    return any(pod_uses_claim(pod, claim) for pod in pods)


def volume_in_use(volume: Mapping[str, Any]) -> bool:
    """The pv-protection controller's isBeingUsed: the volume is Bound."""
    return phase_of(volume) == BOUND


def finalizers_after(obj: Mapping[str, Any], finalizer: str, *, in_use: bool) -> list[str] | None:
    """Remove the finalizer from an object being deleted that nothing uses; add it to a live one lacking it."""
    current = metadata_of(obj).get("finalizers")
    finalizers = [f for f in current if isinstance(f, str)] if isinstance(current, list) else []
    if is_deleting(obj):
        if finalizer in finalizers and not in_use:
            return [f for f in finalizers if f != finalizer]
        return None
    if finalizer not in finalizers:
        return [*finalizers, finalizer]
    return None
