"""The served OpenAPI documents describe the API as it is served, in the shape kubectl and fuzzers read.

`/openapi/v3` lists one document per group-version; each must define every path parameter it uses
(an undefined `{namespace}` made standard fuzzers give up), carry Kubernetes' query parameters and
extensions, resolve every `$ref` on its own, and name exactly the paths the apiserver answers.
kubectl's own reading is pinned too: it looks for `fieldValidation` on every PATCH of a kind and
would compute `apply` patches from our schemas if a PATCH listed strategic merge patches.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import schemathesis

from minik8s.api.registry import REGISTRY

Document = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
PATH_PARAMETER = re.compile(r"{([^}]+)}")


async def documents(api: httpx.AsyncClient) -> dict[str, Document]:
    index = (await api.get("/openapi/v3")).json()["paths"]
    return {key: (await api.get(entry["serverRelativeURL"])).json() for key, entry in index.items()}


def operations(document: Document) -> list[tuple[str, str, Document, list[Document]]]:
    """(path, method, operation, its parameters including the path item's)."""
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                found.append((path, method, operation, item.get("parameters", []) + operation.get("parameters", [])))
    return found


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


async def test_every_group_version_has_a_document_that_defines_each_path_parameter(api: httpx.AsyncClient) -> None:
    served = await documents(api)
    assert set(served) == {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in REGISTRY.group_versions()}
    for key, document in served.items():
        for path, method, operation, parameters in operations(document):
            declared = {p["name"] for p in parameters if p["in"] == "path" and p["required"] is True}
            assert declared == set(PATH_PARAMETER.findall(path)), (key, path, method)
            assert operation["x-kubernetes-action"] in ("get", "list", "post", "put", "patch", "delete",
                                                        "deletecollection", "connect")
            assert set(operation["x-kubernetes-group-version-kind"]) == {"group", "version", "kind"}
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Status"}
        schemas = document["components"]["schemas"]
        assert {ref.removeprefix("#/components/schemas/") for ref in refs(document)} <= set(schemas), key


async def test_verbs_carry_kubernetes_query_parameters_and_bodies(api: httpx.AsyncClient) -> None:
    core = (await documents(api))["api/v1"]
    pods = core["paths"]["/api/v1/namespaces/{namespace}/pods"]
    names = {method: {p["name"] for p in pods[method]["parameters"]} for method in ("get", "post", "delete")}
    assert names["get"] == {"allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                            "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch"}
    assert names["post"] == {"dryRun", "fieldManager", "fieldValidation"}
    assert {"gracePeriodSeconds", "propagationPolicy", "orphanDependents", "labelSelector"} <= names["delete"]
    assert pods["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("v1.PodList")
    assert pods["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("core.v1.Pod")
    pod = core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert {p["name"] for p in pod["delete"]["parameters"]} == {"dryRun", "gracePeriodSeconds", "orphanDependents",
                                                                 "propagationPolicy"}
    limit = next(p for p in pods["get"]["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query" and limit["schema"]["type"] == "integer"
    apps = (await documents(api))["apis/apps/v1"]["paths"]
    scale = apps["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["put"]["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    status = apps["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert status["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Deployment"


async def test_kubectl_finds_field_validation_on_every_patch_and_no_strategic_merge_schema(
        api: httpx.AsyncClient) -> None:
    for document in (await documents(api)).values():
        for path, method, operation, _ in operations(document):
            if method != "patch":
                continue
            inline = [p for p in operation["parameters"] if p.get("name") == "fieldValidation" and p["in"] == "query"]
            assert inline, path  # kubectl stops at the first PATCH of the kind and reads only inline parameters
            assert "application/strategic-merge-patch+json" not in operation["requestBody"]["content"], path


async def test_every_kind_has_a_schema_kubectl_explain_finds_by_its_kind(api: httpx.AsyncClient) -> None:
    served = await documents(api)
    for resource in (*REGISTRY.kinds, *REGISTRY.virtual):
        key = f"apis/{resource.group}/{resource.version}" if resource.group else f"api/{resource.version}"
        tagged = [schema for schema in served[key]["components"]["schemas"].values()
                  if {"group": resource.group, "version": resource.version, "kind": resource.kind}
                  in schema.get("x-kubernetes-group-version-kind", [])]
        assert len(tagged) == 1, resource.kind
        assert {"apiVersion", "kind", "metadata"} <= set(tagged[0]["properties"])


async def test_every_described_path_is_served(api: httpx.AsyncClient) -> None:
    """A concrete request to each path answers from the API (an object's 404 names the object), never the
    router's 404 for an unknown path."""
    for document in (await documents(api)).values():
        for path, method, _, _ in operations(document):
            if path.endswith(("/log", "/exec")):
                continue  # answered by the node agent through the apiserver's proxy
            url = path.replace("{namespace}", "default").replace("{name}", "absent")
            response = await api.request(method.upper(), url, json={} if method in ("post", "put") else None,
                                         headers={"content-type": "application/merge-patch+json"}
                                         if method == "patch" else None)
            assert response.status_code != 405, (method, url, response.text)
            if response.status_code == 404:
                assert "could not find the requested resource" not in response.json()["message"], (method, url)


async def test_the_documents_are_valid_openapi(api: httpx.AsyncClient) -> None:
    for key, document in (await documents(api)).items():
        schemathesis.openapi.from_dict(document).validate()  # raises on a document the meta-schema refuses
        assert document["openapi"].startswith("3."), key
    swagger = (await api.get("/openapi/v2", headers={"accept": "application/json"})).json()
    schemathesis.openapi.from_dict(swagger).validate()
    v3_paths = {path for document in (await documents(api)).values() for path in document["paths"]}
    assert set(swagger["paths"]) == v3_paths
    assert {ref.removeprefix("#/definitions/") for ref in refs(swagger)} <= set(swagger["definitions"])
    patch = swagger["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert next(p for p in patch["parameters"] if p["in"] == "body")["schema"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}


@pytest.mark.parametrize("path", ["/openapi/v3/apis/apps/v2", "/openapi/v3/api/v2", "/openapi/v3/nope"])
async def test_an_unknown_document_is_a_not_found_status(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404 and response.json()["kind"] == "Status"
