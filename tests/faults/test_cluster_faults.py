"""Kubernetes-level faults on a real cluster: 3 apiservers, 2 Docker nodes, a web Deployment behind a Service.

Each fault of cluster_faults.py runs in turn on one cluster (they are ordered so each leaves it whole for the
next); the suite's table gets a row per fault with its recovery time and anomalies, which must be 0. Needs
Docker and iptables (root), as the e2e tests do; with CI=true a missing engine fails instead of skipping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import FAST_FAILURE_FLAGS, Cluster, running_cluster, web_deployment
from tests.faults.cluster_faults import CLUSTER_FAULTS, ClusterFault, Outcome
from tests.faults.report import ClusterFaultRow
from tests.faults.workload import APP, PodObserver, Workload
from tests.support import builders
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(900)

REPLICAS = 4
MAX_SURGE = 1
NAMESPACE = "faults"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("fault-cluster"), "--replicas", "3", "--nodes", "2", "--timeout", "90",
                         *FAST_FAILURE_FLAGS, timeout=180) as running:
        yield running


@pytest.fixture(scope="module")
def workload(cluster: Cluster) -> Iterator[Workload]:
    with cluster.namespace(NAMESPACE) as namespace:
        service = builders.service(APP, namespace=None, selector={"app": APP},
                                   ports=[{"port": 80, "targetPort": "http"}])
        cluster.apply(namespace, web_deployment(APP, replicas=REPLICAS, max_surge=MAX_SURGE), service)
        cluster_ip = cluster.api.get(f"/api/v1/namespaces/{namespace}/services/{APP}").json()["spec"]["clusterIP"]
        workload = Workload(cluster, namespace, cluster_ip, REPLICAS)
        wait_for("the web Deployment whole behind its Service", workload.whole, timeout=120)
        yield workload
        workload.scale(0)


@pytest.fixture(scope="module")
def observer(workload: Workload) -> Iterator[PodObserver]:
    watching = PodObserver(workload, MAX_SURGE)
    watching.start()
    yield watching
    watching.stop()


@pytest.mark.parametrize("fault", CLUSTER_FAULTS, ids=[fault.name for fault in CLUSTER_FAULTS])
def test_cluster_fault(fault: ClusterFault, workload: Workload, observer: PodObserver,
                       cluster_rows: list[ClusterFaultRow]) -> None:
    seen_before = len(observer.anomalies)
    outcome = Outcome()
    started = time.monotonic()
    try:
        fault.act(workload, outcome)
    finally:
        anomalies = [*observer.anomalies[seen_before:], *outcome.anomalies]
        recovery = outcome.recovered_at - outcome.measured_from if outcome.recovered_at else None
        cluster_rows.append(ClusterFaultRow(fault.name, fault.recovery, recovery, time.monotonic() - started,
                                            anomalies, outcome.notes))
    assert not anomalies, f"{fault.name}: " + "; ".join(f"{a.kind} {a.key}: {a.detail}" for a in anomalies)
