"""`minik8s describe` shows a pod's and a pod template's topology spread constraints as kubectl does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from minik8s.cli.describers import Evidence, describe

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)
CONSTRAINTS = [
    {"maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
     "labelSelector": {"matchLabels": {"app": "web"},
                       "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}},
]
POD_SPEC: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx"}],
                            "topologySpreadConstraints": CONSTRAINTS}


def test_describe_pod_lists_the_constraints_by_topology_key_after_tolerations() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod"},
           "spec": POD_SPEC, "status": {"phase": "Pending"}}
    lines = describe("Pod", Evidence(pod, []), now=NOW).splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Topology Spread Constraints:")))
    assert lines[start - 1].startswith("Tolerations:")
    assert lines[start:start + 2] == [
        "Topology Spread Constraints:  kubernetes.io/hostname:DoNotSchedule when max skew 1 is exceeded for "
        "selector app=web,tier in (a,b)",
        "                              topology.kubernetes.io/zone:ScheduleAnyway when max skew 5 is exceeded"]


def test_describe_deployment_shows_them_in_the_pod_template() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}}}
    text = describe("Deployment", Evidence(deployment, []), now=NOW)
    assert "  Topology Spread Constraints:  kubernetes.io/hostname:DoNotSchedule when max skew 1 is exceeded" in text


def test_a_pod_without_constraints_has_no_such_section() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "prod"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {}}
    assert "Topology Spread" not in describe("Pod", Evidence(pod, []), now=NOW)
