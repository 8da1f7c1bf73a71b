"""CronJob schedules: the standard 5-field cron syntax and the @-macros, as Kubernetes reads them.

Kubernetes parses `spec.schedule` with robfig/cron's ParseStandard: exactly five fields (minute, hour,
day of month, month, day of week; `*`, `?`, ranges, steps, lists, month and weekday names) or a
descriptor (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, and
`@every <duration>`). The arithmetic of "the next time after t" is the `croniter` library's, on
the fields checked here first, because croniter also accepts what ParseStandard refuses (a seconds
or year field, `L`, `W`, `#`, `H`) and such a schedule must be refused, not run differently. A
schedule is evaluated in a time zone (the CronJob's `timeZone`, else the controller's), so
"0 2 * * *" means 02:00 there, across daylight-saving changes. Errors are worded as robfig words them
where they are the same error (`expected exactly 5 fields, found 1: [hello]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_MONTHS = frozenset(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
_WEEKDAYS = frozenset(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
_NAMES: tuple[frozenset[str], ...] = (frozenset(), frozenset(), frozenset(), _MONTHS, _WEEKDAYS)  # which names each field takes
_TOKEN = re.compile(r"[A-Za-z]+|\d+|[*?/,\-]|.")
_RANGE = re.compile(r"(\d+)-(\d+)")
_LONGEST_DURATION_SECONDS = 2**63 // 10**9  # Go's time.Duration: int64 nanoseconds
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ScheduleError(ValueError):
    """A schedule ParseStandard would refuse; the message is the reason."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: `next_after(t)` is the first time strictly after `t` (to the second) it fires."""

    expression: str  # five cron fields, or "" for an @every schedule
    every: timedelta | None = None

    def next_after(self, moment: datetime, zone: tzinfo = UTC) -> datetime | None:
        """The next firing after `moment` (aware), in UTC; None when the fields never match (31 February)."""
        if self.every is not None:
            whole = moment.replace(microsecond=0)
            return (whole + self.every).astimezone(UTC)
        try:
            found = croniter(self.expression, moment.astimezone(zone)).get_next(datetime)
        except (CroniterBadDateError, CroniterBadCronError, ValueError, OverflowError):
            return None
        return found.astimezone(UTC) if isinstance(found, datetime) else None


def parse_schedule(text: str) -> CronSchedule:
    """The schedule `text` means, or ScheduleError with ParseStandard's reason."""
    stripped = text.strip()
    if not stripped:
        raise ScheduleError("empty spec string")
    if stripped.startswith("@"):
        return _descriptor(stripped)
    fields = stripped.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for position, field in enumerate(fields):
        _check_field(field, _NAMES[position])
    expression = " ".join(field.replace("?", "*") for field in fields)
    try:
        croniter(expression)
    except (CroniterError, ValueError, OverflowError) as error:
        raise ScheduleError(str(error)) from None
    return CronSchedule(expression)


def _descriptor(text: str) -> CronSchedule:
    if text.startswith("@every "):
        return CronSchedule("", every=max(parse_go_duration(text[len("@every "):].strip()), timedelta(seconds=1)))
    expression = DESCRIPTORS.get(text)
    if expression is None:
        raise ScheduleError(f"unrecognized descriptor: {text}")
    return CronSchedule(expression)


def _check_field(field: str, names: frozenset[str]) -> None:
    """Only numbers, the field's names, `*`, `?`, `-`, `/` and `,` (no L, W, #, H, ...)."""
    for low, high in _RANGE.findall(field):
        if int(low) > int(high):
            raise ScheduleError(f"beginning of range ({low}) beyond end of range ({high}): {field}")
    for token in _TOKEN.findall(field):
        if token.isalpha() and token.upper() not in names:
            raise ScheduleError(f'failed to parse int from {token}: strconv.Atoi: parsing "{token}": invalid syntax')
        if not token.isalnum() and token not in "*?/,-":
            raise ScheduleError(f"failed to parse int from {field}: strconv.Atoi: parsing {field!r}: invalid syntax")


def parse_go_duration(text: str) -> timedelta:
    """A Go duration (`1h30m`, `90s`, `1.5h`), whole seconds kept, as `@every` takes one."""
    position, seconds = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise ScheduleError(f'failed to parse duration @every {text}: time: invalid duration "{text}"')
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not text or seconds > _LONGEST_DURATION_SECONDS:
        raise ScheduleError(f'failed to parse duration @every {text}: time: invalid duration "{text}"')
    return timedelta(seconds=int(seconds))
