"""`kubectl get quota` and `kubectl get limits` columns, as printResourceQuota and printLimitRange print them."""

from __future__ import annotations

from datetime import UTC, datetime

from minik8s.api.tables import column_definitions, row_cells

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-05-01T11:00:00Z"


def test_a_quota_prints_used_over_hard_with_limits_apart() -> None:
    assert [column["name"] for column in column_definitions("ResourceQuota")] == ["Name", "Age", "Request", "Limit"]
    quota = {"metadata": {"name": "q", "creationTimestamp": CREATED}, "status": {
        "hard": {"requests.cpu": "1", "pods": "10", "limits.memory": "2Gi", "limits.cpu": "2", "count/jobs.batch": "1"},
        "used": {"requests.cpu": "0.5", "pods": "3", "limits.memory": "1024Mi", "limits.cpu": "0"}}}
    assert row_cells("ResourceQuota", quota, now=NOW) == [
        "q", "60m", "count/jobs.batch: 0/1, pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 0/2, limits.memory: 1Gi/2Gi"]


def test_a_quota_not_yet_counted_prints_empty_columns() -> None:
    quota = {"metadata": {"name": "q", "creationTimestamp": CREATED}, "spec": {"hard": {"pods": "1"}}, "status": {}}
    assert row_cells("ResourceQuota", quota, now=NOW) == ["q", "60m", "", ""]


def test_a_limit_range_prints_when_it_was_created() -> None:
    assert [column["name"] for column in column_definitions("LimitRange")] == ["Name", "Created At"]
    assert column_definitions("LimitRange")[1]["type"] == "date"
    limit_range = {"metadata": {"name": "defaults", "creationTimestamp": CREATED}, "spec": {"limits": []}}
    assert row_cells("LimitRange", limit_range, now=NOW) == ["defaults", CREATED]
