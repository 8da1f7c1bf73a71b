"""The fault suite's table (fault, operations, unknown outcomes, anomalies, recovery time) and its post-mortems.

Printed at the end of a run by the suite's conftest, whatever the faults were: each row is one run
of the runner (runner.py). A run with anomalies also leaves its whole history as JSON for a post-mortem.
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

from tests.faults.linearizability import Anomaly
from tests.faults.runner import RunResult

COLUMNS = ("scenario", "faults injected", "operations", "unknown", "anomalies", "recovery median / max (s)",
           "first write median / max (s)", "watch resumes")


def row(result: RunResult) -> tuple[str, ...]:
    recovery, first_write = spread(result.recoveries), spread(result.first_writes)
    kinds = sorted({name for name in result.faults})
    injected = f"{len(result.faults)} ({', '.join(kinds)})" if len(kinds) <= 2 else f"{len(result.faults)} (mixed)"
    return (result.scenario, injected, str(result.operations), str(result.unknown), str(len(result.anomalies)),
            recovery, first_write, str(result.resumptions))


def spread(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} / {max(seconds):.2f}" if seconds else "-"


def table(results: list[RunResult]) -> str:
    rows = [COLUMNS, *(row(result) for result in results)]
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) for cells in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += [f"{result.scenario}: {note}" for result in results for note in dict.fromkeys(result.notes)]
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class ClusterFaultRow:
    """One Kubernetes-level fault (test_cluster_faults.py): what recovering meant, how long it took."""

    fault: str
    recovered_when: str
    recovery: float | None  # seconds; None when it never recovered
    total: float  # seconds the fault's whole cycle took (inject, recover, heal, settle)
    anomalies: list[Anomaly]
    notes: list[str]


def cluster_table(rows: list[ClusterFaultRow]) -> str:
    header = ("fault", "recovered when", "recovery (s)", "cycle (s)", "anomalies")
    cells = [header, *((row.fault, row.recovered_when, "never" if row.recovery is None else f"{row.recovery:.2f}",
                        f"{row.total:.1f}", str(len(row.anomalies))) for row in rows)]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += [f"{row.fault}: {note}" for row in rows for note in row.notes]
    lines += [f"{row.fault}: {anomaly.kind} {anomaly.key}: {anomaly.detail}" for row in rows for anomaly in row.anomalies]
    return "\n".join(lines)


def write_post_mortem(result: RunResult, folder: Path) -> Path:
    """The history, the watchers' logs and the anomalies of a run, as one JSON file; its path."""
    extra: dict[str, object] = {"scenario": result.scenario, "faults": result.faults,
             "anomalies": [dataclasses.asdict(anomaly) for anomaly in result.anomalies],
             "watchers": [dataclasses.asdict(watcher.log) for watcher in result.watchers]}
    return result.history.dump(folder / f"history-{result.scenario}.json", extra)


def summary(result: RunResult, limit: int = 5) -> str:
    """The first anomalies of a run, for a failure message."""
    parts = [f"{anomaly.kind} on {anomaly.key or '-'}: {anomaly.detail}" for anomaly in result.anomalies[:limit]]
    more = len(result.anomalies) - limit
    return "\n".join(parts + ([f"... and {more} more"] if more > 0 else []))
