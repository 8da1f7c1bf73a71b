"""The ClusterRole aggregation controller through a real apiserver: aggregated roles follow what they select."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from minik8s.api.kinds import CLUSTER_ROLES
from minik8s.client.api import ApiClient
from minik8s.controllers.clusterrole_aggregation.controller import ClusterRoleAggregationController
from minik8s.controllers.common.context import ControllerOptions
from tests.support.in_loop import controllers_running
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)
LABEL = "rbac.example.com/aggregate-to-monitoring"


@pytest.fixture
async def api() -> AsyncIterator[ApiClient]:
    async with apiserver_in_loop() as client, controllers_running(client, ControllerOptions(workers=1), lambda c: [
            ClusterRoleAggregationController(c)]):
        yield client


def role(name: str, verbs: list[str], labels: dict[str, str] | None = None) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "rules": [{"apiGroups": [""], "resources": [name], "verbs": verbs}]}


async def test_an_aggregated_role_is_the_union_of_the_roles_it_selects(api: ApiClient) -> None:
    await api.create(CLUSTER_ROLES, {"metadata": {"name": "monitoring"},
                                     "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {LABEL: "true"}}]}})
    await api.create(CLUSTER_ROLES, role("endpoints", ["get"], {LABEL: "true"}))
    await api.create(CLUSTER_ROLES, role("services", ["list"], {LABEL: "true"}))
    await api.create(CLUSTER_ROLES, role("secrets", ["get"]))

    async def rules_of_monitoring() -> list[object]:
        return list((await api.get(CLUSTER_ROLES, "monitoring")).get("rules") or [])

    async def has(count: int) -> bool:
        return len(await rules_of_monitoring()) == count

    await eventually("monitoring to aggregate two roles", lambda: has(2))
    assert await rules_of_monitoring() == [{"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get"]},
                                           {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}]
    await api.delete(CLUSTER_ROLES, "endpoints")
    await eventually("monitoring to drop a deleted role's rules", lambda: has(1))
