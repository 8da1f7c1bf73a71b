"""The Table cells of Jobs and CronJobs, as printers.go's printJob and printCronJob compute them (v1.32).

`kubectl get jobs` shows NAME STATUS COMPLETIONS DURATION AGE: the status is the first of Complete,
Failed, Terminating, Suspended, FailureTarget that holds (else Running); completions read `2/5`, or
`0/1 of 3` for a work queue (no completions) with parallelism above one; the duration runs until the
completion time. `kubectl get cronjobs` shows NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.table_values import (
    age,
    as_int,
    as_list,
    as_map,
    as_str,
    container_cells,
    format_label_selector,
    human_duration,
    name_of,
    parse_time,
    since,
)


def has_job_condition(job: Mapping[str, Any], condition_type: str) -> bool:
    """hasJobCondition: the first condition of that type is True."""
    for condition in as_list(as_map(job.get("status")).get("conditions")):
        if as_map(condition).get("type") == condition_type:
            return as_map(condition).get("status") == "True"
    return False


def job_status_word(job: Mapping[str, Any]) -> str:
    if has_job_condition(job, "Complete"):
        return "Complete"
    if has_job_condition(job, "Failed"):
        return "Failed"
    if as_map(job.get("metadata")).get("deletionTimestamp"):
        return "Terminating"
    if has_job_condition(job, "Suspended"):
        return "Suspended"
    if has_job_condition(job, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_completions(job: Mapping[str, Any]) -> str:
    spec, status = as_map(job.get("spec")), as_map(job.get("status"))
    succeeded = as_int(status.get("succeeded"))
    if spec.get("completions") is not None:
        return f"{succeeded}/{as_int(spec.get('completions'))}"
    parallelism = as_int(spec.get("parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Mapping[str, Any], now: datetime) -> str:
    status = as_map(job.get("status"))
    started, completed = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if started is None:
        return ""
    if completed is None:
        return since(started, now)
    return human_duration((completed - started).total_seconds())


def job_cells(job: Mapping[str, Any], now: datetime) -> list[Any]:
    spec = as_map(job.get("spec"))
    template_spec = as_map(as_map(spec.get("template")).get("spec"))
    return [name_of(job), job_status_word(job), job_completions(job), job_duration(job, now), age(job, now),
            *container_cells(template_spec), format_label_selector(spec.get("selector"))]


def cron_job_cells(cron_job: Mapping[str, Any], now: datetime) -> list[Any]:
    spec, status = as_map(cron_job.get("spec")), as_map(cron_job.get("status"))
    last = parse_time(status.get("lastScheduleTime"))
    suspend = spec.get("suspend")
    job_spec = as_map(as_map(spec.get("jobTemplate")).get("spec"))
    return [
        name_of(cron_job), as_str(spec.get("schedule")),
        as_str(spec.get("timeZone")) if spec.get("timeZone") is not None else "<none>",
        "<unset>" if not isinstance(suspend, bool) else ("True" if suspend else "False"),
        len(as_list(status.get("active"))), since(last, now) if last is not None else "<none>", age(cron_job, now),
        *container_cells(as_map(as_map(job_spec.get("template")).get("spec"))),
        format_label_selector(job_spec.get("selector")),
    ]


CELL_PRINTERS = {"Job": job_cells, "CronJob": cron_job_cells}
