"""The figures a benchmark reports, and the plain-text summary table that `make bench` prints.

Benchmarks only measure and print; whether a figure meets its target is shown
next to it for the reader and never asserted, because wall-clock figures on a shared 2-core machine
vary from run to run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["at_most", "at_least", "none"]


@dataclass(frozen=True)
class Figure:
    """One measured value, with the target it is compared against (if any)."""

    benchmark: str
    name: str
    value: float
    unit: str
    target: float | None = None
    direction: Direction = "none"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None or self.direction == "none" or math.isnan(self.value):
            return ""
        meets = self.value <= self.target if self.direction == "at_most" else self.value >= self.target
        return "meets" if meets else "MISSES"

    @property
    def target_text(self) -> str:
        if self.target is None or self.direction == "none":
            return ""
        sign = "≤" if self.direction == "at_most" else "≥"
        return f"{sign} {format_value(self.target)} {self.unit}"


@dataclass(frozen=True)
class Outcome:
    """What one benchmark hands back: its figures, and remarks on how they were obtained."""

    figures: tuple[Figure, ...]
    remarks: tuple[str, ...] = ()


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction in 0..1) of the samples; NaN when there are none."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 0.5)


def format_value(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_table(figures: Sequence[Figure]) -> str:
    """The summary table: benchmark, figure, value, target, verdict, note — aligned columns."""
    header = ("benchmark", "figure", "measured", "target", "", "note")
    rows = [header] + [
        (f.benchmark, f.name, f"{format_value(f.value)} {f.unit}", f.target_text, f.verdict, f.note)
        for f in figures
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths).rstrip())
    return "\n".join(lines)
