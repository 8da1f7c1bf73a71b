"""The fault suite's options, cluster fixture and table.

`--duration SECONDS` is the traffic time of the whole suite, shared by its scenarios (default: a
bounded run for CI, a few minutes in all); `make faults ARGS='--duration 600'` runs longer. The table
of every scenario run is printed at the end, also when one failed.
"""

from __future__ import annotations

import pytest

from tests.faults.report import table
from tests.faults.runner import RunResult

DEFAULT_DURATION = 60.0  # seconds of traffic for all scenarios together
RESULTS = pytest.StashKey[list[RunResult]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--duration", type=float, default=DEFAULT_DURATION,
                     help="seconds of traffic the fault suite spends over all its scenarios")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []


@pytest.fixture
def results(request: pytest.FixtureRequest) -> list[RunResult]:
    return request.config.stash[RESULTS]


@pytest.fixture
def suite_duration(request: pytest.FixtureRequest) -> float:
    return float(request.config.getoption("--duration", default=DEFAULT_DURATION))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, [])
    if results:
        terminalreporter.section("fault suite")
        terminalreporter.write_line(table(results))
