"""LimitRanger and ResourceQuota admission through the apiserver: the defaults a pod gets, Kubernetes' exact
403s, and a quota that holds when creates race for its last unit.

No quota controller runs here: tests write a quota's status as the controller would (`counted`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.serving import apiserver_serving
from tests.support.slow_store import SlowCommits

PODS = "/api/v1/namespaces/default/pods"
LIMIT_RANGES = "/api/v1/namespaces/default/limitranges"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


def pod(name: str, **resources: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "nginx"}
    if resources:
        container["resources"] = resources
    return {"metadata": {"name": name}, "spec": {"containers": [container]}}


async def counted(api: httpx.AsyncClient, name: str, used: dict[str, str]) -> dict[str, Any]:
    """Write a quota's status as the quota controller does: its spec's hard, and what is `used`."""
    quota = (await api.get(f"{QUOTAS}/{name}")).json()
    quota["status"] = {"hard": quota["spec"]["hard"], "used": used}
    written = await api.put(f"{QUOTAS}/{name}/status", json=quota)
    assert written.status_code == 200, written.text
    result: dict[str, Any] = written.json()
    return result


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=500) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def test_a_limit_range_gives_a_pod_its_defaults_and_says_so(api: httpx.AsyncClient) -> None:
    limits = {"metadata": {"name": "defaults"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m", "memory": "1024Mi"}, "defaultRequest": {"cpu": "0.1"}}]}}
    stored = await api.post(LIMIT_RANGES, json=limits)
    assert stored.status_code == 201, stored.text
    assert stored.json()["spec"]["limits"][0] == {  # written as Kubernetes writes quantities
        "type": "Container", "default": {"cpu": "500m", "memory": "1Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "1Gi"}}
    created = await api.post(PODS, json=pod("web", requests={"memory": "64Mi"}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["spec"]["containers"][0]["resources"] == {
        "requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    assert body["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
        "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app"
    assert body["status"]["qosClass"] == "Burstable"


async def test_a_pod_outside_a_limit_range_is_refused_in_kubernetes_words(api: httpx.AsyncClient) -> None:
    limits = {"metadata": {"name": "bounds"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}, "maxLimitRequestRatio": {"cpu": "2"}}]}}
    assert (await api.post(LIMIT_RANGES, json=limits)).status_code == 201
    too_big = await api.post(PODS, json=pod("big", limits={"cpu": "2", "memory": "128Mi"},
                                            requests={"cpu": "2", "memory": "128Mi"}))
    assert too_big.status_code == 403
    assert too_big.json() | {"metadata": {}} == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
        "details": {"name": "big", "kind": "pods"}}
    several = await api.post(PODS, json=pod("greedy", limits={"cpu": "1", "memory": "32Mi"},
                                            requests={"cpu": "250m", "memory": "32Mi"}))
    assert several.json()["message"] == (
        'pods "greedy" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, '
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]")
    fits = await api.post(PODS, json=pod("fits", limits={"memory": "64Mi"}, requests={"cpu": "500m"}))
    assert fits.status_code == 201, fits.text
    assert fits.json()["spec"]["containers"][0]["resources"]["limits"] == {"memory": "64Mi", "cpu": "1"}


async def test_a_counted_quota_charges_each_pod_and_refuses_the_one_over(api: httpx.AsyncClient) -> None:
    assert (await api.post(QUOTAS, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2"}}})).status_code == 201
    assert (await api.get(f"{QUOTAS}/q")).json()["status"] == {}  # the controller has not counted it yet
    await counted(api, "q", {"pods": "0"})
    for name in ("p1", "p2"):
        assert (await api.post(PODS, json=pod(name))).status_code == 201
    assert (await api.get(f"{QUOTAS}/q")).json()["status"]["used"] == {"pods": "2"}
    refused = await api.post(PODS, json=pod("p3"))
    assert refused.status_code == 403
    assert refused.json() | {"metadata": {}} == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
        "details": {"name": "p3", "kind": "pods"}}
    dry = await api.post(f"{PODS}?dryRun=All", json=pod("p3"))
    assert dry.status_code == 403  # a dry run is judged the same way


async def test_quotas_count_objects_requests_and_limits(api: httpx.AsyncClient) -> None:
    hard = {"configmaps": "1", "count/secrets": "1", "requests.cpu": "1", "limits.memory": "1Gi", "services": "1"}
    assert (await api.post(QUOTAS, json={"metadata": {"name": "mix"}, "spec": {"hard": hard}})).status_code == 201
    await counted(api, "mix", {name: "0" for name in hard})
    assert (await api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "a"}})).status_code == 201
    second = await api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "b"}})
    assert second.json()["message"] == ('configmaps "b" is forbidden: exceeded quota: mix, requested: configmaps=1, '
                                        "used: configmaps=1, limited: configmaps=1")
    undeclared = await api.post(PODS, json=pod("bare"))
    assert undeclared.json()["message"] == ('pods "bare" is forbidden: failed quota: mix: must specify '
                                            "limits.memory for: app; requests.cpu for: app")
    sized = pod("sized", requests={"cpu": "600m"}, limits={"memory": "768Mi"})
    assert (await api.post(PODS, json=sized)).status_code == 201
    again = await api.post(PODS, json={**sized, "metadata": {"generateName": "sized-"}})
    message = again.json()["message"]
    assert message.startswith('pods "sized-') and message.endswith(
        "exceeded quota: mix, requested: limits.memory=768Mi,requests.cpu=600m, used: limits.memory=768Mi,"
        "requests.cpu=600m, limited: limits.memory=1Gi,requests.cpu=1")
    used = (await api.get(f"{QUOTAS}/mix")).json()["status"]["used"]
    assert used == {"configmaps": "1", "count/secrets": "0", "requests.cpu": "600m", "limits.memory": "768Mi",
                    "services": "0"}


async def test_a_quota_not_yet_counted_refuses_what_it_bounds(api: httpx.AsyncClient) -> None:
    assert (await api.post(QUOTAS, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "5"}}})).status_code == 201
    quota = (await api.get(f"{QUOTAS}/q")).json()
    quota["status"] = {"hard": {"pods": "5", "services": "1"}, "used": {"services": "0"}}
    assert (await api.put(f"{QUOTAS}/q/status", json=quota)).status_code == 200
    refused = await api.post(PODS, json=pod("early"))
    assert refused.json()["message"] == 'pods "early" is forbidden: status unknown for quota: q, resources: pods'


async def test_creates_racing_for_a_quota_never_overrun_it() -> None:
    async with apiserver_serving(history=500, store=SlowCommits(history=500)) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as api:
        assert (await api.post(QUOTAS, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "5"}}})).status_code \
            == 201
        await counted(api, "q", {"pods": "0"})
        answers = await asyncio.gather(*(api.post(PODS, json=pod(f"racer-{n}")) for n in range(12)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201] * 5 + [403] * 7, [answer.text for answer in answers if answer.status_code != 201]
        assert all("exceeded quota: q, requested: pods=1, used: pods=5, limited: pods=5" in answer.text
                   for answer in answers if answer.status_code == 403)
        assert (await api.get(f"{QUOTAS}/q")).json()["status"]["used"] == {"pods": "5"}
        assert len((await api.get(PODS)).json()["items"]) == 5


async def test_quota_and_limit_range_validation_speaks_kubernetes(api: httpx.AsyncClient) -> None:
    bad_quota = {"metadata": {"name": "bad"}, "spec": {"hard": {"pods": "1.5", "bananas": "1", "cpu": "-1"}}}
    refused = (await api.post(QUOTAS, json=bad_quota)).json()
    assert refused["reason"] == "Invalid"
    assert [(cause["field"], cause["message"]) for cause in refused["details"]["causes"]] == [
        ("spec.hard[bananas]", 'Invalid value: "bananas": must be a standard resource type or fully qualified'),
        ("spec.hard[bananas]", 'Invalid value: "bananas": must be a standard resource for quota'),
        ("spec.hard[cpu]", 'Invalid value: "-1": must be greater than or equal to 0'),
        ("spec.hard[pods]", 'Invalid value: "1500m": must be an integer'),
    ]
    bad_range = {"metadata": {"name": "bad"}, "spec": {"limits": [
        {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}, {"type": "Node"}]}}
    causes = (await api.post(LIMIT_RANGES, json=bad_range)).json()["details"]["causes"]
    assert ("spec.limits[0].min[cpu]", 'Invalid value: "2": min value 2 is greater than max value 1') in \
        [(cause["field"], cause["message"]) for cause in causes]
    assert ("spec.limits[1].type", 'Invalid value: "Node": must be a standard limit type or fully qualified') in \
        [(cause["field"], cause["message"]) for cause in causes]
