"""The CronJob controller's pure decisions: when runs are due, missed runs, concurrency, history, the Job it makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from minik8s.api.cron_schedule import ScheduleError, parse_schedule
from minik8s.controllers.cronjob.plan import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    account_children,
    history_to_delete,
    plan_run,
)
from minik8s.controllers.cronjob.schedule import FEW_MISSED, MANY_MISSED, NONE_MISSED, most_recent_schedule

CREATED = datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC)


def at(minutes: float, seconds: float = 0) -> datetime:
    return CREATED.replace(second=0) + timedelta(minutes=minutes, seconds=seconds)


def cron_job(schedule: str = "*/1 * * * *", *, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "b"}]}}}}
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "tick", "namespace": "default", "uid": "cj-uid", "creationTimestamp": "2024-05-01T12:00:10Z"},
            "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False, "jobTemplate": template,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1, **spec},
            "status": status or {}}


def job(name: str, *, finished: str | None = None, uid: str | None = None, started: float = 0,
        completed: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": at(started).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if finished:
        status["conditions"] = [{"type": finished, "status": "True"}]
    if completed:
        status["completionTime"] = completed
    return {"metadata": {"name": name, "namespace": "default", "uid": uid or f"uid-{name}", "resourceVersion": "9",
                         "ownerReferences": [{"kind": "CronJob", "name": "tick", "uid": "cj-uid", "controller": True}]},
            "status": status}


@pytest.mark.parametrize(("now", "most_recent", "missed"), [
    (at(0, 50), None, NONE_MISSED),
    (at(1, 5), at(1), NONE_MISSED),
    (at(4, 30), at(4), FEW_MISSED),
    (at(180, 1), at(180), MANY_MISSED),
])
def test_only_the_most_recent_missed_run_is_due(now: datetime, most_recent: datetime | None, missed: str) -> None:
    recent = most_recent_schedule(cron_job(), now, parse_schedule("*/1 * * * *"), UTC, with_deadline=True)
    assert (recent.most_recent, recent.missed) == (most_recent, missed)


def test_the_starting_deadline_bounds_how_far_back_runs_are_looked_for() -> None:
    recent = most_recent_schedule(cron_job(startingDeadlineSeconds=90), at(180, 1), parse_schedule("*/1 * * * *"),
                                  UTC, with_deadline=True)
    assert (recent.most_recent, recent.missed) == (at(180), FEW_MISSED)


def test_a_due_run_makes_its_job_and_the_next_firing_is_requeued() -> None:
    plan = plan_run(cron_job(), at(1, 2), UTC)
    assert plan.scheduled == at(1) and plan.requeue_after == pytest.approx(58.1)
    made = plan.job
    assert made is not None
    minute = int(at(1).timestamp()) // 60
    assert made["metadata"]["name"] == f"tick-{minute}"
    assert made["metadata"]["labels"] == {"team": "a"}
    assert made["metadata"]["annotations"] == {"note": "x", SCHEDULED_TIMESTAMP_ANNOTATION: "2024-05-01T12:01:00Z"}
    assert made["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
                                                    "uid": "cj-uid", "controller": True, "blockOwnerDeletion": True}]
    assert made["spec"]["template"]["spec"]["restartPolicy"] == "Never" and "selector" not in made["spec"]


@pytest.mark.parametrize(("spec", "status", "reason"), [
    ({"suspend": True}, {}, None),
    ({"startingDeadlineSeconds": 10}, {}, None),  # the 12:01 run is over 10 s late: never looked for
    ({"concurrencyPolicy": "Forbid"}, {"active": [{"name": "tick-1", "uid": "u1"}]}, "JobAlreadyActive"),
    ({"timeZone": "Nowhere/Atlantis"}, {}, "UnknownTimeZone"),
    ({}, {"lastScheduleTime": "2024-05-01T12:01:00Z"}, None),
], ids=["suspended", "too-late", "forbid", "unknown-zone", "already-run"])
def test_runs_that_do_not_start(spec: dict[str, Any], status: dict[str, Any], reason: str | None) -> None:
    plan = plan_run(cron_job(status=status, **spec), at(1, 30), UTC)
    assert plan.job is None
    assert [event.reason for event in plan.events] == ([reason] if reason else [])


def test_replace_deletes_the_active_runs_and_too_many_missed_warns() -> None:
    plan = plan_run(cron_job(concurrencyPolicy="Replace", status={"active": [{"name": "tick-1", "uid": "u1"}]}),
                    at(180, 1), UTC)
    assert [ref["name"] for ref in plan.replace] == ["tick-1"] and plan.scheduled == at(180)
    assert [event.reason for event in plan.events] == ["TooManyMissedTimes"]


def test_a_time_zone_moves_the_firing_and_the_annotation() -> None:
    hourly = cron_job("0 14 * * *", timeZone="Europe/Paris")  # 14:00 in Paris is 12:00 UTC in May
    plan = plan_run({**hourly, "metadata": {**hourly["metadata"], "creationTimestamp": "2024-05-01T11:00:00Z"}},
                    datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC), ZoneInfo("UTC"))
    assert plan.scheduled == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert plan.job is not None
    assert plan.job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == "2024-05-01T14:00:00+02:00"


def test_children_keep_the_active_list_and_last_success_true() -> None:
    active = [{"name": "tick-1", "uid": "uid-tick-1"}, {"name": "tick-2", "uid": "uid-tick-2"},
              {"name": "gone", "uid": "uid-gone"}]
    cj = cron_job(status={"active": active})
    jobs = [job("tick-1", finished="Complete", completed="2024-05-01T12:02:00Z"), job("tick-2"), job("stray")]
    changed, events = account_children(cj, jobs, missing={"uid-gone"})
    assert changed and [ref["name"] for ref in cj["status"]["active"]] == ["tick-2"]
    assert [(event.reason, event.message) for event in events] == [
        ("Normal", "SawCompletedJob", "Saw completed job: tick-1, status: Complete")[1:],
        ("Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: stray")[1:],
        ("Normal", "MissingJob", "Active job went missing: gone")[1:]]
    changed, _ = account_children(cj, jobs, missing=set())
    assert changed and cj["status"]["lastSuccessfulTime"] == "2024-05-01T12:02:00Z"


def test_history_limits_drop_the_oldest_finished_runs() -> None:
    jobs = [job(f"ok-{i}", finished="Complete", started=i) for i in range(5)] + [
        job(f"bad-{i}", finished="Failed", started=i) for i in range(3)] + [job("running")]
    doomed = history_to_delete(cron_job(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=0), jobs)
    assert [j["metadata"]["name"] for j in doomed] == ["ok-0", "ok-1", "ok-2", "bad-0", "bad-1", "bad-2"]


@pytest.mark.parametrize(("schedule", "error"), [
    ("hello", "expected exactly 5 fields, found 1: [hello]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("0 0 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
    ("@every x", 'failed to parse duration @every x: time: invalid duration "x"'),
])
def test_schedules_parse_standard_refuses(schedule: str, error: str) -> None:
    with pytest.raises(ScheduleError, match="^" + error.replace("[", r"\[").replace("*", r"\*") + "$"):
        parse_schedule(schedule)


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("@hourly", at(0, 30), at(60)),
    ("@daily", at(0), datetime(2024, 5, 2, tzinfo=UTC)),
    ("@every 90s", at(0, 30), at(2)),
    ("0 9 * * MON-FRI", at(0), datetime(2024, 5, 2, 9, tzinfo=UTC)),
    ("0 0 31 2 *", at(0), None),
])
def test_schedules_fire_when_cron_says(schedule: str, after: datetime, expected: datetime | None) -> None:
    assert parse_schedule(schedule).next_after(after, UTC) == expected
