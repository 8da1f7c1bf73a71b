"""Exponential back-off for restarting crashed containers and retrying failed image pulls.

A container that keeps failing must not be restarted in a tight loop (CrashLoopBackOff),
and an image that cannot be pulled must not be pulled again on every sync
(ErrImagePull → ImagePullBackOff). Both use the kubelet's rule: wait `base` seconds,
doubling per failure up to `cap`; a container that ran at least `reset_after` seconds
before it failed starts over from the beginning.

The kubelet restarts a container the first time it crashes without waiting and backs off
from the second crash on (10 s, 20 s, 40 s …); image pulls wait from the first failure.
`immediate_first_retry=True` gives the former, the default the latter.

Times are plain floats (seconds, e.g. `loop.time()` or `time.monotonic()`) passed in by
the caller, so the class is pure and tests need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

BackoffKey = tuple[str, str]  # (pod uid, container name) — or (pod uid, image) for pulls


@dataclass
class _Entry:
    failures: int
    delay: float
    failed_at: float


class Backoff:
    def __init__(
        self,
        *,
        base: float = 10.0,
        cap: float = 300.0,
        reset_after: float = 600.0,
        immediate_first_retry: bool = False,
    ) -> None:
        self.base = base
        self.cap = cap
        self.reset_after = reset_after
        self.immediate_first_retry = immediate_first_retry
        self._entries: dict[BackoffKey, _Entry] = {}

    def record_failure(self, key: BackoffKey, *, now: float, ran_for: float = 0.0) -> float:
        """Note a failure at `now` after running `ran_for` seconds; returns the delay that now applies."""
        entry = self._entries.get(key)
        fresh = entry is None or ran_for >= self.reset_after
        failures = 1 if fresh or entry is None else entry.failures + 1
        delay = self._delay_for(failures)
        self._entries[key] = _Entry(failures=failures, delay=delay, failed_at=now)
        return delay

    def _delay_for(self, failures: int) -> float:
        doublings = failures - (2 if self.immediate_first_retry else 1)
        if doublings < 0:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(doublings, 64)))

    def __contains__(self, key: object) -> bool:
        """Whether a failure is recorded for `key`."""
        return key in self._entries

    def remaining(self, key: BackoffKey, *, now: float) -> float:
        """Seconds until `key` may start (or pull) again; 0 when it may go now."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.failed_at + entry.delay - now)

    def delay(self, key: BackoffKey) -> float:
        """The delay applied after the latest failure (0 when none is recorded)."""
        entry = self._entries.get(key)
        return entry.delay if entry is not None else 0.0

    def failures(self, key: BackoffKey) -> int:
        entry = self._entries.get(key)
        return entry.failures if entry is not None else 0

    def reset(self, key: BackoffKey) -> None:
        """Forget one key, e.g. after a successful image pull."""
        self._entries.pop(key, None)

    def forget(self, pod_uid: str) -> None:
        """Forget every key of a pod that is gone."""
        for key in [key for key in self._entries if key[0] == pod_uid]:
            del self._entries[key]


def format_duration(seconds: float) -> str:
    """A duration as Go prints it: `10s`, `1m20s`, `5m0s`, `1h0m0s`, `1.5s`, `0s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        for unit, scale in (("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
            if seconds * scale >= 1 or unit == "ns":
                return _trim(round(seconds * scale, 6)) + unit
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = _trim(round(secs, 9))
    if hours:
        return f"{int(hours)}h{int(minutes)}m{secs_text}s"
    if minutes:
        return f"{int(minutes)}m{secs_text}s"
    return f"{secs_text}s"


def _trim(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")


def crash_loop_message(*, delay: float, container_name: str, pod_name: str, namespace: str, pod_uid: str) -> str:
    """The waiting message of a container in CrashLoopBackOff, worded as the kubelet's."""
    return (
        f"back-off {format_duration(delay)} restarting failed container={container_name} "
        f"pod={pod_name}_{namespace}({pod_uid})"
    )


def image_pull_backoff_message(image: str) -> str:
    """The waiting message of a container in ImagePullBackOff."""
    return f'Back-off pulling image "{image}"'
