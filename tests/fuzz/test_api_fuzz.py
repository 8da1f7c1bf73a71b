"""A standard API fuzzer (schemathesis) over the apiserver's own OpenAPI: no 5xx, every error a Status.

The apiserver serves its API as OpenAPI v3 documents; schemathesis reads them as any user of it
would and sends valid and schema-breaking requests to every operation, then boundary values to a
subset (see tests/support/fuzzing.py for the phases and what is left out). The run is seeded, so
it repeats, and bounded to about 85 s on a 2-core machine: 4 Hypothesis cases per operation and
mode (1 for bodies that hold a pod spec), about 15,000 coverage cases, and a 100 s deadline.

Any answer >= 500, or an error that is not a Kubernetes Status, fails it.
"""

from __future__ import annotations

import warnings

from tests.support.fuzzing import FuzzPlan, fuzz_apiserver
from tests.support.serving import ThreadedApiserver

# The coverage phase on the paths of ConfigMaps, Nodes and Pods (list, read, delete, deletecollection, and the
# writes of the first two), the subresources that take small bodies, and the access reviews: every generic query
# and DeleteOptions path of a namespaced and a cluster-scoped kind, in about 40 s of the budget.
COVERAGE_PATHS = r"/(configmaps|nodes|pods)(/\{name\})?$|/(binding|eviction|token|scale)$|reviews$"
PLAN = FuzzPlan(examples=4, pod_spec_examples=1, coverage_paths=COVERAGE_PATHS, deadline_seconds=100.0, seed=13)


def test_fuzzing_every_operation_gives_no_5xx_and_only_status_errors() -> None:
    with ThreadedApiserver() as server:
        run = fuzz_apiserver(server.url, PLAN)
    assert run.operations + len(run.cut_short) > 150, "the fuzzer did not load the served documents"
    assert sum(count for status, count in run.by_status.items() if status < 300) > 0
    if run.cut_short:
        warnings.warn(f"deadline: {len(run.cut_short)} operations or phases cut short, e.g. {run.cut_short[:3]}",
                      stacklevel=1)
    summary = f"{run.cases} cases over {run.operations} operations in {run.seconds:.0f} s, seed {run.seed}"
    assert not run.findings, f"{summary}: {len(run.findings)} findings\n" + "\n\n".join(map(str, run.findings[:10]))
