"""One sync of a claim or a volume, decided without side effects: Kubernetes' PV controller.

`sync_claim` and `sync_volume` follow pkg/controller/volume/persistentvolume/pv_controller.go
(syncUnboundClaim, syncBoundClaim, syncVolume, reclaimVolume) case by case and return the steps to
write (steps.py), with the controller's Events:

- an unbound claim binds to the volume pre-bound to it, else to the smallest Available volume of its
  class with room and every access mode it asks for (its label selector permitting); a claim whose
  class waits for the first consumer is left to the scheduler (`WaitForFirstConsumer` /
  `WaitForPodScheduled`) until it picks a node; otherwise a claim with a class is handed to the
  class's provisioner (the storage-provisioner annotations, `ExternalProvisioning`), and a claim
  without one waits (`FailedBinding`);
- a bound claim whose volume is gone or taken is `Lost`;
- a volume without claim is `Available`; one whose claim is gone is `Released`, then reclaimed:
  `Retain` keeps it, `Delete` waits for the provisioner that made it (the node agent of a
  local-path volume removes its directory, then the volume), and a volume no provisioner made has
  no deleter (`Failed`, as Kubernetes says of a `local` volume).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from minik8s.api.meta import JsonObject, annotations_of, key_of, name_of, spec_of, uid_of
from minik8s.api.persistent_volumes import (
    ANN_BIND_COMPLETED,
    AVAILABLE,
    BOUND,
    DELETE,
    FAILED,
    LOST,
    PENDING,
    RELEASED,
    RETAIN,
    best_match_for_claim,
    claim_class,
    claim_ref,
    is_delay_binding,
    is_volume_bound_to_claim,
    phase_of,
    provisioned_by,
    selected_node,
    unsatisfied_reason,
    volume_mode_mismatch,
)
from minik8s.controllers.persistentvolume.steps import (
    CLAIM,
    VOLUME,
    ClaimPhase,
    EnqueueClaim,
    Event,
    SetProvisioner,
    Step,
    UnbindVolume,
    VolumePhase,
    bind_steps,
)

NORMAL, WARNING = "Normal", "Warning"
NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
EXTERNAL_PROVISIONING = ("Waiting for a volume to be created either by the external provisioner '{}' or manually by "
                         "the system administrator. If volume creation is delayed, please verify that the provisioner "
                         "is running and correctly registered.")


@dataclass(frozen=True)
class Plan:
    """The steps of one sync; those aimed at a volume edit `volume` (the one being bound, or synced)."""

    steps: list[Step]
    volume: JsonObject | None = None


@dataclass(frozen=True)
class ClaimView:
    """What one claim's sync reads: the claim, every volume, the classes, and unscheduled pods using the claim."""

    claim: JsonObject
    volumes: Sequence[JsonObject]
    classes: Mapping[str, JsonObject]
    unscheduled_pods: Sequence[str] = ()


def sync_claim(view: ClaimView) -> Plan:
    if ANN_BIND_COMPLETED not in annotations_of(view.claim):
        return _sync_unbound_claim(view)
    return _sync_bound_claim(view)


def _volume_named(volumes: Sequence[JsonObject], name: str) -> JsonObject | None:
    return next((volume for volume in volumes if name_of(volume) == name), None)


def _bind(volume: JsonObject, claim: JsonObject) -> Plan:
    return Plan(bind_steps(volume, claim), volume)


def _sync_unbound_claim(view: ClaimView) -> Plan:
    claim = view.claim
    wanted = str(spec_of(claim).get("volumeName") or "")
    if not wanted:
        delay = is_delay_binding(claim, view.classes)
        match = best_match_for_claim(claim, view.volumes, delay_binding=delay)
        if match is not None:
            return _bind(dict(match), claim)
        if delay and selected_node(claim) is None:
            return Plan([_waiting_for_consumer(view), ClaimPhase(PENDING)])
        if claim_class(claim):
            return Plan(_provision(view))
        return Plan([Event(CLAIM, NORMAL, "FailedBinding", NO_CLASS_MESSAGE), ClaimPhase(PENDING)])
    volume = _volume_named(view.volumes, wanted)
    if volume is None:
        return Plan([ClaimPhase(PENDING)])  # the volume it asks for does not exist (yet)
    if claim_ref(volume) is None:
        problem = unsatisfied_reason(volume, claim)
        if problem is not None:
            return Plan([Event(CLAIM, WARNING, "VolumeMismatch",
                               f'Cannot bind to requested volume "{wanted}": {problem}'), ClaimPhase(PENDING)])
        return _bind(volume, claim)
    if is_volume_bound_to_claim(volume, claim):
        return _bind(volume, claim)
    return Plan([ClaimPhase(PENDING)])  # the volume it asks for is someone else's: wait for it to come free


def _waiting_for_consumer(view: ClaimView) -> Event:
    """emitEventForUnboundDelayBindingClaim."""
    pods = sorted(view.unscheduled_pods)
    if not pods:
        return Event(CLAIM, NORMAL, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
    noun = "pods" if len(pods) > 1 else "pod"
    return Event(CLAIM, NORMAL, "WaitForPodScheduled", f"waiting for {noun} {','.join(pods)} to be scheduled")


def _provision(view: ClaimView) -> list[Step]:
    """provisionClaim for an external provisioner: annotate the claim and say who is expected to act."""
    name = claim_class(view.claim)
    storage_class = view.classes.get(name)
    if storage_class is None:
        return [Event(CLAIM, WARNING, "ProvisioningFailed", f'storageclass.storage.k8s.io "{name}" not found')]
    provisioner = str(storage_class.get("provisioner") or "")
    return [SetProvisioner(provisioner), Event(CLAIM, NORMAL, "ExternalProvisioning",
                                               EXTERNAL_PROVISIONING.format(provisioner))]


def _sync_bound_claim(view: ClaimView) -> Plan:
    claim = view.claim
    wanted = str(spec_of(claim).get("volumeName") or "")
    if not wanted:
        return _lost("ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
                     claim)
    volume = _volume_named(view.volumes, wanted)
    if volume is None:
        return _lost("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!", claim)
    ref = claim_ref(volume)
    if ref is None or str(ref.get("uid") or "") == uid_of(claim):
        return _bind(volume, claim)  # bound again, or all is well (the writes are no-ops then)
    return _lost("ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly", claim)


def _lost(reason: str, message: str, claim: JsonObject) -> Plan:
    """updateClaimStatusWithEvent: the event only when the claim becomes Lost."""
    if phase_of(claim) == LOST:
        return Plan([ClaimPhase(LOST)])
    return Plan([ClaimPhase(LOST), Event(CLAIM, WARNING, reason, message)])


# -- volumes -----------------------------------------------------------------------------------------


def sync_volume(volume: JsonObject, claim: JsonObject | None) -> Plan:
    """syncVolume; `claim` is the one its claimRef names (None when gone, or replaced by a namesake)."""
    return Plan(_volume_steps(volume, claim), volume)


def _volume_steps(volume: JsonObject, claim: JsonObject | None) -> list[Step]:
    ref = claim_ref(volume)
    if ref is None or not ref.get("uid"):
        return [VolumePhase(AVAILABLE)]  # unused, or reserved for a claim whose sync will bind it
    if claim is not None and uid_of(claim) != str(ref.get("uid")):
        claim = None
    if claim is None:
        return _release(volume)
    claim_volume = str(spec_of(claim).get("volumeName") or "")
    if not claim_volume:
        if volume_mode_mismatch(claim, volume):
            return [Event(VOLUME, WARNING, "VolumeMismatch", "Cannot bind PersistentVolume to requested "
                          f'PersistentVolumeClaim "{name_of(claim)}" due to incompatible volumeMode.'),
                    Event(CLAIM, WARNING, "VolumeMismatch", f'Cannot bind PersistentVolume "{name_of(volume)}" to '
                          "requested PersistentVolumeClaim due to incompatible volumeMode.")]
        return [EnqueueClaim(key_of(claim))]  # the claim's sync finishes the binding
    if claim_volume == name_of(volume):
        return [VolumePhase(BOUND)]
    if provisioned_by(volume) and spec_of(volume).get("persistentVolumeReclaimPolicy") == DELETE:
        return _release(volume)  # provisioned for a claim that got another volume: not needed
    return [UnbindVolume()]


def _release(volume: JsonObject) -> list[Step]:
    steps: list[Step] = []
    if phase_of(volume) not in (RELEASED, FAILED):
        steps.append(VolumePhase(RELEASED))
    return steps + _reclaim(volume)


def _reclaim(volume: JsonObject) -> list[Step]:
    policy = spec_of(volume).get("persistentVolumeReclaimPolicy")
    if policy == RETAIN:
        return []
    if policy == DELETE:
        if provisioned_by(volume):
            return []  # an external deleter's (the local-path provisioner's node agent): nothing to do here
        message = f'error getting deleter volume plugin for volume "{name_of(volume)}": no deletable volume plugin matched'
        return _failed("VolumeFailedDelete", message, volume)
    return _failed("VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy", volume)


def _failed(reason: str, message: str, volume: JsonObject) -> list[Step]:
    """updateVolumePhaseWithEvent: the event only when the volume becomes Failed."""
    if phase_of(volume) == FAILED:
        return []
    return [VolumePhase(FAILED, message), Event(VOLUME, WARNING, reason, message)]
