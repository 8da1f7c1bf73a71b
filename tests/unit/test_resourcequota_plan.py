"""The quota controller's decision: a quota's status from its spec and what its namespace holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from minik8s.api.kinds import CONFIG_MAPS, DEPLOYMENTS, EVENTS, PODS, SECRETS, SERVICES
from minik8s.controllers.resourcequota.plan import desired_status, kinds_to_count, status_changed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def quota(hard: dict[str, str], status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "q", "namespace": "ns"}, "spec": {"hard": hard, **spec}, "status": status or {}}


def pod(cpu: str, phase: str = "Running") -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}, "status": {"phase": phase}}


def test_only_the_kinds_a_quota_counts_are_listed() -> None:
    hard = {"pods": "5", "count/deployments.apps": "1", "configmaps": "3", "persistentvolumeclaims": "1"}
    served = [PODS, SERVICES, CONFIG_MAPS, SECRETS, DEPLOYMENTS, EVENTS]
    assert kinds_to_count(quota(hard), served) == [PODS, CONFIG_MAPS, DEPLOYMENTS]
    assert kinds_to_count(quota({"count/events": "1"}), served) == []  # events are never counted


def test_the_status_is_the_spec_and_the_namespace_usage() -> None:
    hard = {"pods": "5", "requests.cpu": "2", "configmaps": "3", "persistentvolumeclaims": "1",
            "replicationcontrollers": "2", "count/widgets.example.com": "4"}
    stale = {"hard": {"pods": "1"}, "used": {"pods": "9", "count/widgets.example.com": "2", "secrets": "1"}}
    objects: dict[tuple[str, str], list[dict[str, Any]]] = {
        ("pods", ""): [pod("500m"), pod("250m"), pod("4", phase="Succeeded")], ("configmaps", ""): [{}, {}]}
    assert desired_status(quota(hard, stale), objects, NOW) == {
        "hard": hard,
        # counted kinds are recounted; one no evaluator answers for keeps what it said; unbounded names go
        "used": {"pods": "2", "count/widgets.example.com": "2", "requests.cpu": "750m", "configmaps": "2",
                 "persistentvolumeclaims": "0", "replicationcontrollers": "0"},
    }


def test_a_scoped_quota_counts_only_the_pods_in_scope() -> None:
    scoped = quota({"pods": "5"}, scopes=["BestEffort"])
    best_effort = {"spec": {"containers": [{"name": "c"}]}}
    status = desired_status(scoped, {("pods", ""): [pod("1"), best_effort]}, NOW)
    assert status["used"] == {"pods": "1"}


def test_a_write_is_needed_only_when_something_changed() -> None:
    counted = quota({"pods": "5"}, {"hard": {"pods": "5"}, "used": {"pods": "1"}})
    assert not status_changed(counted, {"hard": {"pods": "5"}, "used": {"pods": "1"}})
    assert status_changed(counted, {"hard": {"pods": "5"}, "used": {"pods": "2"}})
    assert status_changed(counted, {"hard": {"pods": "6"}, "used": {"pods": "1"}})
    assert status_changed(quota({"pods": "5"}), {"hard": {"pods": "5"}, "used": {"pods": "0"}})
