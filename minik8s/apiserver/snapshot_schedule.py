"""Periodic snapshots (`--snapshot-interval`, `--snapshot-retention`, `--snapshot-dir`), as k3s takes them.

Taken by the apiserver replica that is the Raft leader when one is due — not by the CLI, which exits once
`minik8s up` has started the cluster: nothing of it stays behind to keep time. Every replica runs the
schedule; only the leader writes, so replicas sharing one folder (all of `minik8s up`'s share
`HOME/snapshots`) write one file per slot. Snapshots are due at the multiples of the interval in UTC (every
12 h: at 00:00 and 12:00, k3s's `0 */12 * * *`); a slot that passed while no leader could take it (the
cluster was down) is taken as soon as one can, and a replica with no snapshot in its folder takes its first
at the first slot after it started. Files are named with their time and revision
(`snapshots.snapshot_file_name`), written as `snapshot save` writes them (temporary file, synced, checked,
renamed), and only the newest `retention` of them are kept. The newest one, and the last failure if any,
are shown by `/debug/raft` (and so by `minik8s status`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from minik8s.api.snapshot_format import write_file
from minik8s.apiserver.errors import StatusError
from minik8s.apiserver.snapshots import consistent_view, snapshot_chunks, snapshot_file_name
from minik8s.store.base import Store

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^snapshot-(\d{8}T\d{6}Z)-rev(\d+)\.snap$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_CHECK_SECONDS = 30.0


@dataclass(frozen=True)
class SnapshotFile:
    path: Path
    taken: datetime
    revision: int

    def to_json(self) -> dict[str, object]:
        return {"time": self.taken.strftime("%Y-%m-%dT%H:%M:%SZ"), "revision": self.revision, "file": str(self.path)}


def parse_interval(text: str) -> float:
    """Seconds in a Go-style duration (`12h`, `90m`, `1h30m`, `0`) or a number of seconds; ValueError if neither."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        position, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            position = match.end()
        if not text or position != len(text):
            raise ValueError(f"invalid duration {text!r} (e.g. 12h, 30m, 0 for none)") from None
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return seconds


def snapshots_in(folder: Path) -> list[SnapshotFile]:
    """The periodic snapshots in `folder`, oldest first (other files are not ours and are left alone)."""
    found = []
    try:
        names = [path.name for path in folder.iterdir()]
    except OSError:
        return []
    for name in names:
        match = FILE_PATTERN.match(name)
        if match:
            taken = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(SnapshotFile(folder / name, taken, int(match.group(2))))
    return sorted(found, key=lambda file: (file.taken, file.revision))


def is_due(now: float, *, interval: float, last_taken: float | None, started: float) -> bool:
    """A snapshot is due once a multiple of `interval` (UTC) has passed since the last one (or since the start)."""
    slot_start = now - (now % interval)
    return (last_taken if last_taken is not None else started) < slot_start


def beyond_retention(files: list[SnapshotFile], retention: int) -> list[SnapshotFile]:
    """The oldest files past the newest `retention` (files sorted oldest first)."""
    return files[: max(0, len(files) - retention)]


@dataclass(frozen=True)
class SnapshotSchedule:
    folder: Path
    interval: float  # seconds; 0: no periodic snapshots
    retention: int


class PeriodicSnapshots:
    """The schedule of one replica: `run` until cancelled; `status` for `/debug/raft`."""

    def __init__(self, store: Store, schedule: SnapshotSchedule, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.schedule = schedule
        self.clock = clock
        self.started = clock()
        self.last_error = ""

    def status(self) -> dict[str, object]:
        files = snapshots_in(self.schedule.folder)
        status: dict[str, object] = {"snapshot_interval_seconds": self.schedule.interval,
                                     "snapshot_dir": str(self.schedule.folder),
                                     "last_snapshot": files[-1].to_json() if files else None}
        if self.last_error:
            status["snapshot_error"] = self.last_error
        return status

    async def run(self) -> None:
        pause = min(MAX_CHECK_SECONDS, max(0.05, self.schedule.interval / 4))
        while True:
            await asyncio.sleep(pause)
            if self.store.status().get("role") != "leader" or not self._due():
                continue
            try:
                await self.take()
            except Exception as error:  # a full disk, no quorum, …: say so and try again at the next check
                message = error.message if isinstance(error, StatusError) else f"{type(error).__name__}: {error}"
                self.last_error = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: {message}"
                log.warning("periodic snapshot failed: %s", message)

    def _due(self) -> bool:
        files = snapshots_in(self.schedule.folder)
        last = files[-1].taken.timestamp() if files else None
        return is_due(self.clock(), interval=self.schedule.interval, last_taken=last, started=self.started)

    async def take(self) -> SnapshotFile:
        """One snapshot into the folder now, then the oldest beyond the retention are removed."""
        view = await consistent_view(self.store)
        created = self.clock()
        taken = datetime.fromtimestamp(created, UTC)
        folder = self.schedule.folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / snapshot_file_name(taken, view.revision)
        summary = await asyncio.to_thread(write_file, path, snapshot_chunks(view, created=created))
        self.last_error = ""
        log.info("snapshot %s: revision %d, %d keys, %d bytes", path, view.revision, len(view.items), summary.size)
        for old in beyond_retention(snapshots_in(folder), self.schedule.retention):
            old.path.unlink(missing_ok=True)
        return SnapshotFile(path, taken.replace(microsecond=0), view.revision)
