"""When a CronJob should have started a Job: Kubernetes' cronjob controller v2 time arithmetic, pure.

`most_recent_schedule` is mostRecentScheduleTime (pkg/controller/cronjob/utils.go, v1.32): from the
last schedule time (or the CronJob's creation), and no earlier than `now - startingDeadlineSeconds`,
it finds the latest time the schedule fired at or before `now` — only that one: after a
controller-manager restart, however many runs were missed, at most one catch-up Job starts. It also
says roughly how many were missed (by the schedule's interval), because more than 100 is worth a
TooManyMissedTimes warning. `requeue_after` is how long to sleep until the next firing, plus
100 ms for clock skew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from minik8s.api import meta
from minik8s.api.cron_schedule import CronSchedule

NONE_MISSED, FEW_MISSED, MANY_MISSED = "none", "few", "many"
TOO_MANY_MISSED = 100
NEXT_SCHEDULE_DELTA = timedelta(milliseconds=100)


class InvalidSchedule(ValueError):
    """A schedule that parses but never fires twice a second apart (31 February)."""


@dataclass(frozen=True)
class RecentSchedule:
    earliest: datetime  # the last schedule time, the creation, or the starting deadline
    most_recent: datetime | None  # the latest firing at or before now that is still to be run
    missed: str  # NONE_MISSED, FEW_MISSED or MANY_MISSED


def earliest_time(cron_job: Any, now: datetime, *, with_deadline: bool) -> datetime:
    status, spec = meta.status_of(cron_job), meta.spec_of(cron_job)
    earliest = (meta.parse_time(status.get("lastScheduleTime"))
                or meta.parse_time(meta.metadata_of(cron_job).get("creationTimestamp")) or now)
    deadline = spec.get("startingDeadlineSeconds")
    if with_deadline and isinstance(deadline, int):
        earliest = max(earliest, now - timedelta(seconds=deadline))
    return earliest


def most_recent_schedule(cron_job: Any, now: datetime, schedule: CronSchedule, zone: tzinfo, *,
                         with_deadline: bool) -> RecentSchedule:
    earliest = earliest_time(cron_job, now, with_deadline=with_deadline)
    first = schedule.next_after(earliest, zone)
    second = schedule.next_after(first, zone) if first is not None else None
    if first is None or second is None:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    if now < first:
        return RecentSchedule(earliest, None, NONE_MISSED)
    if now < second:
        return RecentSchedule(earliest, first, NONE_MISSED)
    interval = round((second - first).total_seconds())
    if interval < 1:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    missed = int((now - first).total_seconds()) // interval + 1
    moment = schedule.next_after(first + timedelta(seconds=(missed - 2) * interval), zone)
    latest: datetime | None = None
    while moment is not None and moment <= now:
        latest = moment
        moment = schedule.next_after(moment, zone)
    kind = MANY_MISSED if missed > TOO_MANY_MISSED else FEW_MISSED
    return RecentSchedule(earliest, latest, kind)


def requeue_after(cron_job: Any, now: datetime, schedule: CronSchedule, zone: tzinfo) -> float:
    """nextScheduleTimeDuration: seconds until the next firing after the last one due, plus 100 ms."""
    try:
        recent = most_recent_schedule(cron_job, now, schedule, zone, with_deadline=False)
        base = recent.most_recent or (recent.earliest if recent.missed == NONE_MISSED else now)
    except InvalidSchedule:
        base = now
    following = schedule.next_after(base, zone)
    if following is None:
        return timedelta(hours=1).total_seconds()  # never fires again: look once an hour in case it is edited
    return (following + NEXT_SCHEDULE_DELTA - now).total_seconds()


def job_name(cron_job: Any, scheduled: datetime) -> str:
    """`<cronjob>-<minutes since the epoch>`: one name per scheduled time, so a Job is never made twice."""
    return f"{meta.name_of(cron_job)}-{int(scheduled.timestamp()) // 60}"
