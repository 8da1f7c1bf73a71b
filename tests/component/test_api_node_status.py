"""A Node of the wrong shape never reaches the store: the scheduler and controllers would fail on it forever."""

from __future__ import annotations

import httpx

NODES = "/api/v1/nodes"
MERGE = {"content-type": "application/merge-patch+json"}


async def test_a_node_whose_status_is_a_list_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(NODES, json={"metadata": {"name": "poison"}, "status": [1]})
    assert response.status_code == 422, response.text
    assert response.json()["message"] == 'Node "poison" is invalid: status: Invalid value: [1]: must be of type object'
    assert (await api.get(f"{NODES}/poison")).status_code == 404


async def test_status_writes_are_checked_too(api: httpx.AsyncClient) -> None:
    assert (await api.post(NODES, json={"metadata": {"name": "n1"}})).status_code == 201
    good = {"status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-05-01T12:00:00Z"}],
                       "capacity": {"cpu": "2", "pods": "110"}}}
    assert (await api.patch(f"{NODES}/n1/status", json=good, headers=MERGE)).status_code == 200
    for bad, field in (({"status": {"conditions": "Ready"}}, "status.conditions"),
                       ({"status": {"capacity": {"cpu": "-2"}}}, "status.capacity[cpu]"),
                       ({"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 99999}}}},
                        "status.daemonEndpoints.kubeletEndpoint.Port")):
        response = await api.patch(f"{NODES}/n1/status", json=bad, headers=MERGE)
        assert response.status_code == 422, (bad, response.text)
        assert [cause["field"] for cause in response.json()["details"]["causes"]] == [field]
    node = (await api.get(f"{NODES}/n1")).json()
    node["status"] = [1]
    assert (await api.put(f"{NODES}/n1/status", json=node)).status_code == 422
    assert (await api.get(f"{NODES}/n1")).json()["status"]["capacity"] == {"cpu": "2", "pods": "110"}
