"""The eviction subresource through the apiserver: a PodDisruptionBudget refuses with Kubernetes' 429, a granted
eviction spends the budget and marks the pod DisruptionTarget before its graceful delete, and the corner cases
(unready pods, AlwaysAllow, a lagging budget, two budgets, dry runs, bad bodies) answer as Kubernetes does.

No controller runs here: each test writes the budget's status the way the disruption controller would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from minik8s.api.meta import now_time
from tests.support.serving import apiserver_serving

PODS = "/api/v1/namespaces/default/pods"
PDBS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=500) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def running_pod(api: httpx.AsyncClient, name: str, *, ready: bool = True, app: str = "web") -> dict[str, Any]:
    """A pod bound to a node and Running (Ready or not), as its node agent would report it."""
    created = await api.post(PODS, json={"metadata": {"name": name, "labels": {"app": app}}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}], "terminationGracePeriodSeconds": 20}})
    assert created.status_code == 201, created.text
    bound = await api.post(f"{PODS}/{name}/binding", json={"metadata": {"name": name},
                                                           "target": {"kind": "Node", "name": "n1"}})
    assert bound.status_code == 201, bound.text
    pod = (await api.get(f"{PODS}/{name}")).json()
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now_time()}]}
    updated = await api.put(f"{PODS}/{name}/status", json=pod)
    assert updated.status_code == 200, updated.text
    body: dict[str, Any] = updated.json()
    return body


async def budget(api: httpx.AsyncClient, name: str = "web", *, allowed: int, current: int, desired: int,
                 observed: int = 1, **spec: Any) -> dict[str, Any]:
    body = {"metadata": {"name": name}, "spec": {"minAvailable": desired, "selector": {"matchLabels": {"app": "web"}},
                                                 **spec}}
    created = await api.post(PDBS, json=body)
    assert created.status_code == 201, created.text
    pdb = created.json()
    assert pdb["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    pdb["status"] = {"disruptionsAllowed": allowed, "currentHealthy": current, "desiredHealthy": desired,
                     "expectedPods": current, "observedGeneration": observed}
    written = await api.put(f"{PDBS}/{name}/status", json=pdb)
    assert written.status_code == 200, written.text
    stored: dict[str, Any] = written.json()
    return stored


async def evict(api: httpx.AsyncClient, name: str, **extra: Any) -> httpx.Response:
    params = extra.pop("params", None)
    return await api.post(f"{PODS}/{name}/eviction", params=params, json={
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}, **extra})


async def test_a_budget_with_no_disruption_left_refuses_with_429_and_the_pod_stays(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    await running_pod(api, "web-2")
    await budget(api, allowed=0, current=2, desired=2)
    refused = await evict(api, "web-1")
    assert refused.status_code == 429
    assert "retry-after" not in refused.headers  # kubectl's client would otherwise retry on its own
    assert refused.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "TooManyRequests",
        "code": 429, "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]}}
    pod = (await api.get(f"{PODS}/web-1")).json()
    assert "deletionTimestamp" not in pod["metadata"]
    assert not [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]


async def test_a_granted_eviction_spends_the_budget_marks_the_pod_and_deletes_it_gracefully(
        api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    await running_pod(api, "web-2")
    await budget(api, allowed=1, current=2, desired=1)
    granted = await evict(api, "web-1")
    assert (granted.status_code, granted.json()) == (201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                           "status": "Success", "code": 201})
    pod = (await api.get(f"{PODS}/web-1")).json()
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 20  # the pod's own grace period
    disruption = next(c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (disruption["status"], disruption["reason"], disruption["message"]) == (
        "True", "EvictionByEvictionAPI", "Eviction API: evicting")
    status = (await api.get(f"{PDBS}/web")).json()["status"]
    assert status["disruptionsAllowed"] == 0 and set(status["disruptedPods"]) == {"web-1"}
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    # the budget is spent: the next eviction waits for the controller to count again
    assert (await evict(api, "web-2")).status_code == 429


async def test_eviction_options_give_the_grace_period_and_a_dry_run_changes_nothing(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    await budget(api, allowed=1, current=1, desired=0)
    dry = await evict(api, "web-1", params={"dryRun": "All"})
    assert dry.status_code == 201
    assert "deletionTimestamp" not in (await api.get(f"{PODS}/web-1")).json()["metadata"]
    assert (await api.get(f"{PDBS}/web")).json()["status"]["disruptionsAllowed"] == 1
    assert (await evict(api, "web-1", deleteOptions={"gracePeriodSeconds": 3})).status_code == 201
    assert (await api.get(f"{PODS}/web-1")).json()["metadata"]["deletionGracePeriodSeconds"] == 3


async def test_an_unready_pod_goes_without_spending_a_budget_that_holds(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1", ready=False)
    await budget(api, allowed=0, current=2, desired=2)
    assert (await evict(api, "web-1")).status_code == 201
    assert (await api.get(f"{PDBS}/web")).json()["status"]["disruptionsAllowed"] == 0  # nothing spent


async def test_an_unready_pod_of_a_short_budget_stays_unless_the_budget_always_allows(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1", ready=False)
    await budget(api, allowed=0, current=1, desired=2)
    assert (await evict(api, "web-1")).status_code == 429
    patched = await api.patch(f"{PDBS}/web", json={"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}},
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.status_code == 200
    assert (await evict(api, "web-1")).status_code == 201


async def test_a_budget_the_controller_has_not_seen_yet_asks_to_come_back_in_10_seconds(
        api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    await budget(api, allowed=1, current=1, desired=0, observed=0)
    lagging = await evict(api, "web-1")
    assert (lagging.status_code, lagging.headers.get("retry-after")) == (429, "10")
    assert lagging.json()["details"] == {"retryAfterSeconds": 10, "causes": [
        {"reason": "DisruptionBudget", "message": "The disruption budget web is still being processed by the server."}]}


async def test_two_budgets_over_one_pod_fail_the_eviction(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    await budget(api, "one", allowed=1, current=1, desired=0)
    await budget(api, "two", allowed=1, current=1, desired=0)
    failed = await evict(api, "web-1")
    assert (failed.status_code, failed.json()["message"]) == (
        500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")


async def test_pods_no_budget_covers_and_pending_pods_are_simply_deleted(api: httpx.AsyncClient) -> None:
    await running_pod(api, "db-1", app="db")
    await budget(api, allowed=0, current=2, desired=2)
    assert (await evict(api, "db-1")).status_code == 201
    created = await api.post(PODS, json={"metadata": {"name": "web-pending", "labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    assert created.status_code == 201
    assert (await evict(api, "web-pending")).status_code == 201
    assert (await api.get(f"{PODS}/web-pending")).status_code == 404  # unbound: deleted at once


async def test_a_malformed_eviction_is_a_bad_request(api: httpx.AsyncClient) -> None:
    await running_pod(api, "web-1")
    wrong_name = await api.post(f"{PODS}/web-1/eviction", json={"metadata": {"name": "web-2"}})
    assert (wrong_name.status_code, wrong_name.json()["message"]) == (
        400, "name in URL does not match name in Eviction object")
    missing = await evict(api, "nope")
    assert (missing.status_code, missing.json()["message"]) == (404, 'pods "nope" not found')
