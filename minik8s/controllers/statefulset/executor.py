"""Carrying out a StatefulSet plan: claims before pods, one work after another, stopping at the first failure.

The plan (plan.py) decides; this module writes, as Kubernetes' StatefulPodControl does, and records
its Events on the set in Kubernetes' words (`create Pod web-0 in StatefulSet web successful`,
`create Claim www-web-0 Pod web-0 in StatefulSet web success`, `delete Pod web-2 in StatefulSet web
successful`, their Failed… twins). A pod is created only after its claims exist; once it exists its
claims get the owners the retention policy wants (that needs the new pod's uid, so it is decided
here, with the plan's rules). A phase's works run one by one, or — Parallel pod management — in
slow-start batches of 1, 2, 4, … as Kubernetes' slowStartBatch: a batch with a failure ends the sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minik8s.api.kinds import PERSISTENT_VOLUME_CLAIMS, PODS
from minik8s.api.meta import JsonObject, name_of, namespace_of
from minik8s.client.api import ApiClient
from minik8s.client.errors import AlreadyExists, ApiError, NotFound
from minik8s.client.events import EventRecorder
from minik8s.controllers.statefulset import claims as claim_rules
from minik8s.controllers.statefulset.claims import OwnerUpdate
from minik8s.controllers.statefulset.plan import (
    Action,
    CreateClaims,
    CreatePod,
    DeletePod,
    Phase,
    SetClaimOwners,
    UpdatePod,
    Work,
)

log = logging.getLogger(__name__)

MAX_BATCH = 500  # Kubernetes' MaxBatchSize: requests in flight at once under Parallel


class StepFailed(Exception):
    """A write failed; the sync stops here (the event saying why is recorded)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class PlanExecutor:
    """Writes for one sync of one StatefulSet; `claims` grows with the claims it creates."""

    client: ApiClient
    events: EventRecorder
    stateful_set: JsonObject
    claims: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return namespace_of(self.stateful_set) or "default"

    async def run(self, phases: Iterable[Phase]) -> ApiError | None:
        """Every phase in order; the error that stopped them, if one did."""
        try:
            for phase in phases:
                if phase.burst:
                    await self._slow_start(phase.works)
                else:
                    for work in phase.works:
                        await self._work(work)
        except StepFailed as failed:
            return failed.error
        return None

    async def _slow_start(self, works: list[Work]) -> None:
        position, size = 0, 1
        while position < len(works):
            batch = works[position:position + size]
            results = await asyncio.gather(*(self._work(work) for work in batch), return_exceptions=True)
            failures = [result for result in results if isinstance(result, BaseException)]
            for failure in failures:
                if not isinstance(failure, StepFailed):
                    raise failure
            if failures:
                raise failures[0]
            position += len(batch)
            size = min(size * 2, MAX_BATCH)

    async def _work(self, work: Work) -> None:
        for action in work:
            await self._act(action)

    async def _act(self, action: Action) -> None:
        if isinstance(action, CreatePod):
            await self._create_pod(action)
        elif isinstance(action, CreateClaims):
            await self._create_claims(action.pod, action.claims)
            await self._set_owners(action.owners)
            await self._set_owners(self._new_claim_owners(action.pod, action.claims))
        elif isinstance(action, UpdatePod):
            await self._update_pod(action)
        elif isinstance(action, SetClaimOwners):
            await self._set_owners(action.owners)
        elif isinstance(action, DeletePod):
            await self._delete_pod(action.pod_name)

    # -- pods -----------------------------------------------------------------------------------

    async def _create_pod(self, action: CreatePod) -> None:
        pod_name = name_of(action.pod)
        try:
            await self._create_claims(action.pod, action.claims)
        except StepFailed as failed:
            await self._pod_event("create", pod_name, failed.error)
            raise
        try:
            created = await self.client.create(PODS, action.pod, namespace=self.namespace)
        except AlreadyExists as error:
            raise StepFailed(error) from None  # the cache is behind: the pod's event brings the next sync
        except ApiError as error:
            await self._pod_event("create", pod_name, error)
            raise StepFailed(error) from None
        try:
            await self._set_owners(claim_rules.owner_updates(self.stateful_set, created, self.claims))
        except StepFailed as failed:
            await self._pod_event("update", pod_name, failed.error)
            raise
        await self._pod_event("create", pod_name, None)

    async def _update_pod(self, action: UpdatePod) -> None:
        try:
            if action.pod is not None:
                await self._create_claims(action.pod, action.claims)
            await self._set_owners(action.owners)
            if action.pod is not None:
                await self.client.update(PODS, action.pod)
        except StepFailed as failed:
            await self._pod_event("update", action.pod_name, failed.error)
            raise
        except ApiError as error:
            await self._pod_event("update", action.pod_name, error)
            raise StepFailed(error) from None
        await self._pod_event("update", action.pod_name, None)

    async def _delete_pod(self, pod_name: str) -> None:
        try:
            await self.client.delete(PODS, pod_name, namespace=self.namespace)
        except NotFound:
            return  # gone already: what was wanted
        except ApiError as error:
            await self._pod_event("delete", pod_name, error)
            raise StepFailed(error) from None
        await self._pod_event("delete", pod_name, None)

    async def _pod_event(self, verb: str, pod_name: str, error: ApiError | None) -> None:
        """recordPodEvent."""
        set_name = name_of(self.stateful_set)
        if error is None:
            await self.events.record(self.stateful_set, "Normal", f"Successful{verb.title()}",
                                     f"{verb} Pod {pod_name} in StatefulSet {set_name} successful")
        else:
            await self.events.record(self.stateful_set, "Warning", f"Failed{verb.title()}",
                                     f"{verb} Pod {pod_name} in StatefulSet {set_name} failed error: {error}")

    # -- claims ---------------------------------------------------------------------------------

    async def _create_claims(self, pod: Mapping[str, Any], claims: Iterable[JsonObject]) -> None:
        """createPersistentVolumeClaims: each missing claim, or the error that stops the pod."""
        set_name, pod_name = name_of(self.stateful_set), name_of(pod)
        for claim in claims:
            current = self.claims.get(name_of(claim))
            if current is not None and (current.get("metadata") or {}).get("deletionTimestamp"):
                raise StepFailed(ApiError(409, "Conflict", f"pvc {name_of(claim)} is being deleted"))
            if current is not None:
                continue
            try:
                self.claims[name_of(claim)] = await self.client.create(PERSISTENT_VOLUME_CLAIMS, claim,
                                                                       namespace=self.namespace)
            except ApiError as error:
                if not isinstance(error, AlreadyExists):
                    await self.events.record(
                        self.stateful_set, "Warning", "FailedCreate",
                        f"create Claim {name_of(claim)} for Pod {pod_name} in StatefulSet {set_name} failed "
                        f"error: {error}")
                raise StepFailed(ApiError(error.code, error.reason,
                                          f"failed to create PVC {name_of(claim)}: {error}")) from None
            await self.events.record(self.stateful_set, "Normal", "SuccessfulCreate",
                                     f"create Claim {name_of(claim)} Pod {pod_name} in StatefulSet {set_name} success")

    def _new_claim_owners(self, pod: Mapping[str, Any], created: Iterable[JsonObject]) -> list[OwnerUpdate]:
        names = {name_of(claim) for claim in created}
        return [update for update in claim_rules.owner_updates(self.stateful_set, pod, self.claims)
                if update.claim_name in names]

    async def _set_owners(self, updates: Iterable[OwnerUpdate]) -> None:
        """UpdatePodClaimForRetentionPolicy's writes, each guarded by the resourceVersion it was judged on."""
        for update in updates:
            if update.conflicting_controller:
                await self.events.record(
                    self.stateful_set, "Warning", "ConflictingController",
                    f"PersistentVolumeClaim {update.claim_name} has a conflicting OwnerReference that acts as a "
                    "manging controller, the retention policy is ignored for this claim")
            patch: JsonObject = {"metadata": {"ownerReferences": [dict(r) for r in update.owner_references]}}
            if update.resource_version:
                patch["metadata"]["resourceVersion"] = update.resource_version
            try:
                self.claims[update.claim_name] = await self.client.patch(
                    PERSISTENT_VOLUME_CLAIMS, update.claim_name, patch, namespace=self.namespace)
            except NotFound:
                log.debug("claim %s/%s is gone; its owners are moot", self.namespace, update.claim_name)
            except ApiError as error:
                raise StepFailed(ApiError(error.code, error.reason, f"could not update claim {update.claim_name} "
                                          f"for delete policy ownerRefs: {error}")) from None
