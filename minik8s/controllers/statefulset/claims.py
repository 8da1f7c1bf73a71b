"""What happens to a StatefulSet's claims: persistentVolumeClaimRetentionPolicy as owner references.

A claim made from a volumeClaimTemplate outlives its pod (a replacement mounts the same data).
`whenDeleted: Delete` makes the StatefulSet an owner of each claim, so the garbage collector deletes
the claims after the set; `whenScaled: Delete` makes a pod above the new replica count the owner
of its claims just before it is deleted, so they go with it. The references are controller
references (KEP-1847 as amended for 1.32): a claim another controller already controls is left
alone (and a Warning says so), and a reference to an earlier set or pod of the same name (another
uid) marks a claim on its way out — a new pod waits for it to go rather than reusing it.

Kubernetes' stateful_set_utils.go (isClaimOwnerUpToDate, updateClaimOwnerRefForSetAndPod) and
stateful_pod_control.go (PodClaimIsStale, UpdatePodClaimForRetentionPolicy), over plain JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minik8s.api.meta import (
    JsonObject,
    is_deleting,
    name_of,
    owner_references_of,
    resource_version_of,
    spec_of,
    uid_of,
)
from minik8s.controllers.statefulset.identity import (
    API_VERSION,
    KIND,
    claim_name,
    claim_templates,
    in_ordinal_range,
    ordinal_of,
)

RETAIN, DELETE = "Retain", "Delete"
POD_API_VERSION, POD_KIND = "v1", "Pod"
Claims = Mapping[str, Mapping[str, Any]]  # claim name -> claim, the set's namespace


@dataclass(frozen=True)
class Policy:
    when_deleted: str = RETAIN
    when_scaled: str = RETAIN


@dataclass(frozen=True)
class OwnerUpdate:
    """A claim's ownerReferences set as the policy wants them (guarded by the claim's resourceVersion)."""

    claim_name: str
    resource_version: str
    owner_references: tuple[JsonObject, ...]
    conflicting_controller: bool = False  # another controller controls it: the policy is not applied


def policy_of(stateful_set: Mapping[str, Any]) -> Policy:
    """getPersistentVolumeClaimRetentionPolicy: Retain for whatever is unset."""
    raw = spec_of(stateful_set).get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(raw, Mapping):
        return Policy()
    return Policy(str(raw.get("whenDeleted") or RETAIN), str(raw.get("whenScaled") or RETAIN))


def _matches(reference: Mapping[str, Any], obj: Mapping[str, Any], api_version: str, kind: str) -> bool:
    """matchesRef: the reference names this object (apiVersion, kind and name; not the uid)."""
    return (reference.get("apiVersion") == api_version and reference.get("kind") == kind
            and reference.get("name") == name_of(obj))


def has_owner(claim: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    return any(reference.get("uid") == uid_of(owner) for reference in owner_references_of(claim))


def has_stale_owner(claim: Mapping[str, Any], obj: Mapping[str, Any], api_version: str, kind: str) -> bool:
    """hasStaleOwnerRef: the first reference naming `obj` carries another uid (an earlier object of that name)."""
    for reference in owner_references_of(claim):
        if _matches(reference, obj, api_version, kind):
            return reference.get("uid") != uid_of(obj)
    return False


def has_unexpected_controller(claim: Mapping[str, Any], stateful_set: Mapping[str, Any],
                              pod: Mapping[str, Any]) -> bool:
    """Under a Delete policy: a controller that is neither this set nor this pod (or an earlier one of their name)."""
    policy = policy_of(stateful_set)
    if policy.when_scaled == RETAIN and policy.when_deleted == RETAIN:
        return False
    for reference in owner_references_of(claim):
        for obj, api_version, kind in ((stateful_set, API_VERSION, KIND), (pod, POD_API_VERSION, POD_KIND)):
            if _matches(reference, obj, api_version, kind):
                if reference.get("uid") != uid_of(obj):
                    return True
                break
        else:
            if reference.get("controller") is True:
                return True
    return False


def _has_non_controller_owner(claim: Mapping[str, Any], stateful_set: Mapping[str, Any],
                              pod: Mapping[str, Any]) -> bool:
    return any(reference.get("uid") in (uid_of(stateful_set), uid_of(pod)) and reference.get("controller") is not True
               for reference in owner_references_of(claim))


def owner_up_to_date(claim: Mapping[str, Any], stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """isClaimOwnerUpToDate: the claim's references are what the policy wants (stale or foreign ones: hands off)."""
    if has_stale_owner(claim, stateful_set, API_VERSION, KIND) or has_stale_owner(claim, pod, POD_API_VERSION, POD_KIND):
        return True
    if has_unexpected_controller(claim, stateful_set, pod):
        return not (has_owner(claim, stateful_set) or has_owner(claim, pod))
    if _has_non_controller_owner(claim, stateful_set, pod):
        return False
    want_set, want_pod = _wanted_owners(stateful_set, pod)
    return has_owner(claim, stateful_set) == want_set and has_owner(claim, pod) == want_pod


def _wanted_owners(stateful_set: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[bool, bool]:
    """(the set owns the claim, the pod owns the claim) under the policy: the pod only once scaled away."""
    policy = policy_of(stateful_set)
    scaled_down = not in_ordinal_range(stateful_set, pod)
    want_pod = policy.when_scaled == DELETE and scaled_down
    want_set = policy.when_deleted == DELETE and not (policy.when_scaled == DELETE and scaled_down)
    if policy.when_scaled not in (RETAIN, DELETE) or policy.when_deleted not in (RETAIN, DELETE):
        return False, False  # an unknown policy is treated as Retain
    return want_set, want_pod


def _controller_reference(obj: Mapping[str, Any], api_version: str, kind: str) -> JsonObject:
    return {"apiVersion": api_version, "kind": kind, "name": name_of(obj), "uid": uid_of(obj),
            "controller": True, "blockOwnerDeletion": True}


def wanted_owner_references(claim: Mapping[str, Any], stateful_set: Mapping[str, Any],
                            pod: Mapping[str, Any]) -> list[JsonObject]:
    """updateClaimOwnerRefForSetAndPod: references to this set and pod scrubbed, then the policy's added back
    as controller references (none when another controller holds the claim)."""
    unexpected = has_unexpected_controller(claim, stateful_set, pod)
    kept = [dict(reference) for reference in owner_references_of(claim)
            if not (_matches(reference, stateful_set, API_VERSION, KIND)
                    or _matches(reference, pod, POD_API_VERSION, POD_KIND))]
    if unexpected:
        return kept
    want_set, want_pod = _wanted_owners(stateful_set, pod)
    for wanted, obj, api_version, kind in ((want_pod, pod, POD_API_VERSION, POD_KIND),
                                           (want_set, stateful_set, API_VERSION, KIND)):
        if wanted and not any(reference.get("uid") == uid_of(obj) for reference in kept):
            kept.append(_controller_reference(obj, api_version, kind))
    return kept


def pod_claims(stateful_set: Mapping[str, Any], pod: Mapping[str, Any], claims: Claims) -> list[Mapping[str, Any]]:
    """The existing claims (in `claims`) of the pod's ordinal, in template order."""
    ordinal = ordinal_of(pod)
    names = [claim_name(stateful_set, template, ordinal) for template in claim_templates(stateful_set)]
    return [claims[name] for name in names if name in claims]


def claims_match_policy(stateful_set: Mapping[str, Any], pod: Mapping[str, Any], claims: Claims) -> bool:
    """ClaimsMatchRetentionPolicy: every existing claim of the pod is owned as the policy wants."""
    return all(owner_up_to_date(claim, stateful_set, pod) for claim in pod_claims(stateful_set, pod, claims))


def owner_updates(stateful_set: Mapping[str, Any], pod: Mapping[str, Any], claims: Claims) -> list[OwnerUpdate]:
    """UpdatePodClaimForRetentionPolicy: the claims of the pod whose owners must change, and how."""
    updates = []
    for claim in pod_claims(stateful_set, pod, claims):
        conflicting = has_unexpected_controller(claim, stateful_set, pod)
        if not owner_up_to_date(claim, stateful_set, pod):
            references = tuple(wanted_owner_references(claim, stateful_set, pod))
            updates.append(OwnerUpdate(name_of(claim), resource_version_of(claim), references, conflicting))
    return updates


def claim_is_stale(stateful_set: Mapping[str, Any], pod: Mapping[str, Any], claims: Claims) -> bool:
    """PodClaimIsStale: under `whenScaled: Delete`, a claim still owned by an earlier pod of this name is on
    its way out; the pod is not made until it is gone (it would mount data about to be deleted)."""
    if policy_of(stateful_set).when_scaled == RETAIN:
        return False
    return any(has_stale_owner(claim, pod, POD_API_VERSION, POD_KIND) for claim in pod_claims(stateful_set, pod, claims))


def missing_claims(wanted: Iterable[JsonObject], claims: Claims) -> tuple[JsonObject, ...]:
    """What createPersistentVolumeClaims acts on: the pod's claims (as built) that do not exist yet, or whose
    namesake is being deleted (then the pod must wait: it would mount data on its way out)."""
    return tuple(claim for claim in wanted
                 if name_of(claim) not in claims or is_deleting(claims[name_of(claim)]))
