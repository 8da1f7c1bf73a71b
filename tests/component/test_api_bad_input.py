"""Bad input of any shape gets a 4xx Status, never a 500 or a crash."""

from __future__ import annotations

import json

import httpx
import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

from minik8s.api.registry import REGISTRY

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(["metadata", "spec", "status", "data", "template", "containers", "selector",
                               "ports", "name", "labels", "replicas", "subsets", "involvedObject", "type"])
# Objects shaped like Kubernetes objects, with the wrong types in the wrong places.
OBJECTS = st.fixed_dictionaries(
    {"metadata": st.fixed_dictionaries({"name": st.sampled_from(["ok", "x" * 300, "Bad_Name", ""])},
                                       optional={"labels": JSON_VALUES, "finalizers": JSON_VALUES})},
    optional={"spec": st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=4),
              "data": JSON_VALUES, "subsets": JSON_VALUES},
)


def collection_url(plural: str) -> str:
    resource = REGISTRY.resolve(plural)
    assert resource is not None
    base = f"/apis/{resource.group_version}" if resource.group else "/api/v1"
    return f"{base}/namespaces/default/{plural}" if resource.namespaced else f"{base}/{plural}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plural=st.sampled_from([r.plural for r in REGISTRY.kinds]), body=OBJECTS)
@example(plural="pods", body={"metadata": {"name": "ok"}, "spec": {"containers": 0}})  # QoS class ran before validation
@example(plural="pods", body={"metadata": {"name": "ok"}, "spec": {"containers": [0]}})
async def test_random_objects_never_cause_a_server_error(api: httpx.AsyncClient, plural: str, body: dict) -> None:
    response = await api.post(collection_url(plural), content=json.dumps(body),
                              headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["kind"] == "Status"
    else:
        name = response.json()["metadata"]["name"]
        await api.delete(f"{collection_url(plural)}/{name}", params={"gracePeriodSeconds": "0"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patch=JSON_VALUES, content_type=st.sampled_from(["application/merge-patch+json",
                                                        "application/strategic-merge-patch+json",
                                                        "application/json-patch+json"]))
async def test_random_patches_never_cause_a_server_error(api: httpx.AsyncClient, patch: object,
                                                         content_type: str) -> None:
    url = "/apis/apps/v1/namespaces/default/deployments/target"
    await api.post("/apis/apps/v1/namespaces/default/deployments", json={
        "metadata": {"name": "target"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    response = await api.patch(url, content=json.dumps(patch), headers={"content-type": content_type})
    assert response.status_code < 500, response.text
