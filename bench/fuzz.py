"""Fuzz cases per minute and the 5xx count: schemathesis over the apiserver's own OpenAPI (issue #13's figure).

The CI test (tests/fuzz) runs a bounded plan; this runs the large one against the same in-process
apiserver: 25 Hypothesis cases per operation and generation mode (valid and schema-breaking; 4 for
bodies that hold a pod spec) on every operation, then schemathesis' coverage phase on every
operation except the pod-spec writes, each with a fresh seed that the remarks print. The figures
are the rate of each phase (they differ tenfold: coverage values are cheap to make, a Hypothesis
body is not), the count of answers at or above 500, and of error answers that are not a
Kubernetes Status; the remarks group the 500s by where they were raised.
"""

from __future__ import annotations

import collections
import logging
import random

from bench.figures import Figure, Outcome
from tests.support.fuzzing import Finding, FuzzPlan, FuzzRun, fuzz_apiserver
from tests.support.serving import ThreadedApiserver

NAME = "fuzz"
EXAMPLES = 25
POD_SPEC_EXAMPLES = 4
DEADLINE_SECONDS = 900.0


def _where(finding: Finding) -> str:
    """The last line of the traceback (the exception) and the innermost minik8s frame."""
    lines = [line.strip() for line in finding.traceback.strip().splitlines()]
    frames = [line for line in lines if line.startswith("File ") and "/minik8s/" in line]
    exception = lines[-1] if lines else finding.response[:120]
    return f"{exception} at {frames[-1].split('/minik8s/')[-1]}" if frames else exception


def _remarks(run: FuzzRun) -> tuple[str, ...]:
    remarks = [f"seed {run.seed}: {run.cases:,} cases over {run.operations} operations in {run.seconds:.0f} s "
               f"({', '.join(f'{phase} {count:,}' for phase, count in run.by_phase.items())}); answers "
               + ", ".join(f"{status}: {count:,}" for status, count in sorted(run.by_status.items()))]
    if run.cut_short:
        remarks.append(f"the {DEADLINE_SECONDS:.0f} s deadline cut {len(run.cut_short)} operations or phases short")
    groups = collections.Counter(_where(finding) for finding in run.findings)
    remarks += [f"{count} x {where}" for where, count in groups.most_common(8)]
    return tuple(remarks)


def _rate(run: FuzzRun, phase: str) -> float:
    seconds = run.seconds_by_phase.get(phase, 0.0)
    return run.by_phase[phase] / seconds * 60 if seconds else 0.0


def bench_fuzz() -> Outcome:
    plan = FuzzPlan(examples=EXAMPLES, pod_spec_examples=POD_SPEC_EXAMPLES, deadline_seconds=DEADLINE_SECONDS,
                    seed=random.randrange(2**32))
    with ThreadedApiserver() as server:
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # each 500 is in the remarks instead
        run = fuzz_apiserver(server.url, plan)
    return Outcome((
        Figure(NAME, "cases per minute, all phases", run.cases_per_minute, "cases/min",
               note=f"{run.cases:,} cases, {run.operations} operations, one in-process apiserver"),
        Figure(NAME, "cases per minute, Hypothesis phase", _rate(run, "fuzzing"), "cases/min",
               note=f"{EXAMPLES} per operation and mode, {POD_SPEC_EXAMPLES} for pod-spec bodies"),
        Figure(NAME, "cases per minute, coverage phase", _rate(run, "coverage"), "cases/min"),
        Figure(NAME, "answers ≥ 500", run.server_errors, "answers", 0, "at_most"),
        Figure(NAME, "errors that are not a Status", run.not_status_errors, "answers", 0, "at_most"),
    ), _remarks(run))


if __name__ == "__main__":
    from bench.figures import render_table

    outcome = bench_fuzz()
    print(render_table(outcome.figures))
    print("\n".join(f"* {remark}" for remark in outcome.remarks))
