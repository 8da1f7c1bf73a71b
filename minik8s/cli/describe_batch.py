"""`describe` for Jobs and CronJobs, in kubectl's sections and words (pkg/describe/describe.go, v1.32).

A Job shows its selector, parallelism and completions, mode, suspension, limits, times and pod counts
(`Pods Statuses: 0 Active (0 Ready) / 5 Succeeded / 0 Failed`) and, for an Indexed Job, its completed
indexes; a CronJob its schedule, policies, history limits, deadline, Job template, last schedule time and
active Jobs. Both read only the object: kubectl's describers take the counts from the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from minik8s.api.table_values import (
    as_int,
    as_list,
    as_map,
    as_str,
    format_label_selector,
    human_duration,
    parse_time,
)
from minik8s.cli.describe_text import (
    DescribeWriter,
    timestamp,
    write_annotations,
    write_multiline_map,
    write_pod_template,
)


def _controller(obj: Mapping[str, Any]) -> str:
    for owner in as_list(as_map(obj.get("metadata")).get("ownerReferences")):
        if as_map(owner).get("controller"):
            return f"{as_str(as_map(owner).get('kind'))}/{as_str(as_map(owner).get('name'))}"
    return ""


def cap_indexes(indexes: str, soft_limit: int = 50) -> str:
    """capIndexesListOrNone: `<none>`, or the list cut after the first comma past `soft_limit` characters."""
    if not indexes:
        return "<none>"
    cut = indexes.find(",", soft_limit)
    return indexes if cut < 0 else indexes[:cut + 1] + "..."


def describe_job(writer: DescribeWriter, job: Mapping[str, Any], now: datetime) -> None:
    metadata, spec, status = as_map(job.get("metadata")), as_map(job.get("spec")), as_map(job.get("status"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")
    writer.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    if _controller(job):
        writer.write(0, f"Controlled By:\t{_controller(job)}\n")
    if spec.get("parallelism") is not None:
        writer.write(0, f"Parallelism:\t{as_int(spec.get('parallelism'))}\n")
    completions = spec.get("completions")
    writer.write(0, f"Completions:\t{as_int(completions) if completions is not None else '<unset>'}\n")
    if spec.get("completionMode") is not None:
        writer.write(0, f"Completion Mode:\t{as_str(spec.get('completionMode'))}\n")
    if isinstance(spec.get("suspend"), bool):
        writer.write(0, f"Suspend:\t{'true' if spec['suspend'] else 'false'}\n")
    for field, title in (("backoffLimit", "Backoff Limit"), ("ttlSecondsAfterFinished", "TTL Seconds After Finished")):
        if spec.get(field) is not None:
            writer.write(0, f"{title}:\t{as_int(spec.get(field))}\n")
    _write_times(writer, spec, status)
    active, succeeded, failed = (as_int(status.get(name)) for name in ("active", "succeeded", "failed"))
    ready = f" ({as_int(status.get('ready'))} Ready)" if status.get("ready") is not None else ""
    writer.write(0, f"Pods Statuses:\t{active} Active{ready} / {succeeded} Succeeded / {failed} Failed\n")
    if spec.get("completionMode") == "Indexed":
        writer.write(0, f"Completed Indexes:\t{cap_indexes(as_str(status.get('completedIndexes')))}\n")
    write_pod_template(writer, as_map(spec.get("template")))


def _write_times(writer: DescribeWriter, spec: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    started, completed = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if started is not None:
        writer.write(0, f"Start Time:\t{timestamp(status.get('startTime'))}\n")
    if completed is not None:
        writer.write(0, f"Completed At:\t{timestamp(status.get('completionTime'))}\n")
    if started is not None and completed is not None:
        writer.write(0, f"Duration:\t{human_duration((completed - started).total_seconds())}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        writer.write(0, f"Active Deadline Seconds:\t{as_int(spec.get('activeDeadlineSeconds'))}s\n")


def describe_cron_job(writer: DescribeWriter, cron_job: Mapping[str, Any], now: datetime) -> None:
    metadata, spec, status = (as_map(cron_job.get(name)) for name in ("metadata", "spec", "status"))
    writer.write(0, f"Name:\t{as_str(metadata.get('name'))}\n")
    writer.write(0, f"Namespace:\t{as_str(metadata.get('namespace'))}\n")
    write_multiline_map(writer, "Labels", metadata.get("labels"))
    write_annotations(writer, "Annotations", metadata.get("annotations"))
    writer.write(0, f"Schedule:\t{as_str(spec.get('schedule'))}\n")
    writer.write(0, f"Concurrency Policy:\t{as_str(spec.get('concurrencyPolicy'))}\n")
    suspend = spec.get("suspend")
    writer.write(0, f"Suspend:\t{('True' if suspend else 'False') if isinstance(suspend, bool) else '<unset>'}\n")
    for field, title in (("successfulJobsHistoryLimit", "Successful Job History Limit"),
                         ("failedJobsHistoryLimit", "Failed Job History Limit")):
        value = spec.get(field)
        writer.write(0, f"{title}:\t{as_int(value) if value is not None else '<unset>'}\n")
    deadline = spec.get("startingDeadlineSeconds")
    writer.write(0, f"Starting Deadline Seconds:\t{f'{as_int(deadline)}s' if deadline is not None else '<unset>'}\n")
    job_spec = as_map(as_map(spec.get("jobTemplate")).get("spec"))
    selector = job_spec.get("selector")
    writer.write(0, f"Selector:\t{format_label_selector(selector) if selector is not None else '<unset>'}\n")
    for field, title in (("parallelism", "Parallelism"), ("completions", "Completions")):
        value = job_spec.get(field)
        writer.write(0, f"{title}:\t{as_int(value) if value is not None else '<unset>'}\n")
    if job_spec.get("activeDeadlineSeconds") is not None:
        writer.write(0, f"Active Deadline Seconds:\t{as_int(job_spec.get('activeDeadlineSeconds'))}s\n")
    write_pod_template(writer, as_map(job_spec.get("template")))
    last = status.get("lastScheduleTime")
    writer.write(0, f"Last Schedule Time:\t{timestamp(last) if parse_time(last) else '<unset>'}\n")
    names = [as_str(as_map(ref).get("name")) for ref in as_list(status.get("active"))]
    writer.write(0, f"Active Jobs:\t{', '.join(names) if names else '<none>'}\n")
