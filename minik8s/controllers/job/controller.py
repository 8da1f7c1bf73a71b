"""The Job controller: runs a Job's pods to completion and counts each finished pod exactly once.

Kubernetes' pkg/controller/job/job_controller.go (v1.32), in minik8s' pattern: event handlers turn
Job and pod events into keys (pod events batched by `batch_seconds`, as syncJobBatchPeriod does), and
a sync is `assess` (pure) → act (delete the active pods of a finishing Job, or `plan_manage`'s creates
and deletes) → `plan_tracking` (pure) → status writes and finalizer removals, in the order that makes a
crash harmless (tracking.py). A pod whose Job is gone or finished, or that no Job owns, keeps no
tracking finalizer: those pods go through the same queue under `pod:<namespace>/<name>` keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from minik8s.api import meta
from minik8s.api.kinds import JOBS, PODS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import ApiError, NotFound
from minik8s.controllers.common import workload_objects
from minik8s.controllers.common.adoption import claim_dependents
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.expectations import ControllerExpectations
from minik8s.controllers.job import conditions
from minik8s.controllers.job.assess import SyncContext, assess, is_suspended
from minik8s.controllers.job.backoff import BackoffRecord, BackoffSettings
from minik8s.controllers.job.manage import build_pod, plan_manage
from minik8s.controllers.job.pod_facts import count_ready, has_tracking_finalizer
from minik8s.controllers.job.pod_writes import FinalizerExpectations, PodWriter
from minik8s.controllers.job.tracking import clean_uncounted, enact_finished, plan_tracking

log = logging.getLogger(__name__)

JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"
ORPHAN_PREFIX = "pod:"
DEFAULT_BATCH_SECONDS = 1.0
_ZERO_OMITTED = ("active", "succeeded", "failed")  # int32 `omitempty` counters of JobStatus


class JobController:
    name = "job"

    def __init__(self, context: ControllerContext, *, clock: Callable[[], datetime] = partial(datetime.now, UTC),
                 batch_seconds: float = DEFAULT_BATCH_SECONDS) -> None:
        self.client, self.events, self.clock = context.client, context.events, clock
        self.settings = BackoffSettings(base=context.options.job_backoff_base)
        self.batch_seconds = batch_seconds
        self.expectations = ControllerExpectations()
        self.finalizers = FinalizerExpectations()
        self.backoffs: dict[str, BackoffRecord] = {}
        self.writer = PodWriter(self.client, self.events)
        self.jobs = context.informers.informer(JOBS)
        self.pods = context.informers.informer(PODS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.jobs, self.pods],
                                     workers=context.options.workers)
        self.jobs.add_handler(on_add=self._job_changed, on_update=self._job_updated, on_delete=self._job_deleted)
        self.pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated,
                              on_delete=lambda pod: self._pod_deleted(pod, final=True))

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    # -- event handlers ---------------------------------------------------------------------------

    def _job_changed(self, job: JsonObject) -> None:
        self.controller.queue.add(meta.key_of(job))

    def _job_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.uid_of(old) != meta.uid_of(new):
            self._forget(meta.key_of(old))
        self._job_changed(new)
        if conditions.is_finished(new):
            self._enqueue_tracked_pods_of(new)  # a backup: syncs of a finished Job do not run

    def _job_deleted(self, job: JsonObject) -> None:
        self._forget(meta.key_of(job))
        self._enqueue_tracked_pods_of(job)

    def _forget(self, key: str) -> None:
        self.expectations.forget(key)
        self.finalizers.forget(key)
        self.backoffs.pop(key, None)

    def _enqueue_tracked_pods_of(self, job: JsonObject) -> None:
        for pod in self.pods.list():
            if workload_objects.is_controlled_by(pod, job) and has_tracking_finalizer(pod):
                self.controller.queue.add(ORPHAN_PREFIX + meta.key_of(pod))

    def _owner_of(self, pod: Mapping[str, Any]) -> JsonObject | None:
        reference = meta.controller_ref_of(pod)
        if reference is None or reference.get("apiVersion") != JOBS.api_version:
            return None
        return workload_objects.resolve_controller_ref(self.jobs, pod, kind="Job")

    def _sync_soon(self, job: JsonObject) -> None:
        self.controller.queue.add_after(meta.key_of(job), self.batch_seconds)

    def _pod_added(self, pod: JsonObject) -> None:
        if meta.is_deleting(pod):
            self._pod_deleted(pod, final=False)
            return
        if meta.controller_ref_of(pod) is not None:
            owner = self._owner_of(pod)
            if owner is None:
                self._orphan(pod)
                return
            self.expectations.creation_observed(meta.key_of(owner))
            self._sync_soon(owner)
            return
        self._orphan(pod)
        for job in workload_objects.owners_selecting(self.jobs, pod):
            self._sync_soon(job)

    def _pod_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        if meta.is_deleting(new):
            self._pod_deleted(new, final=False)
            return
        removed = not has_tracking_finalizer(new)
        previous_reference, reference = meta.controller_ref_of(old), meta.controller_ref_of(new)
        if previous_reference != reference and previous_reference is not None:
            previous = self._owner_of(old)
            if previous is not None:
                self._observe_and_sync(previous, new, removed)
        if reference is not None:
            owner = self._owner_of(new)
            if owner is None:
                self._orphan(new)
            else:
                self._observe_and_sync(owner, new, removed)
            return
        self._orphan(new)
        if meta.labels_of(old) != meta.labels_of(new) or previous_reference != reference:
            for job in workload_objects.owners_selecting(self.jobs, new):
                self._sync_soon(job)

    def _observe_and_sync(self, job: JsonObject, pod: JsonObject, finalizer_removed: bool) -> None:
        if finalizer_removed:
            self.finalizers.observed(meta.key_of(job), meta.uid_of(pod))
        self._sync_soon(job)

    def _pod_deleted(self, pod: JsonObject, *, final: bool) -> None:
        owner = self._owner_of(pod) if meta.controller_ref_of(pod) is not None else None
        if owner is None or conditions.is_finished(owner):
            self._orphan(pod)
            return
        key = meta.key_of(owner)
        self.expectations.deletion_observed(key, meta.key_of(pod))
        if final or not has_tracking_finalizer(pod):
            self.finalizers.observed(key, meta.uid_of(pod))
        self._sync_soon(owner)

    def _orphan(self, pod: JsonObject) -> None:
        if has_tracking_finalizer(pod):
            self.controller.queue.add(ORPHAN_PREFIX + meta.key_of(pod))

    # -- reconcile --------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        if key.startswith(ORPHAN_PREFIX):
            await self._sync_orphan_pod(key.removeprefix(ORPHAN_PREFIX))
            return
        job = self.jobs.get(key)
        if job is None:
            self._forget(key)
            return
        managed_by = meta.spec_of(job).get("managedBy")
        if managed_by is not None and managed_by != JOB_CONTROLLER_NAME:
            return  # another controller owns this Job
        if conditions.is_finished(job):
            self.backoffs.pop(key, None)
            return
        satisfied = self.expectations.satisfied(key)
        pods = await self._pods_of(job)
        context = assess(job, pods, now=self.clock(), record=self.backoffs.get(key, BackoffRecord()),
                         expected_removals=self.finalizers.expected(key), settings=self.settings)
        failure, suspend_changed, active = await self._act(key, context, satisfied)
        status = context.status
        needs_flush = suspend_changed or (active, context.ready, context.terminating) != (
            int(status.get("active") or 0), status.get("ready"), status.get("terminating"))
        status.update(active=active, ready=context.ready, terminating=context.terminating)
        await self._track(key, context, needs_flush)
        if context.requeue_after is not None:
            self.controller.queue.add_after(key, context.requeue_after)
        if failure is not None:
            raise failure

    async def _act(self, key: str, context: SyncContext, satisfied: bool) -> tuple[ApiError | None, bool, int]:
        """Delete the active pods of a finishing Job, or manage the pods of a running one."""
        active = len(context.active)
        if context.finished_condition is not None:
            deleted, failure = await self.writer.delete(context.job, context.active, drop_finalizer=False)
            if len(deleted) != active or not satisfied:
                context.finished_condition = None  # not every pod is accounted for yet
            context.terminating += len(deleted)
            context.ready -= count_ready(deleted)
            return failure, False, active - len(deleted)
        manage = satisfied and not meta.is_deleting(context.job)
        failure = None
        if manage:
            active, failure = await self._manage(key, context)
        completions = context.spec.get("completions")
        done = context.succeeded > 0 if completions is None else context.succeeded >= int(completions)
        if done and active == 0:
            context.finished_condition = conditions.new_condition(
                "SuccessCriteriaMet", "True", conditions.COMPLETIONS_REACHED, conditions.COMPLETIONS_REACHED_MESSAGE,
                context.now)
            return failure, False, active
        return failure, manage and await self._suspend_condition(context), active

    async def _manage(self, key: str, context: SyncContext) -> tuple[int, ApiError | None]:
        plan = plan_manage(context)
        active = len(context.active)
        if plan.requeue_after is not None:
            self.controller.queue.add_after(key, plan.requeue_after)
        if plan.delete:
            self.expectations.expect_deletions(key, [meta.key_of(pod) for pod in plan.delete])
            deleted, failure = await self.writer.delete(context.job, plan.delete, drop_finalizer=True)
            for pod in plan.delete:
                if all(pod is not gone for gone in deleted):
                    self.expectations.deletion_observed(key, meta.key_of(pod))
            context.terminating += len(deleted)
            context.ready -= count_ready(deleted)
            return active - len(deleted), failure
        if not plan.create:
            return active, None
        reference = workload_objects.controller_reference(context.job, api_version=JOBS.api_version, kind="Job")
        pods = [build_pod(context.job, index, reference,
                          context.delayed_deletion.get(index) if index is not None else None) for index in plan.create]
        self.expectations.expect_creations(key, len(pods))
        log.info("job %s: too few pods, creating %d", key, len(pods))
        created, failure = await self.writer.create(context.job, pods)
        self.expectations.creation_observed(key, len(pods) - created)  # never to be seen
        return active + created, failure

    async def _suspend_condition(self, context: SyncContext) -> bool:
        condition_list = context.status.setdefault("conditions", [])
        if is_suspended(context.job):
            changed = conditions.ensure_status(condition_list, "Suspended", "True", "JobSuspended", "Job suspended",
                                               context.now)
            if changed:
                await self.events.record(context.job, "Normal", "Suspended", "Job suspended")
            return changed
        changed = conditions.ensure_status(condition_list, "Suspended", "False", "JobResumed", "Job resumed",
                                           context.now)
        if changed:
            await self.events.record(context.job, "Normal", "Resumed", "Job resumed")
            context.status["startTime"] = meta.format_time(context.now)  # the deadline counts from the resume
        return changed

    async def _track(self, key: str, context: SyncContext, needs_flush: bool) -> None:
        """trackJobStatusAndRemoveFinalizers: count in status, drop finalizers, count, then maybe finish."""
        plan = plan_tracking(context, needs_flush)
        if plan.needs_flush:
            await self._write_status(context)
            self.backoffs[key] = context.backoff
            plan.needs_flush = False
        failure: ApiError | None = None
        if plan.remove_finalizers:
            uids = [meta.uid_of(pod) for pod in plan.remove_finalizers]
            self.finalizers.expect(key, uids)
            done, failure = await self.writer.remove_finalizers(plan.remove_finalizers)
            for uid in uids:
                if uid not in done:
                    self.finalizers.observed(key, uid)  # no update will come for it
            plan.uids_with_finalizer -= done
        if clean_uncounted(context.status, plan.uids_with_finalizer):
            plan.needs_flush = True
        if failure is not None:
            if plan.needs_flush:
                await self._write_status(context)
            raise failure
        finished = not plan.reached_max and enact_finished(context, plan.final_condition)
        if finished or plan.needs_flush:
            await self._write_status(context)
        if finished and plan.final_condition is not None:
            await self._record_finished(context.job, plan.final_condition)

    async def _write_status(self, context: SyncContext) -> None:
        job = context.job
        for counter in _ZERO_OMITTED:
            if job["status"].get(counter) == 0:
                del job["status"][counter]
        updated = await self.client.update_status(JOBS, job)
        updated.setdefault("status", {}).setdefault("uncountedTerminatedPods", {})
        context.job = updated

    async def _record_finished(self, job: JsonObject, final: Mapping[str, Any]) -> None:
        if final.get("type") == "Complete":
            completions = meta.spec_of(job).get("completions")
            if isinstance(completions, int) and int(meta.status_of(job).get("succeeded") or 0) > completions:
                await self.events.record(job, "Warning", "TooManySucceededPods",
                                         "Too many succeeded pods running after completion count reached")
            await self.events.record(job, "Normal", "Completed", "Job completed")
        else:
            await self.events.record(job, "Warning", str(final.get("reason") or ""), str(final.get("message") or ""))

    async def _pods_of(self, job: JsonObject) -> list[JsonObject]:
        """getPodsForJob: the pods the Job's selector matches or it controls, claimed (adopted or released)."""
        try:
            selector = workload_objects.selector_of(job)
        except workload_objects.MalformedObject as error:
            log.warning("job %s: %s", meta.key_of(job), error)
            return []
        namespace = meta.namespace_of(job)
        candidates = [pod for pod in self.pods.list() if meta.namespace_of(pod) == namespace]
        return await claim_dependents(self.client, job, selector, candidates, owner_kind=JOBS, dependent_kind=PODS)

    async def _sync_orphan_pod(self, pod_key: str) -> None:
        """syncOrphanPod: drop the finalizer of a pod no unfinished batch/v1 Job of ours controls."""
        pod = self.pods.get(pod_key)
        if pod is None or not has_tracking_finalizer(pod):
            return
        reference = meta.controller_ref_of(pod)
        if reference is not None:
            if (reference.get("kind"), reference.get("apiVersion")) != ("Job", JOBS.api_version):
                return  # someone else's pod
            owner = self._owner_of(pod)
            if owner is not None:
                managed_by = meta.spec_of(owner).get("managedBy")
                if (managed_by is not None and managed_by != JOB_CONTROLLER_NAME) or not conditions.is_finished(owner):
                    return
        try:
            await self.writer.remove_finalizer(pod)
        except NotFound:
            return
