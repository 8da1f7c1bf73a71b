"""The ResourceQuota controller against an in-process apiserver running quota admission.

A new quota is counted from what its namespace already holds; admission charges what is created; the
controller gives back what is deleted or finishes, and follows a spec that changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from minik8s.api.kinds import NAMESPACES, PODS, RESOURCE_QUOTAS
from minik8s.client.api import ApiClient
from minik8s.client.errors import Forbidden
from minik8s.controllers.common.context import ControllerOptions
from minik8s.controllers.resourcequota.controller import ResourceQuotaController
from tests.support.in_loop import controllers_running
from tests.support.serving import apiserver_in_loop
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)
TEAM = "team"


def pod(name: str, cpu: str = "100m") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [
        {"name": "app", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]}}


@pytest.fixture
async def api() -> AsyncIterator[ApiClient]:
    async with apiserver_in_loop() as client, controllers_running(
            client, ControllerOptions(workers=1, resource_quota_sync_period=1.0),
            lambda c: [ResourceQuotaController(c)]):
        await client.create(NAMESPACES, {"metadata": {"name": TEAM}})
        yield client


async def used(api: ApiClient) -> dict[str, str]:
    status = (await api.get(RESOURCE_QUOTAS, "q", namespace=TEAM)).get("status") or {}
    found: dict[str, str] = status.get("used") or {}
    return found


async def test_a_quota_is_counted_charged_and_given_back(api: ApiClient) -> None:
    for name in ("a", "b"):
        await api.create(PODS, pod(name), namespace=TEAM)
    await api.create(RESOURCE_QUOTAS, {"metadata": {"name": "q"}, "spec": {"hard": {
        "pods": "3", "requests.cpu": "1", "count/deployments.apps": "1"}}}, namespace=TEAM)

    async def counted() -> bool:
        return await used(api) == {"pods": "2", "requests.cpu": "200m", "count/deployments.apps": "0"}
    await eventually("the controller to count what the namespace already holds", counted)
    assert (await api.get(RESOURCE_QUOTAS, "q", namespace=TEAM))["status"]["hard"] == {
        "pods": "3", "requests.cpu": "1", "count/deployments.apps": "1"}

    await api.create(PODS, pod("c"), namespace=TEAM)
    assert (await used(api))["pods"] == "3"  # charged by admission at once
    with pytest.raises(Forbidden) as refused:
        await api.create(PODS, pod("d"), namespace=TEAM)
    assert refused.value.message == ('pods "d" is forbidden: exceeded quota: q, requested: pods=1, used: pods=3, '
                                     "limited: pods=3")

    await api.delete(PODS, "a", namespace=TEAM)

    async def given_back() -> bool:
        return (await used(api)).get("pods") == "2"
    await eventually("a deleted pod's share to come back", given_back)
    await api.create(PODS, pod("d"), namespace=TEAM)


async def test_a_finished_pod_frees_its_compute_and_a_new_spec_is_followed(api: ApiClient) -> None:
    await api.create(PODS, pod("job", cpu="800m"), namespace=TEAM)
    await api.create(RESOURCE_QUOTAS, {"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "1"}}},
                     namespace=TEAM)

    async def counted(expected: dict[str, str]) -> bool:
        return await used(api) == expected
    await eventually("the pod's requests to be counted", lambda: counted({"requests.cpu": "800m"}))
    finished = await api.get(PODS, "job", namespace=TEAM)
    finished["status"] = {**finished["status"], "phase": "Succeeded"}
    await api.update_status(PODS, finished)
    await eventually("a finished pod to cost nothing", lambda: counted({"requests.cpu": "0"}))

    current = await api.get(RESOURCE_QUOTAS, "q", namespace=TEAM)
    current["spec"]["hard"] = {"requests.cpu": "2", "pods": "10"}
    await api.update(RESOURCE_QUOTAS, current)

    async def followed() -> bool:
        status: dict[str, Any] = (await api.get(RESOURCE_QUOTAS, "q", namespace=TEAM))["status"]
        return status == {"hard": {"requests.cpu": "2", "pods": "10"}, "used": {"requests.cpu": "0", "pods": "0"}}
    await eventually("the status to follow the new spec", followed)
