"""The Job controller's writes to pods: create in slow-start batches, delete, drop the tracking finalizer.

Creating, deleting and un-finalizing pods is the same for every phase of a Job sync, and each write
must tell the sync what happened (how many creates failed, which finalizers are gone) so that the
expectations and the counters stay right. FinalizerExpectations remembers which pods a sync asked to
lose the finalizer, so the next sync does not count them again before the informer shows the change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import PODS
from minik8s.api.meta import JsonObject
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError, NotFound
from minik8s.client.events import EventRecorder
from minik8s.controllers.common.errors import is_namespace_terminating
from minik8s.controllers.job.pod_facts import TRACKING_FINALIZER, has_tracking_finalizer
from minik8s.controllers.replicaset.plan import slow_start_batches

log = logging.getLogger(__name__)

REMOVE_FINALIZER_PATCH: JsonObject = {"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}}


class FinalizerExpectations:
    """Per Job key, the pod uids whose finalizer removal was asked for and not yet seen."""

    def __init__(self) -> None:
        self._expected: dict[str, set[str]] = {}

    def expect(self, key: str, uids: Sequence[str]) -> None:
        self._expected.setdefault(key, set()).update(uids)

    def observed(self, key: str, uid: str) -> None:
        pending = self._expected.get(key)
        if pending is not None:
            pending.discard(uid)
            if not pending:
                del self._expected[key]

    def expected(self, key: str) -> frozenset[str]:
        return frozenset(self._expected.get(key, ()))

    def forget(self, key: str) -> None:
        self._expected.pop(key, None)


class PodWriter:
    def __init__(self, client: ApiClient, events: EventRecorder) -> None:
        self.client, self.events = client, events

    async def create(self, job: JsonObject, pods: Sequence[JsonObject]) -> tuple[int, ApiError | None]:
        """Create in batches of 1, 2, 4, ...; stop at the first batch with a failure. Returns (created, error)."""
        created, failure, start = 0, None, 0
        for size in slow_start_batches(len(pods)):
            results = await asyncio.gather(*(self._create_one(job, pod) for pod in pods[start:start + size]))
            start += size
            errors = [result for result in results if isinstance(result, ApiError)]
            created += sum(1 for result in results if result is True)
            if errors:
                failure = errors[0]
                break
        return created, failure

    async def _create_one(self, job: JsonObject, pod: JsonObject) -> bool | ApiError:
        try:
            made = await self.client.create(PODS, pod, namespace=meta.namespace_of(job))
        except ApiError as error:
            if is_namespace_terminating(error):
                return False
            await self.events.record(job, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        await self.events.record(job, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(made)}")
        return True

    async def delete(self, job: JsonObject, pods: Sequence[JsonObject], *,
                     drop_finalizer: bool) -> tuple[list[JsonObject], ApiError | None]:
        """DELETE each pod (after dropping its finalizer when asked); returns the deleted pods and an error."""
        results = await asyncio.gather(*(self._delete_one(job, pod, drop_finalizer) for pod in pods))
        deleted = [pod for pod, result in zip(pods, results, strict=True) if result is None]
        errors = [result for result in results if result is not None]
        return deleted, errors[0] if errors else None

    async def _delete_one(self, job: JsonObject, pod: JsonObject, drop_finalizer: bool) -> ApiError | None:
        try:
            if drop_finalizer and has_tracking_finalizer(pod):
                await self.remove_finalizer(pod)
            await self.client.delete(PODS, meta.name_of(pod), namespace=meta.namespace_of(pod),
                                     preconditions_uid=meta.uid_of(pod) or None)
        except NotFound:
            return None
        except ApiError as error:
            await self.events.record(job, "Warning", "FailedDelete", f"Error deleting: {error}")
            return error
        await self.events.record(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}")
        return None

    async def remove_finalizer(self, pod: Mapping[str, Any]) -> None:
        await self.client.patch(PODS, meta.name_of(pod), REMOVE_FINALIZER_PATCH, namespace=meta.namespace_of(pod),
                                patch_type="strategic")

    async def remove_finalizers(self, pods: Sequence[JsonObject]) -> tuple[set[str], ApiError | None]:
        """Drop the finalizer of each pod; returns the uids that no longer carry it (gone counts) and an error."""
        async def one(pod: JsonObject) -> ApiError | None:
            try:
                await self.remove_finalizer(pod)
            except NotFound:
                return None
            except ApiError as error:
                log.info("removing the tracking finalizer of %s: %s", meta.key_of(pod), error)
                return error
            return None

        results = await asyncio.gather(*(one(pod) for pod in pods))
        done = {meta.uid_of(pod) for pod, result in zip(pods, results, strict=True) if result is None}
        errors = [result for result in results if result is not None]
        return done, errors[0] if errors else None
