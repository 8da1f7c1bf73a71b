"""The REST API's object semantics, as Kubernetes clients rely on them."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.support import builders

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def configmap(name: str, **data: str) -> dict[str, object]:
    return builders.config_map(name, labels={"app": name}, **data)


def pod(name: str, **labels: str) -> dict[str, object]:
    return builders.pod(name, labels=labels or {"app": name}, containers=[builders.container("c")])


def deployment(name: str, replicas: int = 2) -> dict[str, object]:
    return builders.deployment(name, replicas=replicas,
                               pod_spec={"containers": [builders.container("web", "minik8s/busybox:v1")]})


def assert_status(response: httpx.Response, code: int, reason: str) -> dict[str, object]:
    assert response.status_code == code, response.text
    body = response.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body  # type: ignore[no-any-return]


async def test_system_namespaces_exist_from_the_start(api: httpx.AsyncClient) -> None:
    names = [ns["metadata"]["name"] for ns in (await api.get("/api/v1/namespaces")).json()["items"]]
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)


async def test_create_sets_server_metadata_and_get_returns_it(api: httpx.AsyncClient) -> None:
    created = await api.post(CM, json=configmap("settings", mode="fast"))
    assert created.status_code == 201
    metadata = created.json()["metadata"]
    assert metadata["uid"] and metadata["creationTimestamp"].endswith("Z")
    assert int(metadata["resourceVersion"]) > 0 and metadata["namespace"] == "default"
    fetched = (await api.get(f"{CM}/settings")).json()
    assert fetched["data"] == {"mode": "fast"}
    assert fetched["metadata"]["resourceVersion"] == metadata["resourceVersion"]


async def test_generate_name_gives_a_unique_name(api: httpx.AsyncClient) -> None:
    body = {"metadata": {"generateName": "web-"}, "data": {}}
    names = {(await api.post(CM, json=body)).json()["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("web-") and len(n) == 9 for n in names)


async def test_errors_are_kubernetes_status_objects(api: httpx.AsyncClient) -> None:
    await api.post(CM, json=configmap("dup"))
    assert_status(await api.post(CM, json=configmap("dup")), 409, "AlreadyExists")
    assert_status(await api.get(f"{CM}/missing"), 404, "NotFound")
    assert_status(await api.get("/api/v1/namespaces/default/widgets"), 404, "NotFound")
    assert_status(await api.get("/apis/nope/v1/things"), 404, "NotFound")
    assert_status(await api.post("/api/v1/namespaces/nowhere/configmaps", json=configmap("x")), 404, "NotFound")
    bad_json = await api.post(CM, content=b"{not json", headers={"content-type": "application/json"})
    assert_status(bad_json, 400, "BadRequest")
    huge = configmap("huge", blob="x" * (3 * 1024 * 1024 + 10))
    assert_status(await api.post(CM, json=huge), 413, "RequestEntityTooLarge")


async def test_invalid_objects_name_the_offending_fields(api: httpx.AsyncClient) -> None:
    body = assert_status(await api.post(CM, json=configmap("Not_Valid")), 422, "Invalid")
    assert "metadata.name" in [c["field"] for c in body["details"]["causes"]]  # type: ignore[index]
    bad = deployment("bad")
    bad["spec"]["replicas"] = -1  # type: ignore[index]
    body = assert_status(await api.post(DEPLOYS, json=bad), 422, "Invalid")
    assert "spec.replicas" in [c["field"] for c in body["details"]["causes"]]  # type: ignore[index]
    assert 'Deployment "bad" is invalid' in str(body["message"])
    no_containers = {"metadata": {"name": "empty"}, "spec": {"containers": []}}
    assert_status(await api.post(PODS, json=no_containers), 422, "Invalid")


async def test_yaml_bodies_are_accepted(api: httpx.AsyncClient) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n"
    response = await api.post(CM, content=text.encode(), headers={"content-type": "application/yaml"})
    assert response.status_code == 201 and response.json()["data"] == {"a": "b"}


async def test_put_with_a_stale_resource_version_conflicts(api: httpx.AsyncClient) -> None:
    created = (await api.post(CM, json=configmap("cas"))).json()
    first, second = dict(created, data={"v": "1"}), dict(created, data={"v": "2"})
    responses = await asyncio.gather(api.put(f"{CM}/cas", json=first), api.put(f"{CM}/cas", json=second))
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["reason"] == "Conflict"
    unconditional = dict(created, data={"v": "3"})
    del unconditional["metadata"]["resourceVersion"]
    assert (await api.put(f"{CM}/cas", json=unconditional)).json()["data"] == {"v": "3"}


async def test_status_and_spec_are_written_separately(api: httpx.AsyncClient) -> None:
    created = (await api.post(DEPLOYS, json=deployment("split"))).json()
    assert created["metadata"]["generation"] == 1
    created["status"] = {"replicas": 7}
    created["spec"]["replicas"] = 3
    updated = (await api.put(f"{DEPLOYS}/split", json=created)).json()
    assert updated["spec"]["replicas"] == 3 and updated["status"] == {}
    assert updated["metadata"]["generation"] == 2
    updated["status"] = {"replicas": 3, "observedGeneration": 2}
    updated["spec"]["replicas"] = 9
    status_written = (await api.put(f"{DEPLOYS}/split/status", json=updated)).json()
    assert status_written["status"]["replicas"] == 3 and status_written["spec"]["replicas"] == 3
    assert status_written["metadata"]["generation"] == 2


async def test_defaults_are_applied_as_kubernetes_does(api: httpx.AsyncClient) -> None:
    created = (await api.post(DEPLOYS, json=deployment("defaults"))).json()
    assert created["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert created["spec"]["revisionHistoryLimit"] == 10
    assert created["spec"]["progressDeadlineSeconds"] == 600
    container = created["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    made = (await api.post(PODS, json=pod("p-defaults"))).json()
    assert made["spec"]["restartPolicy"] == "Always" and made["status"]["phase"] == "Pending"
    assert made["spec"]["terminationGracePeriodSeconds"] == 30


async def test_a_pod_runs_as_the_default_service_account_unless_it_names_one(api: httpx.AsyncClient) -> None:
    """The ServiceAccount admission plugin's defaulting; the account need not exist yet."""
    made = (await api.post(PODS, json=pod("sa-default"))).json()
    assert (made["spec"]["serviceAccountName"], made["spec"]["serviceAccount"]) == ("default", "default")
    named = pod("sa-named")
    named["spec"].update(serviceAccountName="robot", automountServiceAccountToken=False)  # type: ignore[attr-defined]
    response = await api.post(PODS, json=named)
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("robot", "robot")
    assert spec["automountServiceAccountToken"] is False
    assert "volumes" not in spec  # no token volume is projected yet
    stored = (await api.get(f"{PODS}/sa-named")).json()
    assert stored["spec"]["serviceAccountName"] == "robot"


async def test_label_and_field_selectors_filter_lists(api: httpx.AsyncClient) -> None:
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        await api.post(PODS, json=pod(f"sel-{name}", tier=tier))
    listed = (await api.get(PODS, params={"labelSelector": "tier=web"})).json()
    assert sorted(p["metadata"]["name"] for p in listed["items"]) == ["sel-a", "sel-b"]
    listed = (await api.get(PODS, params={"labelSelector": "tier in (db),tier!=web"})).json()
    assert [p["metadata"]["name"] for p in listed["items"]] == ["sel-c"]
    listed = (await api.get("/api/v1/pods", params={"fieldSelector": "metadata.name=sel-b"})).json()
    assert [p["metadata"]["name"] for p in listed["items"]] == ["sel-b"]
    unscheduled = (await api.get(PODS, params={"fieldSelector": "spec.nodeName="})).json()
    assert len(unscheduled["items"]) == 3
    assert_status(await api.get(PODS, params={"labelSelector": "tier in (("}), 400, "BadRequest")
    assert_status(await api.get(PODS, params={"fieldSelector": "spec.image=x"}), 400, "BadRequest")


async def test_list_pages_with_limit_and_continue(api: httpx.AsyncClient) -> None:
    for index in range(5):
        await api.post(CM, json=configmap(f"page-{index}"))
    first = (await api.get(CM, params={"limit": 3, "labelSelector": "app"})).json()
    assert len(first["items"]) == 3 and first["metadata"]["remainingItemCount"] == 2
    rest = (await api.get(CM, params={"limit": 3, "labelSelector": "app",
                                      "continue": first["metadata"]["continue"]})).json()
    names = [c["metadata"]["name"] for c in first["items"] + rest["items"]]
    assert names == [f"page-{i}" for i in range(5)] and "continue" not in rest["metadata"]


async def test_patches_of_all_four_kinds(api: httpx.AsyncClient) -> None:
    await api.post(DEPLOYS, json=deployment("patched"))
    url = f"{DEPLOYS}/patched"
    merge = await api.patch(url, content=json.dumps({"metadata": {"labels": {"team": "a"}}}),
                            headers={"content-type": "application/merge-patch+json"})
    assert merge.json()["metadata"]["labels"] == {"team": "a"}
    smp = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "web"}],
                                          "containers": [{"name": "web", "image": "minik8s/busybox:v2"}]}}}}
    strategic = await api.patch(url, content=json.dumps(smp),
                                headers={"content-type": "application/strategic-merge-patch+json"})
    container = strategic.json()["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "minik8s/busybox:v2" and container["name"] == "web"
    assert strategic.json()["metadata"]["generation"] == 2
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 5}]
    jsonpatch = await api.patch(url, content=json.dumps(ops), headers={"content-type": "application/json-patch+json"})
    assert jsonpatch.json()["spec"]["replicas"] == 5
    applied = configmap("server-side", k="v")
    created = await api.patch(f"{CM}/server-side", content=json.dumps(applied),
                              headers={"content-type": "application/apply-patch+yaml"})
    assert created.status_code == 201 and created.json()["data"] == {"k": "v"}
    unsupported = await api.patch(url, content=b"{}", headers={"content-type": "text/plain"})
    assert unsupported.status_code == 415 and unsupported.json()["kind"] == "Status"


async def test_scale_subresource(api: httpx.AsyncClient) -> None:
    await api.post(DEPLOYS, json=deployment("scaled", replicas=2))
    scale = (await api.get(f"{DEPLOYS}/scaled/scale")).json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=scaled"
    patched = await api.patch(f"{DEPLOYS}/scaled/scale", content=json.dumps({"spec": {"replicas": 4}}),
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.json()["spec"]["replicas"] == 4
    assert (await api.get(f"{DEPLOYS}/scaled")).json()["spec"]["replicas"] == 4


async def test_binding_is_compare_and_set(api: httpx.AsyncClient) -> None:
    await api.post(PODS, json=pod("bound"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
               "target": {"kind": "Node", "name": "node-1"}}
    first, second = await asyncio.gather(
        api.post(f"{PODS}/bound/binding", json=binding),
        api.post(f"{PODS}/bound/binding", json=dict(binding, target={"kind": "Node", "name": "node-2"})),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    bound = (await api.get(f"{PODS}/bound")).json()
    assert bound["spec"]["nodeName"] in ("node-1", "node-2")
    assert {"type": "PodScheduled", "status": "True"}.items() <= bound["status"]["conditions"][0].items()


@pytest.mark.parametrize("target", [[{"name": "node-1"}], "node-1", {"name": 5}])
async def test_a_binding_whose_target_is_no_node_reference_is_invalid(api: httpx.AsyncClient, target: object) -> None:
    """Found by the schemathesis fuzzer (tests/fuzz): a list as the target was a 500."""
    await api.post(PODS, json=pod("targeted"))
    response = await api.post(f"{PODS}/targeted/binding", json={"target": target})
    status = assert_status(response, 422, "Invalid")
    assert [cause["field"] for cause in status["details"]["causes"]] in (["target"], ["target.name"])  # type: ignore[index]
    assert "nodeName" not in (await api.get(f"{PODS}/targeted")).json()["spec"]


async def test_pod_deletion_is_graceful_once_scheduled(api: httpx.AsyncClient) -> None:
    await api.post(PODS, json=pod("unscheduled"))
    assert (await api.delete(f"{PODS}/unscheduled")).status_code == 200
    assert (await api.get(f"{PODS}/unscheduled")).status_code == 404
    scheduled = pod("scheduled")
    scheduled["spec"]["nodeName"] = "node-1"  # type: ignore[index]
    await api.post(PODS, json=scheduled)
    marked = (await api.delete(f"{PODS}/scheduled")).json()
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert (await api.get(f"{PODS}/scheduled")).status_code == 200
    await api.request("DELETE", f"{PODS}/scheduled", json={"gracePeriodSeconds": 0})
    assert (await api.get(f"{PODS}/scheduled")).status_code == 404


async def test_finalizers_hold_an_object_until_removed(api: httpx.AsyncClient) -> None:
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]  # type: ignore[index]
    await api.post(CM, json=held)
    marked = (await api.delete(f"{CM}/held")).json()
    assert marked["metadata"]["deletionTimestamp"]
    assert (await api.get(f"{CM}/held")).status_code == 200
    released = await api.patch(f"{CM}/held", content=json.dumps({"metadata": {"finalizers": None}}),
                               headers={"content-type": "application/merge-patch+json"})
    assert released.status_code == 200
    assert (await api.get(f"{CM}/held")).status_code == 404


async def test_delete_collection_by_label(api: httpx.AsyncClient) -> None:
    for index in range(3):
        await api.post(CM, json={"metadata": {"name": f"coll-{index}", "labels": {"batch": "x"}}})
    await api.post(CM, json={"metadata": {"name": "coll-keep", "labels": {"batch": "y"}}})
    assert (await api.delete(CM, params={"labelSelector": "batch=x"})).status_code == 200
    left = (await api.get(CM, params={"labelSelector": "batch"})).json()["items"]
    assert [c["metadata"]["name"] for c in left] == ["coll-keep"]


async def test_system_namespaces_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    assert_status(await api.delete("/api/v1/namespaces/default"), 403, "Forbidden")


async def test_discovery_version_and_openapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/version")).json()["minor"] == "32"
    assert (await api.get("/api")).json()["versions"] == ["v1"]
    groups = {g["name"] for g in (await api.get("/apis")).json()["groups"]}
    assert groups == {"apps", "coordination.k8s.io", "rbac.authorization.k8s.io", "authorization.k8s.io",
                      "authentication.k8s.io", "batch", "policy", "scheduling.k8s.io", "storage.k8s.io"}
    core = {r["name"]: r for r in (await api.get("/api/v1")).json()["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and "all" in core["pods"]["categories"]
    assert core["pods/eviction"]["group"] == "policy" and core["pods/binding"]["kind"] == "Binding"
    apps = {r["name"] for r in (await api.get("/apis/apps/v1")).json()["resources"]}
    assert {"deployments", "deployments/scale", "replicasets", "daemonsets"} <= apps
    authentication = {r["name"]: r["verbs"] for r in (await api.get("/apis/authentication.k8s.io/v1")).json()["resources"]}
    assert authentication == {"selfsubjectreviews": ["create"], "tokenreviews": ["create"]}  # kubectl auth whoami
    index = (await api.get("/openapi/v3")).json()["paths"]
    document = (await api.get(index["apis/apps/v1"]["serverRelativeURL"])).json()
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    rbac = (await api.get(index["apis/rbac.authorization.k8s.io/v1"]["serverRelativeURL"])).json()["paths"]
    assert "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles" in rbac
    reviews = (await api.get(index["apis/authorization.k8s.io/v1"]["serverRelativeURL"])).json()["paths"]
    assert list(reviews) == [f"/apis/authorization.k8s.io/v1{scope}/{plural}" for scope, plural in (
        ("/namespaces/{namespace}", "localsubjectaccessreviews"), ("", "selfsubjectaccessreviews"),
        ("", "selfsubjectrulesreviews"), ("", "subjectaccessreviews"))]


async def test_server_side_tables_for_kubectl(api: httpx.AsyncClient) -> None:
    await api.post(PODS, json=pod("tabled"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = (await api.get(PODS, headers={"accept": accept})).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    row = next(r for r in table["rows"] if r["cells"][0] == "tabled")
    assert row["cells"][1:3] == ["0/1", "Pending"]
    assert row["object"]["kind"] == "PartialObjectMetadata"


async def test_health_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).text == "ok"
    assert (await api.get("/readyz")).status_code == 200
    metrics = (await api.get("/metrics")).text
    assert "apiserver_request_total" in metrics and "minik8s_store_revision" in metrics


async def test_secret_string_data_is_stored_as_base64_data(api: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "creds"}, "data": {"user": "YWRtaW4="}, "stringData": {"password": "s3cret"}}
    created = (await api.post("/api/v1/namespaces/default/secrets", json=body)).json()
    assert created["data"] == {"user": "YWRtaW4=", "password": "czNjcmV0"} and "stringData" not in created
    assert created["type"] == "Opaque"
