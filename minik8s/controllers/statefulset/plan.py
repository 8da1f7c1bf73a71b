"""The StatefulSet decision: from the set, its revisions, pods and claims, what to create, fix and delete.

Kubernetes' updateStatefulSet (stateful_set_control.go, v1.32) as a pure function. Pods are sorted
into replicas (ordinals start..start+replicas-1, a missing one built from the current or update
revision) and condemned (ordinals beyond). Then, in order:

1. each replica: a Failed or Succeeded pod is deleted (its replacement comes once it is gone); a
   missing one is created with its claims (not while an earlier pod's claim is still being
   deleted); a Pending one gets its missing claims; one with the wrong identity, storage or claim
   owners is fixed. Under OrderedReady ("monotonic") the first pod that is missing, terminating,
   not Running and Ready or not available stops the sync: pods come up one at a time, in order.
   Parallel ("burst") does every replica at once, in slow-start batches;
2. the condemned pods' claims get the owners `whenScaled` asks for;
3. the condemned pods are deleted from the highest ordinal down, one at a time and only while
   every other pod is healthy under OrderedReady, all at once under Parallel;
4. OnDelete stops here; RollingUpdate deletes the highest-ordinal pod at or above the partition
   whose revision is not the update revision — one, waiting while any such pod is unavailable, or
   up to `maxUnavailable` unavailable pods when that field is set (1.32's MaxUnavailableStatefulSet).

The plan lists the writes as phases of works (a work's actions run in order; a phase's works run
one by one, or in slow-start batches when burst); the controller stops at the first that fails.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api.meta import JsonObject, is_deleting, mapping_at, name_of, spec_of, status_of, uid_of
from minik8s.controllers.common.pods import phase_of
from minik8s.controllers.common.workload_objects import min_ready_seconds_of
from minik8s.controllers.statefulset import claims as claim_rules
from minik8s.controllers.statefulset.claims import Claims, OwnerUpdate
from minik8s.controllers.statefulset.identity import (
    claims_for,
    end_ordinal,
    identity_matches,
    new_pod,
    ordinal_of,
    revision_of_pod,
    start_ordinal,
    storage_matches,
    with_identity,
    with_storage,
)
from minik8s.controllers.statefulset.revisions import apply_revision
from minik8s.controllers.statefulset.status import (
    count_replicas,
    is_created,
    is_running_and_available,
    is_running_and_ready,
    is_unavailable,
    min_ready_requeue,
    status_json,
)


@dataclass(frozen=True)
class CreatePod:
    """Create the pod's missing claims, then the pod, then set its claims' owners as the policy wants."""

    pod: JsonObject
    claims: tuple[JsonObject, ...] = ()


@dataclass(frozen=True)
class CreateClaims:
    """A Pending pod's missing claims (createMissingPersistentVolumeClaims), then their owners."""

    pod: JsonObject
    claims: tuple[JsonObject, ...] = ()
    owners: tuple[OwnerUpdate, ...] = ()


@dataclass(frozen=True)
class UpdatePod:
    """Put the pod's identity and storage right (`pod` as it should be; None: it is), its claims and their owners."""

    pod: JsonObject | None
    pod_name: str
    claims: tuple[JsonObject, ...] = ()
    owners: tuple[OwnerUpdate, ...] = ()


@dataclass(frozen=True)
class SetClaimOwners:
    """A condemned pod's claims get the owners the policy wants before the pod goes."""

    pod_name: str
    owners: tuple[OwnerUpdate, ...]


@dataclass(frozen=True)
class DeletePod:
    pod_name: str
    uid: str


Action = CreatePod | CreateClaims | UpdatePod | SetClaimOwners | DeletePod
Work = tuple[Action, ...]


@dataclass
class Phase:
    works: list[Work] = field(default_factory=list)
    burst: bool = False  # Parallel: the works run in slow-start batches, not one by one


@dataclass(frozen=True)
class StatefulSetInputs:
    stateful_set: Mapping[str, Any]
    current_revision: Mapping[str, Any]
    update_revision: Mapping[str, Any]
    collision_count: int
    pods: Sequence[Mapping[str, Any]]  # the set's own pods
    claims: Claims  # the namespace's claims by name
    now: datetime


@dataclass
class StatefulSetPlan:
    status: JsonObject
    phases: list[Phase] = field(default_factory=list)
    requeue_after: float | None = None


@dataclass
class _Sync:
    """What every step reads: the set (as stored and at each revision), its pods sorted, the clock."""

    inputs: StatefulSetInputs
    current_set: JsonObject
    update_set: JsonObject
    replicas: list[Mapping[str, Any]]  # by ordinal; a pod not yet created is built, phase-less
    condemned: list[Mapping[str, Any]]  # highest ordinal first
    monotonic: bool
    min_ready: int
    first_unavailable: str = ""

    def unavailable(self, pod: Mapping[str, Any]) -> bool:
        return is_unavailable(pod, self.min_ready, self.inputs.now)

    def available(self, pod: Mapping[str, Any]) -> bool:
        return is_running_and_available(pod, self.min_ready, self.inputs.now)


def plan_stateful_set(inputs: StatefulSetInputs) -> StatefulSetPlan:
    stateful_set = inputs.stateful_set
    current_name, update_name = name_of(inputs.current_revision), name_of(inputs.update_revision)
    sync = _sort_pods(inputs)
    plan = StatefulSetPlan(status={})
    current_adjustment = 0
    if not is_deleting(stateful_set):
        phases, stopped = _replica_and_condemned_phases(sync)
        plan.phases.extend(phases)
        if not stopped:
            update = _rolling_update_phase(sync)
            current_adjustment = -len(update.works)
            plan.phases.append(update)
    counted = [*sync.replicas, *sync.condemned] if not is_deleting(stateful_set) else list(inputs.pods)
    counts = count_replicas(counted, min_ready_seconds=sync.min_ready, current_revision=current_name,
                            update_revision=update_name, now=inputs.now)
    counts.current = max(counts.current + current_adjustment, 0)
    plan.status = status_json(stateful_set, counts, current_revision=current_name, update_revision=update_name,
                              collision_count=inputs.collision_count)
    plan.phases = [phase for phase in plan.phases if phase.works]
    plan.requeue_after = min_ready_requeue(stateful_set, counts)
    return plan


def _sort_pods(inputs: StatefulSetInputs) -> _Sync:
    stateful_set = inputs.stateful_set
    current_set = apply_revision(stateful_set, inputs.current_revision)
    update_set = apply_revision(stateful_set, inputs.update_revision)
    start, end = start_ordinal(stateful_set), end_ordinal(stateful_set)
    by_ordinal: dict[int, Mapping[str, Any]] = {}
    condemned: list[Mapping[str, Any]] = []
    for pod in inputs.pods:
        ordinal = ordinal_of(pod)
        if start <= ordinal <= end:
            by_ordinal[ordinal] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    replicas = [by_ordinal.get(ordinal) or _versioned_pod(inputs, current_set, update_set, ordinal)
                for ordinal in range(start, end + 1)]
    condemned.sort(key=ordinal_of, reverse=True)
    policy = spec_of(stateful_set).get("podManagementPolicy")
    sync = _Sync(inputs, current_set, update_set, replicas, condemned, monotonic=policy != "Parallel",
                 min_ready=min_ready_seconds_of(stateful_set))
    for pod in (*replicas, *reversed(condemned)):
        if sync.unavailable(pod):
            sync.first_unavailable = name_of(pod)
            break
    return sync


def _versioned_pod(inputs: StatefulSetInputs, current_set: Mapping[str, Any], update_set: Mapping[str, Any],
                   ordinal: int) -> JsonObject:
    """newVersionedStatefulSetPod: below the partition (or, without one, the current replicas) a missing pod
    is made from the current revision, else from the update revision."""
    strategy = mapping_at(spec_of(current_set), "updateStrategy")
    rolling = strategy.get("rollingUpdate")
    start = start_ordinal(current_set)
    if isinstance(rolling, Mapping):
        keeps_current = ordinal < start + int(rolling.get("partition") or 0)
    else:
        current_replicas = int(status_of(inputs.stateful_set).get("currentReplicas") or 0)
        keeps_current = strategy.get("type") == "RollingUpdate" and ordinal < start + current_replicas
    if keeps_current:
        return new_pod(current_set, ordinal, name_of(inputs.current_revision))
    return new_pod(update_set, ordinal, name_of(inputs.update_revision))


def _replica_and_condemned_phases(sync: _Sync) -> tuple[list[Phase], bool]:
    """Steps 1-3; True when a step stops the sync (OrderedReady waiting, or a deletion made)."""
    replicas = Phase(burst=not sync.monotonic)
    for pod in sync.replicas:
        actions, stop = _process_replica(sync, pod)
        if actions:
            replicas.works.append(actions)
        if stop and sync.monotonic:
            return [replicas], True
    owners = Phase(burst=not sync.monotonic)
    for pod in sync.condemned:
        updates = tuple(claim_rules.owner_updates(sync.update_set, pod, sync.inputs.claims))
        if updates:
            owners.works.append((SetClaimOwners(name_of(pod), updates),))
    condemned = Phase(burst=not sync.monotonic)
    for pod in sync.condemned:
        action, stop = _process_condemned(sync, pod)
        if action is not None:
            condemned.works.append((action,))
        if stop and sync.monotonic:
            return [replicas, owners, condemned], True
    return [replicas, owners, condemned], False


def _process_replica(sync: _Sync, pod: Mapping[str, Any]) -> tuple[Work, bool]:
    """processReplica: the writes one replica needs, and whether an OrderedReady sync stops at it."""
    claims = sync.inputs.claims
    stateful_set = sync.inputs.stateful_set
    if phase_of(pod) in ("Failed", "Succeeded"):
        return (() if is_deleting(pod) else (DeletePod(name_of(pod), uid_of(pod)),)), True
    if not is_created(pod):
        if claim_rules.claim_is_stale(stateful_set, pod, claims):
            return (), True
        wanted = claims_for(stateful_set, ordinal_of(pod)).values()
        return (CreatePod(dict(pod), claim_rules.missing_claims(wanted, claims)),), True
    actions: list[Action] = []
    if phase_of(pod) == "Pending":
        missing = claim_rules.missing_claims(claims_for(stateful_set, ordinal_of(pod)).values(), claims)
        owners = tuple(claim_rules.owner_updates(stateful_set, pod, claims))
        if missing or owners:
            actions.append(CreateClaims(dict(pod), missing, owners))
    blocked = is_deleting(pod) or not is_running_and_ready(pod) or not sync.available(pod)
    if blocked and sync.monotonic:
        return tuple(actions), True
    fixed = _fixed_pod(sync, pod)
    owners = tuple(claim_rules.owner_updates(sync.update_set, pod, claims))
    if fixed is not None or owners:
        missing = claim_rules.missing_claims(claims_for(sync.update_set, ordinal_of(pod)).values(), claims) \
            if fixed is not None else ()
        actions.append(UpdatePod(fixed, name_of(pod), missing, owners))
    return tuple(actions), False


def _fixed_pod(sync: _Sync, pod: Mapping[str, Any]) -> JsonObject | None:
    """UpdateStatefulPod's repair: the pod with the update revision's identity and storage, when they differ."""
    stateful_set = sync.inputs.stateful_set
    if identity_matches(stateful_set, pod) and storage_matches(stateful_set, pod):
        return None
    fixed = copy.deepcopy(dict(pod))
    if not identity_matches(sync.update_set, fixed):
        with_identity(sync.update_set, fixed)
    if not storage_matches(sync.update_set, fixed):
        with_storage(sync.update_set, fixed)
    return fixed


def _process_condemned(sync: _Sync, pod: Mapping[str, Any]) -> tuple[DeletePod | None, bool]:
    """processCondemned: delete a pod beyond the replica count; OrderedReady waits for a healthy set first."""
    if is_deleting(pod):
        return None, sync.monotonic
    waiting = name_of(pod) != sync.first_unavailable and (not is_running_and_ready(pod) or not sync.available(pod))
    if waiting and sync.monotonic:
        return None, True
    return DeletePod(name_of(pod), uid_of(pod)), True


def _rolling_update_phase(sync: _Sync) -> Phase:
    """Step 4: the deletions that roll the replicas at or above the partition to the update revision."""
    phase = Phase()
    strategy = mapping_at(spec_of(sync.inputs.stateful_set), "updateStrategy")
    if strategy.get("type") == "OnDelete":
        return phase
    rolling = mapping_at(strategy, "rollingUpdate")
    partition = int(rolling.get("partition") or 0)
    update_name = name_of(sync.inputs.update_revision)
    outdated = [(index, pod) for index, pod in enumerate(sync.replicas)
                if index >= partition and revision_of_pod(pod) != update_name and not is_deleting(pod)]
    if rolling.get("maxUnavailable") is None:
        for pod in reversed(sync.replicas[partition:]):
            if revision_of_pod(pod) != update_name and not is_deleting(pod):
                phase.works.append((DeletePod(name_of(pod), uid_of(pod)),))
                return phase
            if sync.unavailable(pod):
                return phase
        return phase
    max_unavailable = max_unavailable_of(rolling.get("maxUnavailable"), len(sync.replicas))
    unavailable = sum(1 for pod in sync.replicas if sync.unavailable(pod))
    room = max_unavailable - unavailable if unavailable <= max_unavailable else 0
    for _, pod in sorted(outdated, key=lambda item: item[0], reverse=True)[:max(room, 0)]:
        phase.works.append((DeletePod(name_of(pod), uid_of(pod)),))
    return phase


def max_unavailable_of(value: Any, replicas: int) -> int:
    """getStatefulSetMaxUnavailable: an int, or a percentage of the replicas rounded down; at least 1."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            amount = math.floor(int(value[:-1]) * replicas / 100)
        except ValueError:
            amount = 1
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        amount = 1
    return max(amount, 1)
