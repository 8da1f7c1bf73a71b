"""The fault suite's options and tables.

`--duration SECONDS` is the traffic time of the store's scenarios together (default: a bounded run for
CI, a few minutes in all); `make faults ARGS='--duration 600'` runs longer. The store's scenarios
(test_store_faults.py) and the Kubernetes-level faults (test_cluster_faults.py) each print a table at
the end, also when one failed.
"""

from __future__ import annotations

import pytest

from tests.faults.report import ClusterFaultRow, cluster_table, table
from tests.faults.runner import RunResult

DEFAULT_DURATION = 60.0  # seconds of traffic for all scenarios together
RESULTS = pytest.StashKey[list[RunResult]]()
CLUSTER_ROWS = pytest.StashKey[list[ClusterFaultRow]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--duration", type=float, default=DEFAULT_DURATION,
                     help="seconds of traffic the fault suite spends over all its scenarios")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []
    config.stash[CLUSTER_ROWS] = []


@pytest.fixture
def results(request: pytest.FixtureRequest) -> list[RunResult]:
    return request.config.stash[RESULTS]


@pytest.fixture
def cluster_rows(request: pytest.FixtureRequest) -> list[ClusterFaultRow]:
    return request.config.stash[CLUSTER_ROWS]


@pytest.fixture
def suite_duration(request: pytest.FixtureRequest) -> float:
    return float(request.config.getoption("--duration", default=DEFAULT_DURATION))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, [])
    if results:
        terminalreporter.section("fault suite: the store")
        terminalreporter.write_line(table(results))
    rows = config.stash.get(CLUSTER_ROWS, [])
    if rows:
        terminalreporter.section("fault suite: the cluster")
        terminalreporter.write_line(cluster_table(rows))
