"""StatefulSets and ControllerRevisions through the apiserver, as kubectl sends and reads them."""

from __future__ import annotations

from typing import Any

import httpx

STS = "/apis/apps/v1/namespaces/default/statefulsets"
REVISIONS = "/apis/apps/v1/namespaces/default/controllerrevisions"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def stateful_set(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"serviceName": "web", "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "web", "image": "nginx:1.27", "volumeMounts": [{"name": "www", "mountPath": "/d"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
                     **spec}}


async def test_a_stateful_set_is_stored_with_kubernetes_defaults(api: httpx.AsyncClient) -> None:
    response = await api.post(STS, json=stateful_set())
    assert response.status_code == 201, response.text
    created = response.json()
    spec = created["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady" and spec["revisionHistoryLimit"] == 10
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    template = spec["volumeClaimTemplates"][0]
    assert (template["apiVersion"], template["kind"], template["spec"]["volumeMode"], template["status"]) == (
        "v1", "PersistentVolumeClaim", "Filesystem", {"phase": "Pending"})
    assert created["metadata"]["generation"] == 1 and created["status"] == {}


async def test_only_the_mutable_fields_of_the_spec_may_change(api: httpx.AsyncClient) -> None:
    created = (await api.post(STS, json=stateful_set())).json()
    created["spec"]["serviceName"] = "other"
    response = await api.put(f"{STS}/web", json=created)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["message"].startswith(
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'")
    scaled = await api.patch(f"{STS}/web", json={"spec": {"replicas": 5, "minReadySeconds": 3}},
                             headers={"content-type": "application/merge-patch+json"})
    assert scaled.status_code == 200 and scaled.json()["metadata"]["generation"] == 2


async def test_refused_stateful_sets_say_why(api: httpx.AsyncClient) -> None:
    cases = [
        (stateful_set("web.v1"), "metadata.name"),
        (stateful_set(podManagementPolicy="Random"), "spec.podManagementPolicy"),
        (stateful_set(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
         "spec.updateStrategy.rollingUpdate"),
        (stateful_set(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}),
         "spec.updateStrategy.rollingUpdate.maxUnavailable"),
        (stateful_set(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep"}),
         "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"),
        (stateful_set(ordinals={"start": -1}), "spec.ordinals.start"),
        (stateful_set(selector={"matchLabels": {"app": "other"}}), "spec.template.metadata.labels"),
    ]
    for body, field in cases:
        response = await api.post(STS, json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in [cause["field"] for cause in response.json()["details"]["causes"]], response.text


async def test_scale_subresource_and_table(api: httpx.AsyncClient) -> None:
    await api.post(STS, json=stateful_set())
    scale = (await api.get(f"{STS}/web/scale")).json()
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]) == ("Scale", 3, "app=web")
    patched = await api.patch(f"{STS}/web/scale", json={"spec": {"replicas": 1}},
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    table = (await api.get(STS, headers={"accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Ready", "Age", "Containers", "Images"]
    assert table["rows"][0]["cells"][:2] == ["web", "0/1"] and table["rows"][0]["cells"][3:] == ["web", "nginx:1.27"]


async def test_rollout_undo_patch_puts_a_revisions_template_back(api: httpx.AsyncClient) -> None:
    """kubectl rollout undo sends a revision's data, a strategic merge patch replacing spec.template."""
    created = (await api.post(STS, json=stateful_set())).json()
    old_template = created["spec"]["template"]
    await api.patch(f"{STS}/web", json={"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.28"}]}}}}, headers={"content-type": "application/strategic-merge-patch+json"})
    undo = {"spec": {"template": {**old_template, "$patch": "replace"}}}
    response = await api.patch(f"{STS}/web", json=undo,
                               headers={"content-type": "application/strategic-merge-patch+json"})
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["template"] == old_template


async def test_a_controller_revision_keeps_its_data(api: httpx.AsyncClient) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u-1", "controller": True}
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-abc", "labels": {"app": "web"}, "ownerReferences": [owner]},
            "data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 1}
    created = await api.post(REVISIONS, json=body)
    assert created.status_code == 201, created.text
    changed = {**created.json(), "data": {"spec": {}}}
    response = await api.put(f"{REVISIONS}/web-abc", json=changed)
    assert response.status_code == 422 and response.json()["details"]["causes"][0]["field"] == "data"
    renumbered = await api.put(f"{REVISIONS}/web-abc", json={**created.json(), "revision": 3})
    assert renumbered.status_code == 200 and renumbered.json()["revision"] == 3
    no_data = await api.post(REVISIONS, json={**body, "metadata": {"name": "web-x"}, "data": None})
    assert no_data.status_code == 422
    table = (await api.get(REVISIONS, headers={"accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Controller", "Revision", "Age"]
    assert table["rows"][0]["cells"][:3] == ["web-abc", "statefulset.apps/web", 3]
