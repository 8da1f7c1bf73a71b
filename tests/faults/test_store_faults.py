"""The cluster store under faults: every operation of every client linearizable, every watch complete.

Each scenario starts three real apiserver replicas (127.0.0.11-13), drives ConfigMap traffic and
watches over all of them, injects its faults in cycles and checks the recorded history. A run with an
anomaly fails and leaves its history as JSON under the test's tmp dir (the path is in the message).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import disk, network
from tests.faults.cluster import FaultCluster
from tests.faults.faults import SCENARIOS, Scenario
from tests.faults.report import summary, write_post_mortem
from tests.faults.runner import RunResult, run
from tests.support.requirements import unavailable

MINIMUM_SECONDS = 8.0  # per scenario: time for at least one fault cycle


def missing(need: str) -> str | None:
    """Why this machine (or this store) cannot run a scenario that needs `need`."""
    if need == "iptables":
        return network.available()
    if need == "tmpfs":
        return disk.available()
    raise ValueError(f"unknown need {need!r}")


@pytest.fixture
def cluster_for(tmp_path: Path) -> Iterator[list[FaultCluster]]:
    clusters: list[FaultCluster] = []
    yield clusters
    for cluster in clusters:
        cluster.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_store_under_faults(scenario: Scenario, tmp_path: Path, cluster_for: list[FaultCluster],
                            suite_duration: float, results: list[RunResult]) -> None:
    for need in scenario.needs:
        reason = missing(need)
        if reason is not None:
            unavailable(reason)
    cluster = FaultCluster(tmp_path, env=scenario.env, tmpfs=scenario.tmpfs)
    cluster_for.append(cluster)
    cluster.start()
    result = run(cluster, scenario.name, scenario.faults,
                 duration=max(MINIMUM_SECONDS, suite_duration / len(SCENARIOS)))
    results.append(result)
    if result.anomalies:
        path = write_post_mortem(result, tmp_path)
        pytest.fail(f"{len(result.anomalies)} anomalies under {scenario.name}; history in {path}\n{summary(result)}")
