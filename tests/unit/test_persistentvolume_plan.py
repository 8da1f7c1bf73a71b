"""The PersistentVolume binder's decisions, as tables: which volume a claim gets, what each sync writes.

Each case builds the claim and volumes a sync would see, runs `sync_claim` / `sync_volume`, and checks
the steps; the steps are then applied to show the objects the controller would write.
"""

from __future__ import annotations

from typing import Any

import pytest

from minik8s.api.meta import JsonObject
from minik8s.api.persistent_volumes import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_PROVISIONED_BY,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    LOCAL_PATH_PROVISIONER,
)
from minik8s.controllers.persistentvolume.plan import ClaimView, Plan, sync_claim, sync_volume
from minik8s.controllers.persistentvolume.steps import (
    BindClaim,
    BindVolume,
    ClaimPhase,
    EnqueueClaim,
    Event,
    SetProvisioner,
    UnbindVolume,
    VolumePhase,
)
from tests.support.storage_builders import pv, pvc, storage_class

CLASSES = {"standard": storage_class(), "fast": storage_class("fast", binding_mode="Immediate")}


def claim(**options: Any) -> JsonObject:
    return pvc("data", uid="c1", **options)


def view(the_claim: JsonObject, *volumes: JsonObject, pods: tuple[str, ...] = ()) -> ClaimView:
    return ClaimView(the_claim, list(volumes), CLASSES, pods)


def bound_to(plan: Plan) -> str | None:
    """The volume a plan binds the claim to (None when it binds nothing)."""
    if not any(isinstance(step, BindVolume) for step in plan.steps):
        return None
    assert plan.volume is not None
    return str(plan.volume["metadata"]["name"])


def kinds(plan: Plan) -> list[str]:
    return [type(step).__name__ for step in plan.steps]


# -- which volume an unbound claim gets (findBestMatchForClaim) -----------------------------------------

@pytest.mark.parametrize(("volumes", "expected"), [
    ([pv("small", capacity="500Mi", storage_class="fast", phase="Available"),
      pv("big", capacity="5Gi", storage_class="fast", phase="Available"),
      pv("fit", capacity="1Gi", storage_class="fast", phase="Available")], "fit"),
    ([pv("other-class", storage_class="slow", phase="Available")], None),
    ([pv("pending", storage_class="fast", phase="Pending")], None),  # only Available volumes are matched
    ([pv("ro", storage_class="fast", phase="Available", modes=("ReadOnlyMany",))], None),
    ([pv("both", storage_class="fast", phase="Available", modes=("ReadWriteOnce", "ReadOnlyMany")),
      pv("one", capacity="2Gi", storage_class="fast", phase="Available")], "one"),  # fewest modes first
    ([pv("taken", storage_class="fast", phase="Available", claim=pvc("other", uid="o1"))], None),
    ([pv("gone", storage_class="fast", phase="Available", deleting=True)], None),
    ([pv("block", storage_class="fast", phase="Available", volumeMode="Block")], None),
])
def test_an_immediate_claim_binds_to_the_smallest_available_volume_that_fits(
        volumes: list[JsonObject], expected: str | None) -> None:
    assert bound_to(sync_claim(view(claim(storage_class="fast"), *volumes))) == expected


def test_a_volume_prebound_to_the_claim_wins_over_a_better_fit() -> None:
    the_claim = claim(storage_class="fast")
    prebound = pv("mine", capacity="10Gi", storage_class="fast", phase="Available", claim=the_claim)
    assert bound_to(sync_claim(view(the_claim, pv("fit", storage_class="fast", phase="Available"), prebound))) == "mine"


def test_a_claim_selector_limits_the_volumes_it_may_get() -> None:
    the_claim = claim(storage_class="fast", selector={"matchLabels": {"tier": "gold"}})
    volumes = [pv("plain", storage_class="fast", phase="Available"),
               pv("gold", storage_class="fast", phase="Available", labels={"tier": "gold"})]
    assert bound_to(sync_claim(view(the_claim, *volumes))) == "gold"


def test_binding_writes_both_objects_in_kubernetes_order_and_sets_their_phases() -> None:
    the_claim = claim(storage_class="fast", phase="Pending")
    volume = pv("fit", storage_class="fast", phase="Available")
    plan = sync_claim(view(the_claim, volume))
    assert kinds(plan) == ["BindVolume", "VolumePhase", "BindClaim", "ClaimPhase"]
    bind_volume, volume_phase, bind_claim, claim_phase = plan.steps
    assert isinstance(bind_volume, BindVolume) and isinstance(bind_claim, BindClaim)
    assert isinstance(volume_phase, VolumePhase) and isinstance(claim_phase, ClaimPhase)
    bound_volume = bind_volume.apply(volume)
    assert bound_volume is not None
    assert bound_volume["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "default",
                                                "name": "data", "uid": "c1", "apiVersion": "v1", "resourceVersion": ""}
    assert bound_volume["metadata"]["annotations"] == {ANN_BOUND_BY_CONTROLLER: "yes"}
    assert (volume_phase.apply(bound_volume) or {})["status"]["phase"] == "Bound"
    bound_claim = bind_claim.apply(the_claim)
    assert bound_claim is not None and bound_claim["spec"]["volumeName"] == "fit"
    assert bound_claim["metadata"]["annotations"] == {ANN_BIND_COMPLETED: "yes", ANN_BOUND_BY_CONTROLLER: "yes"}
    status = (claim_phase.apply(bound_claim) or {})["status"]
    assert status == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}


def test_a_second_sync_of_a_bound_pair_writes_nothing() -> None:
    the_claim = claim(storage_class="fast", volume_name="fit", phase="Bound",
                      annotations={ANN_BIND_COMPLETED: "yes", ANN_BOUND_BY_CONTROLLER: "yes"})
    the_claim["status"].update({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}})
    volume = pv("fit", storage_class="fast", phase="Bound", claim=the_claim,
                annotations={ANN_BOUND_BY_CONTROLLER: "yes"})
    plan = sync_claim(view(the_claim, volume))
    targets = {"volume": volume, "claim": the_claim}
    assert [step.apply(targets[step.target]) for step in plan.steps  # type: ignore[union-attr]
            if not isinstance(step, Event | EnqueueClaim)] == [None, None, None, None]


# -- claims that wait ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pods", "reason", "message"), [
    ((), "WaitForFirstConsumer", "waiting for first consumer to be created before binding"),
    (("web-0",), "WaitForPodScheduled", "waiting for pod web-0 to be scheduled"),
    (("b", "a"), "WaitForPodScheduled", "waiting for pods a,b to be scheduled"),
])
def test_a_wait_for_first_consumer_claim_waits_for_the_scheduler(pods: tuple[str, ...], reason: str,
                                                                 message: str) -> None:
    plan = sync_claim(view(claim(storage_class="standard"), pv("any", storage_class="standard", phase="Available"),
                           pods=pods))
    assert plan.steps == [Event("claim", "Normal", reason, message), ClaimPhase("Pending")]


def test_once_a_node_is_selected_the_claim_goes_to_its_provisioner() -> None:
    the_claim = claim(storage_class="standard", annotations={ANN_SELECTED_NODE: "node-1"})
    plan = sync_claim(view(the_claim))
    assert plan.steps[0] == SetProvisioner(LOCAL_PATH_PROVISIONER)
    assert isinstance(plan.steps[1], Event) and plan.steps[1].reason == "ExternalProvisioning"
    assert "external provisioner 'minik8s.io/local-path'" in plan.steps[1].message
    annotated = plan.steps[0].apply(the_claim)
    assert annotated is not None
    assert annotated["metadata"]["annotations"][ANN_STORAGE_PROVISIONER] == LOCAL_PATH_PROVISIONER
    assert annotated["metadata"]["annotations"][ANN_BETA_STORAGE_PROVISIONER] == LOCAL_PATH_PROVISIONER


def test_a_wait_for_first_consumer_claim_binds_the_volume_the_scheduler_prebound() -> None:
    the_claim = claim(storage_class="standard")
    chosen = pv("chosen", storage_class="standard", phase="Available", claim=the_claim,
                annotations={ANN_BOUND_BY_CONTROLLER: "yes"})
    assert bound_to(sync_claim(view(the_claim, chosen))) == "chosen"


def test_claims_without_a_usable_class_wait_with_kubernetes_events() -> None:
    assert sync_claim(view(claim(storage_class=""))).steps == [
        Event("claim", "Normal", "FailedBinding",
              "no persistent volumes available for this claim and no storage class is set"), ClaimPhase("Pending")]
    assert sync_claim(view(claim(storage_class="missing"))).steps == [
        Event("claim", "Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "missing" not found')]


def test_a_claim_naming_its_volume_binds_it_only_when_it_fits() -> None:
    the_claim = claim(storage_class="fast", volume_name="wanted", request="2Gi")
    too_small = pv("wanted", storage_class="fast", phase="Available")
    assert sync_claim(view(the_claim, too_small)).steps == [
        Event("claim", "Warning", "VolumeMismatch", 'Cannot bind to requested volume "wanted": requested PV is too small'),
        ClaimPhase("Pending")]
    assert bound_to(sync_claim(view(the_claim, pv("wanted", capacity="2Gi", storage_class="fast")))) == "wanted"
    assert sync_claim(view(the_claim)).steps == [ClaimPhase("Pending")]  # not there (yet)
    someone_elses = pv("wanted", capacity="2Gi", storage_class="fast", claim=pvc("other", uid="o1"))
    assert sync_claim(view(the_claim, someone_elses)).steps == [ClaimPhase("Pending")]


# -- bound claims ----------------------------------------------------------------------------------------

def bound_claim(volume_name: str = "fit") -> JsonObject:
    return claim(storage_class="fast", volume_name=volume_name, phase="Bound",
                 annotations={ANN_BIND_COMPLETED: "yes"})


def test_a_bound_claim_whose_volume_is_gone_or_taken_is_lost() -> None:
    assert sync_claim(view(bound_claim())).steps == [
        ClaimPhase("Lost"), Event("claim", "Warning", "ClaimLost",
                                  "Bound claim has lost its PersistentVolume. Data on the volume is lost!")]
    taken = pv("fit", storage_class="fast", claim=pvc("data", uid="someone-else"))
    assert kinds(sync_claim(view(bound_claim(), taken))) == ["ClaimPhase", "Event"]
    already_lost = bound_claim()
    already_lost["status"]["phase"] = "Lost"
    assert sync_claim(view(already_lost)).steps == [ClaimPhase("Lost")]  # no second event


# -- volumes ---------------------------------------------------------------------------------------------

def test_a_new_or_reserved_volume_is_available() -> None:
    assert sync_volume(pv("new", phase="Pending"), None).steps == [VolumePhase("Available")]
    assert sync_volume(pv("reserved", claim=pvc("data")), None).steps == [VolumePhase("Available")]


def test_a_volume_whose_claim_is_gone_is_released_then_reclaimed_by_policy() -> None:
    gone = pvc("data", uid="c1")
    assert sync_volume(pv("kept", claim=gone, phase="Bound"), None).steps == [VolumePhase("Released")]
    provisioned = pv("made", claim=gone, phase="Bound", policy="Delete",
                     annotations={ANN_PROVISIONED_BY: LOCAL_PATH_PROVISIONER})
    assert sync_volume(provisioned, None).steps == [VolumePhase("Released")]  # its provisioner's node deletes it
    message = 'error getting deleter volume plugin for volume "static": no deletable volume plugin matched'
    assert sync_volume(pv("static", claim=gone, phase="Bound", policy="Delete"), None).steps == [
        VolumePhase("Released"), VolumePhase("Failed", message), Event("volume", "Warning", "VolumeFailedDelete",
                                                                        message)]
    assert sync_volume(pv("static", claim=gone, phase="Failed", policy="Delete"), None).steps == []


def test_a_namesake_of_the_claim_does_not_keep_the_volume() -> None:
    volume = pv("kept", claim=pvc("data", uid="old"), phase="Bound")
    assert sync_volume(volume, pvc("data", uid="new")).steps == [VolumePhase("Released")]


def test_a_volume_whose_claim_is_being_bound_leaves_the_work_to_the_claim() -> None:
    the_claim = claim(storage_class="fast")
    assert sync_volume(pv("fit", claim=the_claim), the_claim).steps == [EnqueueClaim("default/data")]
    bound = claim(storage_class="fast", volume_name="fit")
    assert sync_volume(pv("fit", claim=bound, phase="Available"), bound).steps == [VolumePhase("Bound")]


def test_a_volume_bound_by_the_controller_to_a_claim_that_took_another_is_unbound() -> None:
    elsewhere = claim(storage_class="fast", volume_name="other")
    volume = pv("fit", claim=elsewhere, phase="Bound", annotations={ANN_BOUND_BY_CONTROLLER: "yes"})
    plan = sync_volume(volume, elsewhere)
    assert plan.steps == [UnbindVolume()]
    unbound = UnbindVolume().apply(volume)
    assert unbound is not None and "claimRef" not in unbound["spec"] and "annotations" not in unbound["metadata"]
    user_prebound = pv("fit", claim=elsewhere, phase="Bound")
    kept = UnbindVolume().apply(user_prebound)
    assert kept is not None and kept["spec"]["claimRef"]["name"] == "data" and kept["spec"]["claimRef"]["uid"] == ""
