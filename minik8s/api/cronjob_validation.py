"""Validation of batch/v1 CronJobs (pkg/apis/batch/validation, v1.32).

A schedule must parse as ParseStandard parses it (api/cron_schedule.py) and may not carry `TZ=` or
`CRON_TZ=` (the `timeZone` field says where it runs); the time zone must be an IANA name this
machine's zone database knows (checked when it is set or changed); the concurrency policy is Allow,
Forbid or Replace; the Job template is a JobSpec without a selector (one is generated for each Job);
history limits are not negative. A new CronJob's name is at most 52 characters, since its Jobs are
named `<name>-<minutes since the epoch>` (11 more) and a Job name is a 63-character label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from minik8s.api.cron_schedule import ScheduleError, parse_schedule
from minik8s.api.field_errors import FieldError, join_path
from minik8s.api.field_reader import FieldReader
from minik8s.api.job_spec_validation import validate_job_spec
from minik8s.api.meta_validation import (
    validate_annotations,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)

MAX_NAME_LENGTH = 52
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
_ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def validate_cron_job(reader: FieldReader, cron_job: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    validate_object_meta(reader, cron_job, "CronJob")
    spec = reader.mapping(cron_job, "spec", "")
    old_spec = old.get("spec") if old is not None and isinstance(old.get("spec"), Mapping) else None
    schedule = reader.string(spec, "schedule", "spec")
    time_zone = reader.optional_string(spec, "timeZone", "spec")
    if not schedule:
        reader.add(FieldError.required("spec.schedule"))
    else:
        allow_tz = old_spec is not None and "TZ" in str(old_spec.get("schedule") or "")
        _validate_schedule(reader, schedule, time_zone, allow_tz=allow_tz)
    validate_nonnegative(reader, reader.integer(spec, "startingDeadlineSeconds", "spec"), "spec.startingDeadlineSeconds")
    if old_spec is None or old_spec.get("timeZone") != time_zone:
        _validate_time_zone(reader, time_zone)
    policy = reader.string(spec, "concurrencyPolicy", "spec")
    if not policy:
        reader.add(FieldError.required("spec.concurrencyPolicy"))
    elif policy not in CONCURRENCY_POLICIES:
        reader.add(FieldError.not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    _validate_job_template(reader, reader.mapping(spec, "jobTemplate", "spec"), "spec.jobTemplate")
    for field in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        validate_nonnegative(reader, reader.integer(spec, field, "spec"), join_path("spec", field))
    if old is None:
        name = str((cron_job.get("metadata") or {}).get("name") or "")
        if len(name) > MAX_NAME_LENGTH:
            reader.add(FieldError.invalid("metadata.name", name, f"must be no more than {MAX_NAME_LENGTH} characters"))
    else:
        validate_object_meta_update(reader, cron_job, old)


def _validate_schedule(reader: FieldReader, schedule: str, time_zone: str | None, *, allow_tz: bool) -> None:
    try:
        parse_schedule(schedule)
    except ScheduleError as error:
        reader.add(FieldError.invalid("spec.schedule", schedule, str(error)))
    if "TZ" not in schedule:
        return
    if not allow_tz:
        reader.add(FieldError.invalid("spec.schedule", schedule,
                                      "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    elif time_zone is not None:
        reader.add(FieldError.invalid("spec.schedule", schedule,
                                      "cannot use both timeZone field and TZ or CRON_TZ in schedule"))


def _validate_time_zone(reader: FieldReader, time_zone: str | None) -> None:
    if time_zone is None:
        return
    if not time_zone:
        reader.add(FieldError.invalid("spec.timeZone", time_zone, "timeZone must be nil or non-empty string"))
        return
    for part in time_zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _ZONE_PART.match(part):
            reader.add(FieldError.invalid("spec.timeZone", time_zone, f"unknown time zone {time_zone}"))
            return
    if time_zone.lower() == "local":
        reader.add(FieldError.invalid("spec.timeZone", time_zone,
                                      "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
    elif load_zone(time_zone) is None:
        reader.add(FieldError.invalid("spec.timeZone", time_zone, f"unknown time zone {time_zone}"))


def load_zone(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, or None when this machine's zone database does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _validate_job_template(reader: FieldReader, template: Mapping[str, Any], path: str) -> None:
    metadata = reader.mapping(template, "metadata", path)
    metadata_path = join_path(path, "metadata")
    validate_labels(reader, reader.string_map(metadata, "labels", metadata_path), join_path(metadata_path, "labels"))
    validate_annotations(reader, reader.string_map(metadata, "annotations", metadata_path),
                         join_path(metadata_path, "annotations"))
    spec_path = join_path(path, "spec")
    spec = reader.mapping(template, "spec", path)
    validate_job_spec(reader, spec, spec_path)
    if spec.get("selector") is not None:
        reader.add(FieldError.invalid(join_path(spec_path, "selector"), spec.get("selector"),
                                      "`selector` will be auto-generated"))
    if spec.get("manualSelector") is True:
        reader.add(FieldError.not_supported(join_path(spec_path, "manualSelector"), True, ("nil", "false")))
