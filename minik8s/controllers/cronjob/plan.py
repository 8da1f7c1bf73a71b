"""The CronJob controller's decisions, pure: its Jobs' bookkeeping, history, and whether to start a run.

Kubernetes' cronjob_controllerv2.go (v1.32), split where it calls the API: `account_children` keeps
`status.active` true to the Jobs that exist (a finished Job leaves it; a missing one too, once the
caller confirmed it is gone) and `lastSuccessfulTime` up to date; `history_to_delete` picks the oldest
finished Jobs beyond successful/failedJobsHistoryLimit; `plan_run` decides the next run — nothing
while suspended, a warning for an unknown time zone or bad schedule, a MissSchedule when the run is
later than startingDeadlineSeconds, JobAlreadyActive under Forbid, the active Jobs to delete under
Replace — and builds the Job, named for its scheduled minute.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from minik8s.api import meta
from minik8s.api.cron_schedule import CronSchedule, ScheduleError, parse_schedule
from minik8s.api.cronjob_validation import load_zone
from minik8s.api.meta import JsonObject
from minik8s.controllers.common.events import PlannedEvent
from minik8s.controllers.common.workload_objects import controller_reference
from minik8s.controllers.cronjob.schedule import (
    MANY_MISSED,
    InvalidSchedule,
    job_name,
    most_recent_schedule,
    requeue_after,
)

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED_MESSAGE = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"


def finished_type(job: Mapping[str, Any]) -> str | None:
    """getFinishedStatus: Complete or Failed when that condition is True."""
    for condition in meta.status_of(job).get("conditions") or []:
        if (isinstance(condition, Mapping) and condition.get("type") in ("Complete", "Failed")
                and condition.get("status") == "True"):
            return str(condition["type"])
    return None


def job_reference(job: Mapping[str, Any]) -> JsonObject:
    """The ObjectReference `status.active` holds."""
    return {"kind": "Job", "namespace": meta.namespace_of(job), "name": meta.name_of(job), "uid": meta.uid_of(job),
            "apiVersion": "batch/v1", "resourceVersion": meta.resource_version_of(job)}


def account_children(cron_job: JsonObject, jobs: Sequence[Mapping[str, Any]],
                     missing: set[str]) -> tuple[bool, list[PlannedEvent]]:
    """Edit `cron_job`'s status for its Jobs; `missing` are active uids confirmed gone. (changed, events)."""
    status = cron_job.setdefault("status", {})
    active = [ref for ref in status.get("active") or [] if isinstance(ref, dict)]
    active_uids = {str(ref.get("uid")) for ref in active}
    changed, events = False, []
    for job in jobs:
        uid, finished = meta.uid_of(job), finished_type(job)
        if uid not in active_uids and finished is None:
            events.append(PlannedEvent("Warning", "UnexpectedJob",
                                       f"Saw a job that the controller did not create or forgot: {meta.name_of(job)}"))
        elif uid in active_uids and finished is not None:
            active = [ref for ref in active if ref.get("uid") != uid]
            events.append(PlannedEvent("Normal", "SawCompletedJob",
                                       f"Saw completed job: {meta.name_of(job)}, status: {finished}"))
            changed = True
        elif finished == "Complete":
            completed = meta.status_of(job).get("completionTime")
            last = meta.parse_time(status.get("lastSuccessfulTime"))
            moment = meta.parse_time(completed)
            if moment is not None and (last is None or moment > last):
                status["lastSuccessfulTime"] = completed
                changed = True
    for ref in [ref for ref in active if str(ref.get("uid")) in missing]:
        events.append(PlannedEvent("Normal", "MissingJob", f"Active job went missing: {ref.get('name')}"))
        active.remove(ref)
        changed = True
    status["active"] = active
    if not active:
        status.pop("active", None)
    return changed, events


def history_to_delete(cron_job: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """cleanupFinishedJobs: the oldest (by start time, then name) finished Jobs over each history limit."""
    spec = meta.spec_of(cron_job)
    doomed: list[Mapping[str, Any]] = []
    for kind, limit_field in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(limit_field)
        if not isinstance(limit, int):
            continue
        finished = sorted((job for job in jobs if finished_type(job) == kind), key=_start_order)
        doomed.extend(finished[:max(0, len(finished) - limit)])
    return doomed


def _start_order(job: Mapping[str, Any]) -> tuple[bool, datetime, str]:
    started = meta.parse_time(meta.status_of(job).get("startTime"))
    return started is None, started or meta.EPOCH, meta.name_of(job)


@dataclass
class RunPlan:
    """What a sync does about the next run."""

    events: list[PlannedEvent] = field(default_factory=list)
    requeue_after: float | None = None
    scheduled: datetime | None = None  # start a run for this time
    replace: list[JsonObject] = field(default_factory=list)  # active references to delete first (Replace)
    job: JsonObject | None = None


def schedule_and_zone(cron_job: Mapping[str, Any], default_zone: tzinfo,
                      events: list[PlannedEvent]) -> tuple[CronSchedule, tzinfo] | None:
    """The schedule and its zone, or None (with a warning Event) when they cannot be used."""
    spec = meta.spec_of(cron_job)
    zone: tzinfo = default_zone
    time_zone = spec.get("timeZone")
    if isinstance(time_zone, str):
        loaded = load_zone(time_zone)
        if loaded is None:
            events.append(PlannedEvent("Warning", "UnknownTimeZone",
                                       f'invalid timeZone: "{time_zone}": unknown time zone {time_zone}'))
            return None
        zone = loaded
    text = str(spec.get("schedule") or "")
    if "TZ" in text:  # a CronJob stored before TZ= was refused: CRON_TZ=<zone> or TZ=<zone>, then the schedule
        events.append(PlannedEvent("Warning", "UnsupportedSchedule",
                                   f"CRON_TZ or TZ used in schedule \"{text}\" is not officially supported, see "
                                   "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"))
        prefix, _, text = text.partition(" ")
        zone = load_zone(prefix.split("=", 1)[-1]) or zone
    try:
        return parse_schedule(text), zone
    except ScheduleError as error:
        events.append(PlannedEvent("Warning", "UnparseableSchedule", f'unparseable schedule: "{text}" : {error}'))
        return None


def plan_run(cron_job: Mapping[str, Any], now: datetime, default_zone: tzinfo) -> RunPlan:
    plan = RunPlan()
    if meta.is_deleting(cron_job) or meta.spec_of(cron_job).get("suspend") is True:
        return plan
    parsed = schedule_and_zone(cron_job, default_zone, plan.events)
    if parsed is None:
        return plan
    schedule, zone = parsed
    try:
        recent = most_recent_schedule(cron_job, now, schedule, zone, with_deadline=True)
    except InvalidSchedule as error:
        plan.events.append(PlannedEvent("Warning", "InvalidSchedule",
                                        f"invalid schedule: {meta.spec_of(cron_job).get('schedule')} : {error}"))
        return plan
    if recent.missed == MANY_MISSED and recent.most_recent is not None:
        plan.events.append(PlannedEvent("Warning", "TooManyMissedTimes", TOO_MANY_MISSED_MESSAGE))
    plan.requeue_after = requeue_after(cron_job, now, schedule, zone)
    scheduled = recent.most_recent
    if scheduled is None:
        return plan
    _decide(cron_job, now, scheduled, plan)
    return plan


def _decide(cron_job: Mapping[str, Any], now: datetime, scheduled: datetime, plan: RunPlan) -> None:
    spec, status = meta.spec_of(cron_job), meta.status_of(cron_job)
    deadline = spec.get("startingDeadlineSeconds")
    if isinstance(deadline, int) and (now - scheduled).total_seconds() > deadline:
        when = scheduled.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        plan.events.append(PlannedEvent("Warning", "MissSchedule", f"Missed scheduled time to start a job: {when}"))
        return
    active = [ref for ref in status.get("active") or [] if isinstance(ref, dict)]
    name = job_name(cron_job, scheduled)
    if any(ref.get("name") == name for ref in active) or meta.parse_time(status.get("lastScheduleTime")) == scheduled:
        return  # this time was processed already
    if spec.get("concurrencyPolicy") == "Forbid" and active:
        plan.events.append(PlannedEvent("Normal", "JobAlreadyActive", "Not starting job because prior execution is "
                                                                      "running and concurrency policy is Forbid"))
        return
    if spec.get("concurrencyPolicy") == "Replace":
        plan.replace = [copy.deepcopy(ref) for ref in active]
    plan.scheduled = scheduled
    plan.job = job_from_template(cron_job, scheduled)


def job_from_template(cron_job: Mapping[str, Any], scheduled: datetime) -> JsonObject:
    """getJobFromTemplate2: the template's Job, named for its minute, annotated with its scheduled time."""
    template = meta.spec_of(cron_job).get("jobTemplate") or {}
    template_metadata = meta.metadata_of(template)
    annotations = dict(meta.annotations_of({"metadata": template_metadata}))
    time_zone = meta.spec_of(cron_job).get("timeZone")
    zone = load_zone(time_zone) if isinstance(time_zone, str) else None
    local = scheduled.astimezone(zone or ZoneInfo("UTC"))
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = local.isoformat().replace("+00:00", "Z")
    metadata: JsonObject = {"name": job_name(cron_job, scheduled), "namespace": meta.namespace_of(cron_job),
                            "annotations": annotations, "ownerReferences": [
                                controller_reference(cron_job, api_version="batch/v1", kind="CronJob")]}
    labels = meta.labels_of({"metadata": template_metadata})
    if labels:
        metadata["labels"] = labels
    spec = copy.deepcopy(dict(meta.spec_of(template)))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}
