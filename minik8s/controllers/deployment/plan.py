"""One sync of a Deployment, decided without side effects: which ReplicaSets to create, resize, delete.

`plan_deployment` follows Kubernetes' syncDeployment step for step — status only while
deleting; paused and scaling events only resize (proportionally mid-rollout); otherwise a
RollingUpdate step (grow the new ReplicaSet within maxSurge, shrink old ones within
maxUnavailable, unhealthy old pods first) or a Recreate step (old ReplicaSets to zero, wait
for their pods to be gone, then the new one at full size); revision bookkeeping, history
cleanup, status and conditions. Kubernetes performs each decision as an API call and reads
its answer back; here the decisions accumulate on `ReplicaSetState`s and come out as one
`DeploymentPlan` the controller writes. The next sync sees the result, so a rollout
advances one safe step per change it observes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minik8s.api import meta
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.events import PlannedEvent
from minik8s.controllers.common.workload_objects import selector_of
from minik8s.controllers.deployment import status as conditions
from minik8s.controllers.deployment.scaling import (
    ReplicaSetState,
    active,
    desired_annotation,
    find_active_or_latest,
    is_saturated,
    new_rs_new_replicas,
    old_pods_running,
    oldest_first,
    proportional_sizes,
    total_available,
    total_replicas,
)
from minik8s.controllers.deployment.spec import DeploymentSpec, read_spec
from minik8s.controllers.deployment.status import (
    calculate_status,
    new_condition,
    replica_failures,
    rollout_status,
    same_status,
    set_condition,
    stuck_check_after,
)
from minik8s.controllers.deployment.template import (
    REVISION,
    equal_ignore_hash,
    max_revision,
    new_replica_set,
    set_new_replica_set_annotations,
    template_of,
)

PodsByOwner = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass
class DeploymentPlan:
    """The writes of one sync, in the order the controller makes them."""

    create: ReplicaSetState | None = None  # the new ReplicaSet (its `replicas` planned)
    updates: list[ReplicaSetState] = field(default_factory=list)  # resized or re-annotated
    deletes: list[JsonObject] = field(default_factory=list)  # old ReplicaSets past the history limit
    status: JsonObject | None = None  # the new status, when it differs
    revision: str | None = None  # the Deployment's revision annotation, when it differs
    requeue_after: float | None = None  # look again then (progress deadline)
    events: list[PlannedEvent] = field(default_factory=list)

    def replica_set_body(self) -> JsonObject | None:
        """The ReplicaSet to POST, with its planned size and annotations."""
        if self.create is None:
            return None
        body = copy.deepcopy(self.create.obj)
        body["spec"]["replicas"] = self.create.replicas
        body["metadata"]["annotations"] = dict(self.create.annotations)
        return body


class DeploymentSync:
    """The working state of one sync (Kubernetes' DeploymentController methods on one Deployment)."""

    def __init__(self, deployment: Mapping[str, Any], replica_sets: Sequence[JsonObject], *,
                 spec: DeploymentSpec, now: datetime) -> None:
        self.deployment, self.spec, self.now = deployment, spec, now
        self.generation = meta.generation_of(deployment)
        self.original_status = meta.status_of(deployment)
        self.status: JsonObject = copy.deepcopy(dict(self.original_status))  # d.Status as amended
        self.states = [ReplicaSetState.of(rs) for rs in replica_sets]
        self.new: ReplicaSetState | None = None
        self.olds: list[ReplicaSetState] = []
        self.plan = DeploymentPlan()

    # -- finding the new ReplicaSet, revisions ----------------------------------------------------

    def sync_revision(self, *, create: bool) -> None:
        """getAllReplicaSetsAndSyncRevision: split new from old; annotate or create the new one."""
        template = template_of(self.deployment)
        existing = next((s for s in sorted(self.states, key=lambda s: s.created)
                         if equal_ignore_hash(template_of(s.obj), template)), None)
        if self.plan.create is not None:
            existing = self.plan.create
        self.olds = [state for state in self.states if state is not existing]
        new_revision = max_revision({"metadata": {"annotations": s.annotations}} for s in self.olds) + 1
        if existing is not None:
            self.new = existing
            if not existing.creating:
                self._annotate_existing(existing, new_revision)
            return
        self.new = None
        if create:
            self._create_new(new_revision)

    def _annotate_existing(self, existing: ReplicaSetState, new_revision: int) -> None:
        annotated = set_new_replica_set_annotations(self.deployment, existing.annotations,
                                                    new_revision=new_revision, exists=True, spec=self.spec)
        if annotated or existing.min_ready_seconds != self.spec.min_ready_seconds:
            existing.min_ready_seconds = self.spec.min_ready_seconds
            return  # Kubernetes returns after this update; the revision follows next sync
        self._set_revision(existing.annotations.get(REVISION, ""))
        if self.spec.has_progress_deadline and meta.find_condition(self.status.get("conditions"), conditions.PROGRESSING) is None:
            set_condition(self.status, new_condition(
                conditions.PROGRESSING, "True", conditions.FOUND_NEW_REPLICA_SET,
                f'Found new replica set "{existing.name}"', now=self.now))

    def _create_new(self, new_revision: int) -> None:
        collision_count = self.status.get("collisionCount")
        body = new_replica_set(self.deployment, spec=self.spec, replicas=0, new_revision=new_revision,
                               collision_count=collision_count if isinstance(collision_count, int) else None)
        created = ReplicaSetState.of(body, creating=True)
        created.replicas = new_rs_new_replicas(self.spec, [*self.olds, created], created)
        self.plan.create = self.new = created
        if created.replicas > 0:
            self.plan.events.append(PlannedEvent(
                "Normal", "ScalingReplicaSet", f"Scaled up replica set {created.name} to {created.replicas}"))
        self._set_revision(str(new_revision))
        if self.spec.has_progress_deadline:
            set_condition(self.status, new_condition(
                conditions.PROGRESSING, "True", conditions.NEW_REPLICA_SET_CREATED,
                f'Created new replica set "{created.name}"', now=self.now))

    def _set_revision(self, revision: str) -> None:
        if meta.annotations_of(self.deployment).get(REVISION) != revision:
            self.plan.revision = revision

    @property
    def all_states(self) -> list[ReplicaSetState]:
        return [*self.olds, *([self.new] if self.new is not None else [])]

    # -- paused, scaling ----------------------------------------------------------------------

    def check_paused_conditions(self) -> None:
        """A paused Deployment is not failing to progress: Progressing Unknown while paused."""
        if not self.spec.has_progress_deadline:
            return
        current = meta.find_condition(self.status.get("conditions"), conditions.PROGRESSING)
        if current is not None and current.get("reason") == conditions.TIMED_OUT:
            return
        paused_recorded = current is not None and current.get("reason") == conditions.PAUSED
        if self.spec.paused and not paused_recorded:
            set_condition(self.status, new_condition(conditions.PROGRESSING, "Unknown", conditions.PAUSED,
                                                     "Deployment is paused", now=self.now))
        elif not self.spec.paused and paused_recorded:
            set_condition(self.status, new_condition(conditions.PROGRESSING, "Unknown", conditions.RESUMED,
                                                     "Deployment is resumed", now=self.now))

    def is_scaling_event(self) -> bool:
        """Some active ReplicaSet was sized for a different spec.replicas than the current one."""
        self.sync_revision(create=False)
        for state in active(self.all_states):
            desired = desired_annotation(state)
            if desired is not None and desired != self.spec.replicas:
                return True
        return False

    def sync(self) -> None:
        """Scaling events and paused Deployments: resize without rolling, then the plain status."""
        self.sync_revision(create=False)
        self.scale()
        if self.spec.paused:
            self.cleanup()
        self.sync_status()

    def scale(self) -> None:
        only = find_active_or_latest(self.new, self.olds)
        if only is not None:
            if only.replicas != self.spec.replicas:
                only.scale_to(self.spec.replicas, spec=self.spec)
            return
        if is_saturated(self.spec, self.new):
            for old in active(self.olds):
                old.scale_to(0, spec=self.spec)
            return
        if self.spec.is_rolling_update:
            status_replicas = meta.integer(self.original_status.get("replicas"), default=0)
            sizes, operation = proportional_sizes(self.spec, active(self.all_states), status_replicas=status_replicas)
            for state, size in sizes:
                state.scale(size, spec=self.spec, operation=operation)

    # -- rolling update -----------------------------------------------------------------------

    def rollout_rolling(self) -> None:
        self.sync_revision(create=True)
        assert self.new is not None
        if self.reconcile_new() or self.reconcile_olds():
            self.sync_rollout_status()
            return
        if conditions.deployment_complete(self.spec, self.generation, self.status):
            self.cleanup()
        self.sync_rollout_status()

    def reconcile_new(self) -> bool:
        new = self.new
        assert new is not None
        if new.replicas == self.spec.replicas:
            return False
        if new.replicas > self.spec.replicas:
            return new.scale_to(self.spec.replicas, spec=self.spec)
        return new.scale_to(new_rs_new_replicas(self.spec, self.all_states, new), spec=self.spec)

    def reconcile_olds(self) -> bool:
        """Scale old ReplicaSets down as far as availability allows, unhealthy replicas first."""
        new = self.new
        assert new is not None
        olds = active(self.olds)
        if total_replicas(olds) == 0:
            return False
        new_unavailable = new.replicas - new.available
        max_scaled_down = total_replicas([*olds, new]) - self.spec.min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self._cleanup_unhealthy(olds, max_scaled_down)
        if cleaned is None:
            return False
        return cleaned + self._scale_down_olds([*olds, new], olds) > 0

    def _cleanup_unhealthy(self, olds: list[ReplicaSetState], limit: int) -> int | None:
        """Remove old replicas that are not available anyway; None on an inconsistent count."""
        total = 0
        for state in oldest_first(olds):
            if total >= limit:
                break
            if state.replicas == 0 or state.replicas == state.available:
                continue
            count = min(limit - total, state.replicas - state.available)
            if count < 0:
                return None  # Kubernetes gives up on this step: status ahead of spec
            state.scale_to(state.replicas - count, spec=self.spec)
            total += count
        return total

    def _scale_down_olds(self, all_states: list[ReplicaSetState], olds: list[ReplicaSetState]) -> int:
        available = total_available(all_states)
        if available <= self.spec.min_available:
            return 0
        to_scale_down, total = available - self.spec.min_available, 0
        for state in oldest_first(olds):
            if total >= to_scale_down:
                break
            if state.replicas == 0:
                continue
            count = min(state.replicas, to_scale_down - total)
            state.scale_to(state.replicas - count, spec=self.spec)
            total += count
        return total

    # -- recreate -----------------------------------------------------------------------------

    def rollout_recreate(self, pods_by_owner: PodsByOwner) -> None:
        self.sync_revision(create=False)
        scaled_down = False
        for old in active(self.olds):
            scaled_down = old.scale_to(0, spec=self.spec) or scaled_down
        if scaled_down or old_pods_running(self.new, self.olds, pods_by_owner):
            self.sync_rollout_status()
            return
        if self.new is None:
            self.sync_revision(create=True)
        assert self.new is not None
        self.new.scale_to(self.spec.replicas, spec=self.spec)
        if conditions.deployment_complete(self.spec, self.generation, self.status):
            self.cleanup()
        self.sync_rollout_status()

    # -- history and status -------------------------------------------------------------------

    def cleanup(self) -> None:
        """cleanupDeployment: delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        if not self.spec.has_revision_history_limit:
            return
        assert self.spec.revision_history_limit is not None
        cleanable = [state for state in self.olds if not meta.is_deleting(state.obj)]
        excess = len(cleanable) - self.spec.revision_history_limit
        if excess <= 0:
            return
        for state in sorted(cleanable, key=lambda s: (s.revision, s.created))[:excess]:
            observed = meta.integer(meta.status_of(state.obj).get("observedGeneration"), default=0)
            if (state.current != 0 or meta.integer(meta.spec_of(state.obj).get("replicas"), default=1) != 0
                    or meta.generation_of(state.obj) > observed):
                continue
            self.plan.deletes.append(state.obj)

    def _calculated(self) -> JsonObject:
        return calculate_status(
            generation=self.generation, spec=self.spec, base_status=self.status,
            all_replica_sets=[state.counts() for state in self.all_states],
            new_replica_set=self.new.counts() if self.new is not None else None, now=self.now)

    def sync_status(self) -> None:
        self._finish(self._calculated())

    def sync_rollout_status(self) -> None:
        status = rollout_status(
            name=meta.name_of(self.deployment), generation=self.generation, spec=self.spec, old_status=self.status,
            status=self._calculated(), new_replica_set_name=self.new.name if self.new is not None else None,
            replica_failures=replica_failures(self.new.obj if self.new is not None else None,
                                              [state.obj for state in self.all_states]),
            now=self.now)
        if same_status(self.status, status):
            self.plan.requeue_after = stuck_check_after(self.spec, self.generation, self.status, status, now=self.now)
        self._finish(status)

    def _finish(self, status: JsonObject) -> None:
        self.status = status
        if not same_status(self.original_status, status):
            self.plan.status = status

    def result(self) -> DeploymentPlan:
        if self.plan.status is None and not same_status(self.original_status, self.status):
            self.plan.status = self.status
        self.plan.updates = [state for state in self.states if state.changed()]
        for state in self.plan.updates:
            self.plan.events.extend(PlannedEvent("Normal", "ScalingReplicaSet", m) for m in state.events)
        return self.plan


def plan_deployment(deployment: Mapping[str, Any], replica_sets: Sequence[JsonObject], *,
                    pods_by_owner: PodsByOwner, now: datetime) -> DeploymentPlan:
    """syncDeployment over the owned ReplicaSets (and, for Recreate, their pods by owner uid).

    Raises MalformedObject for a Deployment no sync can act on.
    """
    spec = read_spec(deployment)
    if selector_of(deployment).is_empty():
        return _selecting_everything(deployment)
    sync = DeploymentSync(deployment, replica_sets, spec=spec, now=now)
    if meta.is_deleting(deployment):
        sync.sync_revision(create=False)
        sync.sync_status()
        return sync.result()
    sync.check_paused_conditions()
    if spec.paused or sync.is_scaling_event():
        sync.sync()
    elif spec.is_rolling_update:
        sync.rollout_rolling()
    else:
        sync.rollout_recreate(pods_by_owner)
    return sync.result()


def _selecting_everything(deployment: Mapping[str, Any]) -> DeploymentPlan:
    plan = DeploymentPlan(events=[PlannedEvent(
        "Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")])
    status = meta.status_of(deployment)
    if meta.integer(status.get("observedGeneration"), default=0) < meta.generation_of(deployment):
        plan.status = {**copy.deepcopy(dict(status)), "observedGeneration": meta.generation_of(deployment)}
    return plan
