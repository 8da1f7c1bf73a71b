"""The Swagger 2.0 document (`/openapi/v2` as JSON): every group-version's v3 document in one.

Tools that read one document for a whole API (Swagger 2.0 fuzzers and generators) get the same
paths, parameters, bodies and schemas as `/openapi/v3`, rewritten in 2.0's terms: a body
parameter instead of `requestBody`, `consumes`/`produces` instead of `content`, `definitions`
instead of `components.schemas`, and a string for what v3 gives as `oneOf` (IntOrString,
Quantity), as Kubernetes' v2 does. kubectl asks `/openapi/v2` only as protobuf and gets a
document without paths (see `discovery`), so this JSON may list strategic merge patches.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.openapi_kinds import SCHEMAS
from minik8s.api.openapi_schema import PATCH, REF_PREFIX, Schema
from minik8s.apiserver.openapi_paths import PATCH_MEDIA_TYPES, Document

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_DEFINITIONS = "#/definitions/"
_METHODS = ("get", "put", "post", "delete", "patch")


def swagger(documents: list[Document], info: dict[str, str]) -> Document:
    """One Swagger 2.0 document with the paths and schemas of every v3 document in `documents`."""
    paths: Document = {}
    definitions: Document = {PATCH: SCHEMAS[PATCH]}  # the body of every PATCH here
    for document in documents:
        for path, item in document["paths"].items():
            paths[path] = _path_item(item)
        definitions.update(_schema(document["components"]["schemas"]))
    return {"swagger": "2.0", "info": info, "paths": paths, "definitions": dict(sorted(definitions.items()))}


def _path_item(item: Document) -> Document:
    converted: Document = {method: _operation(item[method]) for method in _METHODS if method in item}
    if "parameters" in item:
        converted["parameters"] = [_parameter(parameter) for parameter in item["parameters"]]
    return converted


def _operation(operation: Document) -> Document:
    converted = {key: value for key, value in operation.items() if key not in ("parameters", "requestBody",
                                                                                  "responses")}
    parameters = [_parameter(parameter) for parameter in operation.get("parameters", [])]
    body = operation.get("requestBody")
    if body is not None:
        media_types = list(body["content"])
        schema = next(iter(body["content"].values()))["schema"]
        if operation["x-kubernetes-action"] == "patch":  # one schema serves every patch type, as in Kubernetes
            media_types, schema = [*PATCH_MEDIA_TYPES[:2], STRATEGIC_MERGE_PATCH, PATCH_MEDIA_TYPES[2]], \
                {"$ref": f"{REF_PREFIX}{PATCH}"}
        converted["consumes"] = media_types
        parameters.append({"name": "body", "in": "body", "required": bool(body.get("required")),
                           "schema": _schema(schema)})
    if parameters:
        converted["parameters"] = parameters
    produces: list[str] = []
    responses: Document = {}
    for code, response in operation["responses"].items():
        responses[code] = {"description": response["description"]}
        for media_type, content in response.get("content", {}).items():
            responses[code].setdefault("schema", _schema(content["schema"]))
            if media_type not in produces:
                produces.append(media_type)
    converted["produces"] = produces
    converted["responses"] = responses
    return converted


def _parameter(parameter: Document) -> Document:
    converted = {key: value for key, value in parameter.items() if key != "schema"}
    converted.update(parameter["schema"])
    return converted


def _schema(schema: Any) -> Any:
    """`schema` with 2.0's references, and `oneOf` flattened to the string it is on the wire."""
    if isinstance(schema, list):
        return [_schema(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    converted: Schema = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str):
            converted[key] = value.replace(REF_PREFIX, _DEFINITIONS)
        elif key == "oneOf":
            converted["type"] = "string"
        else:
            converted[key] = _schema(value)
    return converted
