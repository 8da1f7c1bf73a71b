"""PriorityClasses and the Priority admission plugin through the apiserver: the system classes every cluster
starts with, a pod's priority resolved from its class (or the global default, or 0), Kubernetes' refusals, one
global default at a time, and the Table kubectl prints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.apiserver.admission import DEFAULT_PLUGINS
from minik8s.apiserver.admission_priority import PRIORITY
from tests.support.serving import apiserver_serving

CLASSES = "/apis/scheduling.k8s.io/v1/priorityclasses"
PODS = "/api/v1/namespaces/default/pods"
TABLE = {"accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=500) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def create_class(api: httpx.AsyncClient, name: str, value: int, **fields: Any) -> httpx.Response:
    return await api.post(CLASSES, json={"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                         "metadata": {"name": name}, "value": value, **fields})


async def create_pod(api: httpx.AsyncClient, name: str, **spec: Any) -> httpx.Response:
    return await api.post(PODS, json={"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}], **spec}})


async def test_the_system_classes_exist_and_may_not_be_deleted_or_changed(api: httpx.AsyncClient) -> None:
    listed = {c["metadata"]["name"]: c for c in (await api.get(CLASSES)).json()["items"]}
    assert {name: (c["value"], c["preemptionPolicy"]) for name, c in listed.items()} == {
        "system-cluster-critical": (2000000000, "PreemptLowerPriority"),
        "system-node-critical": (2000001000, "PreemptLowerPriority")}
    refused = await api.delete(f"{CLASSES}/system-node-critical")
    assert (refused.status_code, refused.json()["message"]) == (
        403, 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class '
             "and cannot be deleted")
    changed = {**listed["system-cluster-critical"], "value": 5}
    invalid = await api.put(f"{CLASSES}/system-cluster-critical", json=changed)
    assert invalid.status_code == 422
    assert "value: Forbidden: may not be changed in an update." in invalid.json()["message"]


async def test_a_pod_gets_its_class_priority_or_the_default(api: httpx.AsyncClient) -> None:
    assert (await create_class(api, "high", 1000, description="urgent work")).status_code == 201
    plain = (await create_pod(api, "plain")).json()["spec"]
    assert (plain.get("priorityClassName"), plain["priority"], plain["preemptionPolicy"]) == (
        None, 0, "PreemptLowerPriority")
    high = (await create_pod(api, "urgent", priorityClassName="high")).json()["spec"]
    assert (high["priority"], high["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    critical = (await create_pod(api, "critical", priorityClassName="system-node-critical")).json()["spec"]
    assert critical["priority"] == 2000001000
    polite = await create_class(api, "polite", 500, globalDefault=True, preemptionPolicy="Never")
    assert polite.status_code == 201
    defaulted = (await create_pod(api, "later")).json()["spec"]
    assert (defaulted["priorityClassName"], defaulted["priority"], defaulted["preemptionPolicy"]) == (
        "polite", 500, "Never")
    # an update that leaves the resolved fields out keeps them (they never change)
    pod = (await api.get(f"{PODS}/urgent")).json()
    for field in ("priority", "preemptionPolicy"):
        del pod["spec"][field]
    pod["metadata"]["labels"] = {"touched": "yes"}
    updated = await api.put(f"{PODS}/urgent", json=pod)
    assert (updated.status_code, updated.json()["spec"]["priority"]) == (200, 1000)


@pytest.mark.parametrize(("spec", "message"), [
    ({"priorityClassName": "gold"}, "no PriorityClass with name gold was found"),
    ({"priority": 10}, "the integer value of priority (10) must not be provided in pod spec; priority admission "
                       "controller computed 0 from the given PriorityClass name"),
])
async def test_an_unknown_class_or_a_priority_of_ones_own_is_forbidden(api: httpx.AsyncClient, spec: dict[str, Any],
                                                                       message: str) -> None:
    refused = await create_pod(api, "p", **spec)
    assert refused.status_code == 403
    assert refused.json()["message"] == f'pods "p" is forbidden: {message}'


async def test_only_one_class_is_the_global_default(api: httpx.AsyncClient) -> None:
    assert (await create_class(api, "first", 10, globalDefault=True)).status_code == 201
    second = await create_class(api, "second", 20, globalDefault=True)
    assert (second.status_code, second.json()["message"]) == (
        403, 'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first is already marked as '
             "default. Only one default can exist")
    assert (await create_class(api, "second", 20)).status_code == 201
    promoted = (await api.get(f"{CLASSES}/second")).json() | {"globalDefault": True}
    assert (await api.put(f"{CLASSES}/second", json=promoted)).status_code == 403
    first = (await api.get(f"{CLASSES}/first")).json() | {"description": "still the default"}
    assert (await api.put(f"{CLASSES}/first", json=first)).status_code == 200


async def test_user_classes_stay_below_the_system_range(api: httpx.AsyncClient) -> None:
    too_high = await create_class(api, "greedy", 1_500_000_000)
    assert too_high.status_code == 422
    assert too_high.json()["details"]["causes"] == [{"reason": "FieldValueForbidden", "field": "value", "message":
                                                     "Forbidden: maximum allowed value of a user defined priority "
                                                     "is 1000000000"}]


async def test_the_tables_kubectl_prints(api: httpx.AsyncClient) -> None:
    await create_class(api, "high", 1000, preemptionPolicy="Never")
    table = (await api.get(f"{CLASSES}/high", headers=TABLE)).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Value", "Global-Default", "Age",
                                                               "PreemptionPolicy"]
    cells = table["rows"][0]["cells"]
    assert (cells[0], cells[1], cells[2], cells[4]) == ("high", 1000, False, "Never")
    created = await api.post("/apis/policy/v1/namespaces/default/poddisruptionbudgets", json={
        "metadata": {"name": "web"}, "spec": {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "w"}}}})
    assert created.status_code == 201
    table = (await api.get("/apis/policy/v1/namespaces/default/poddisruptionbudgets", headers=TABLE)).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Min Available", "Max Unavailable",
                                                               "Allowed Disruptions", "Age"]
    assert table["rows"][0]["cells"][:4] == ["web", "N/A", "50%", 0]


async def test_without_the_plugin_a_pod_keeps_what_it_says() -> None:
    async with apiserver_serving(history=100, admission_plugins=DEFAULT_PLUGINS - {PRIORITY}) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as other:
        spec = (await create_pod(other, "p", priority=7)).json()["spec"]
        assert spec["priority"] == 7 and "preemptionPolicy" not in spec
