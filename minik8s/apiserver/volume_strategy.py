"""The write rules of PersistentVolumes and claims that need the server's clock.

As Kubernetes' persistentvolume and persistentvolumeclaim registry strategies: a new volume or claim
starts `Pending` whatever status it was sent with, and a volume records when its phase last changed
(`status.lastPhaseTransitionTime`, GA in v1.31) on create and on every status write that moves the
phase without setting the time itself — so `kubectl describe` and the binder see how long a volume
has been Released or Available.
"""

from __future__ import annotations

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import PENDING

VOLUME_KINDS = frozenset({"PersistentVolume", "PersistentVolumeClaim"})


def initial_status(kind: str, now: str) -> JsonObject:
    """The status a new volume (with its phase's time) or claim is stored with."""
    if kind == "PersistentVolume":
        return {"phase": PENDING, "lastPhaseTransitionTime": now}
    return {"phase": PENDING}


def stamp_phase_transition(new: JsonObject, old: JsonObject, now: str) -> None:
    """A volume's status write that changes the phase gets the transition time, unless it brings its own."""
    status, old_status = new.get("status"), old.get("status")
    if not isinstance(status, dict):
        return
    before = old_status if isinstance(old_status, dict) else {}
    if status.get("phase") == before.get("phase"):
        return
    given = status.get("lastPhaseTransitionTime")
    if given is None or given == before.get("lastPhaseTransitionTime"):
        status["lastPhaseTransitionTime"] = now
