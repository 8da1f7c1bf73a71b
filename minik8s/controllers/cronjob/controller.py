"""The CronJob controller: starts a Job at each scheduled time and keeps the CronJob's history.

Kubernetes' cronjob controller v2 (v1.32): each CronJob is synced when it or one of its Jobs changes,
and requeued for its next firing. A sync confirms (with a GET) that active Jobs missing from the cache
are really gone, trims the history, then carries out `plan_run` — Replace deletes the running Jobs,
the new Job is created (AlreadyExists means this run was made before a crash: it is recorded, not
repeated) — and writes the status once. Time comes from `clock` (the controller-manager's clock; tests
pass a fake one and re-queue after moving it), schedules without a time zone run in `default_zone`
(the zone of the controller-manager's machine: TZ, else /etc/localtime, else UTC).
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from minik8s.api import meta
from minik8s.api.kinds import CRON_JOBS, JOBS
from minik8s.api.meta import JsonObject
from minik8s.client.controller import Controller
from minik8s.client.errors import AlreadyExists, ApiError, NotFound
from minik8s.controllers.common import workload_objects
from minik8s.controllers.common.context import ControllerContext
from minik8s.controllers.common.errors import is_namespace_terminating
from minik8s.controllers.common.events import PlannedEvent, record_planned
from minik8s.controllers.cronjob.plan import (
    RunPlan,
    account_children,
    history_to_delete,
    job_reference,
    plan_run,
    schedule_and_zone,
)
from minik8s.controllers.cronjob.schedule import requeue_after

log = logging.getLogger(__name__)


def local_zone() -> tzinfo:
    """The machine's time zone, as Go's time.Local is found: $TZ, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ", "").removeprefix(":")
    try:
        if name:
            return ZoneInfo(name)
        with Path("/etc/localtime").open("rb") as zone_file:
            return ZoneInfo.from_file(zone_file)
    except (OSError, ValueError):
        return UTC


class CronJobController:
    name = "cronjob"

    def __init__(self, context: ControllerContext, *, clock: Callable[[], datetime] = partial(datetime.now, UTC),
                 zone: tzinfo | None = None) -> None:
        self.client, self.events, self.clock = context.client, context.events, clock
        self.zone = zone or local_zone()
        self.cron_jobs = context.informers.informer(CRON_JOBS)
        self.jobs = context.informers.informer(JOBS)
        self.controller = Controller(name=self.name, reconcile=self.reconcile, informers=[self.cron_jobs, self.jobs],
                                     workers=context.options.workers)
        self.cron_jobs.add_handler(on_add=self._enqueue, on_update=self._cron_job_updated)
        self.jobs.add_handler(on_add=self._job_changed, on_update=self._job_updated, on_delete=self._job_changed)

    async def run(self) -> None:
        await self.controller.run(start_informers=False)

    def resync(self) -> None:
        """Queue every CronJob now (what the requeue timers do; a test moving a fake clock calls it)."""
        for cron_job in self.cron_jobs.list():
            self._enqueue(cron_job)

    # -- event handlers ---------------------------------------------------------------------------

    def _enqueue(self, cron_job: Mapping[str, Any]) -> None:
        self.controller.queue.add(meta.key_of(cron_job))

    def _cron_job_updated(self, old: JsonObject, new: JsonObject) -> None:
        """A changed schedule or zone is looked at when it next fires; any other change at once."""
        old_spec, new_spec = meta.spec_of(old), meta.spec_of(new)
        if (old_spec.get("schedule"), old_spec.get("timeZone")) == (new_spec.get("schedule"), new_spec.get("timeZone")):
            self._enqueue(new)
            return
        events: list[PlannedEvent] = []
        parsed = schedule_and_zone(new, self.zone, events)
        if parsed is None:
            self._enqueue(new)  # the sync reports why
            return
        delay = requeue_after(new, self.clock(), parsed[0], parsed[1])
        self.controller.queue.add_after(meta.key_of(new), max(delay, 0.0))

    def _owner_of(self, job: Mapping[str, Any]) -> JsonObject | None:
        return workload_objects.resolve_controller_ref(self.cron_jobs, job, kind="CronJob")

    def _job_changed(self, job: JsonObject) -> None:
        owner = self._owner_of(job)
        if owner is not None:
            self._enqueue(owner)

    def _job_updated(self, old: JsonObject, new: JsonObject) -> None:
        if meta.resource_version_of(old) == meta.resource_version_of(new):
            return
        if meta.controller_ref_of(old) != meta.controller_ref_of(new):
            self._job_changed(old)
        self._job_changed(new)

    # -- reconcile --------------------------------------------------------------------------------

    def _children(self, cron_job: Mapping[str, Any]) -> list[JsonObject]:
        """getJobsToBeReconciled: the namespace's Jobs whose controller is this CronJob."""
        namespace, name = meta.namespace_of(cron_job), meta.name_of(cron_job)
        return [job for job in self.jobs.list() if meta.namespace_of(job) == namespace
                and (meta.controller_ref_of(job) or {}).get("kind") == "CronJob"
                and (meta.controller_ref_of(job) or {}).get("name") == name]

    async def reconcile(self, key: str) -> None:
        cached = self.cron_jobs.get(key)
        if cached is None:
            return
        cron_job = copy.deepcopy(cached)
        children = self._children(cron_job)
        if self._has_unexpected(cron_job, children):
            cron_job = await self.client.get(CRON_JOBS, meta.name_of(cron_job), namespace=meta.namespace_of(cron_job))
        missing = await self._confirm_missing(cron_job, children)
        changed, events = account_children(cron_job, children, missing)
        changed = await self._trim_history(cron_job, children) or changed
        now = self.clock()
        plan = plan_run(cron_job, now, self.zone)
        try:
            changed = await self._start_run(cron_job, plan) or changed
        finally:
            await record_planned(self.events, cron_job, [*events, *plan.events])
            if changed:
                await self.client.update_status(CRON_JOBS, cron_job)
        if plan.requeue_after is not None:
            self.controller.queue.add_after(key, max(plan.requeue_after, 0.0))

    @staticmethod
    def _has_unexpected(cron_job: JsonObject, children: list[JsonObject]) -> bool:
        """A running child not in the cached active list: the cache may be older than our last status write."""
        active = {str(ref.get("uid")) for ref in meta.status_of(cron_job).get("active") or [] if isinstance(ref, dict)}
        return any(meta.uid_of(job) not in active and not _finished(job) for job in children)

    async def _confirm_missing(self, cron_job: JsonObject, children: list[JsonObject]) -> set[str]:
        """The active references whose Job the apiserver (not just the cache) does not have."""
        known = {meta.uid_of(job) for job in children}
        missing: set[str] = set()
        for ref in meta.status_of(cron_job).get("active") or []:
            if not isinstance(ref, dict) or str(ref.get("uid")) in known:
                continue
            try:
                await self.client.get(JOBS, str(ref.get("name")), namespace=str(ref.get("namespace") or ""))
            except NotFound:
                missing.add(str(ref.get("uid")))
        return missing

    async def _trim_history(self, cron_job: JsonObject, children: list[JsonObject]) -> bool:
        changed = False
        for job in history_to_delete(cron_job, children):
            changed = await self._delete_job(cron_job, job) or changed
        return changed

    async def _delete_job(self, cron_job: JsonObject, job: Mapping[str, Any]) -> bool:
        """deleteJob: the Job (its pods follow, Background) and its active reference."""
        try:
            await self.client.delete(JOBS, meta.name_of(job), namespace=meta.namespace_of(job),
                                     propagation_policy="Background")
        except NotFound:
            pass
        except ApiError as error:
            await self.events.record(cron_job, "Warning", "FailedDelete", f"Deleted job: {error}")
            return False
        status = cron_job.setdefault("status", {})
        remaining = [ref for ref in status.get("active") or [] if ref.get("uid") != meta.uid_of(job)]
        if remaining:
            status["active"] = remaining
        else:
            status.pop("active", None)
        await self.events.record(cron_job, "Normal", "SuccessfulDelete", f"Deleted job {meta.name_of(job)}")
        return True

    async def _start_run(self, cron_job: JsonObject, plan: RunPlan) -> bool:
        """Replace the running Jobs if asked, create the run's Job, record it as active."""
        if plan.job is None or plan.scheduled is None:
            return False
        for ref in plan.replace:
            job = await self.client.get(JOBS, str(ref.get("name")), namespace=str(ref.get("namespace") or ""))
            if not await self._delete_job(cron_job, job):
                raise RuntimeError(f"could not replace job {ref.get('namespace')}/{ref.get('name')}")
        try:
            created = await self.client.create(JOBS, plan.job, namespace=meta.namespace_of(cron_job))
        except AlreadyExists:
            created = await self.client.get(JOBS, meta.name_of(plan.job), namespace=meta.namespace_of(cron_job))
            active = meta.status_of(cron_job).get("active") or []
            if not workload_objects.is_controlled_by(created, cron_job) or any(
                    ref.get("uid") == meta.uid_of(created) for ref in active):
                return bool(plan.replace)
            log.info("cronjob %s: job %s already exists", meta.key_of(cron_job), meta.name_of(created))
        except ApiError as error:
            if not is_namespace_terminating(error):
                await self.events.record(cron_job, "Warning", "FailedCreate", f"Error creating job: {error}")
            raise
        else:
            await self.events.record(cron_job, "Normal", "SuccessfulCreate", f"Created job {meta.name_of(created)}")
        status = cron_job.setdefault("status", {})
        status["active"] = [*(status.get("active") or []), job_reference(created)]
        status["lastScheduleTime"] = meta.format_time(plan.scheduled)
        return True


def _finished(job: Mapping[str, Any]) -> bool:
    return any(isinstance(c, Mapping) and c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in meta.status_of(job).get("conditions") or [])
