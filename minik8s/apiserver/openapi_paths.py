"""The OpenAPI v3 document of one group-version: every path the apiserver serves for its kinds.

Built from the kind registry as Kubernetes builds its own: each collection, object and
subresource path with its path parameters (`namespace`, `name`), Kubernetes' query parameters
per verb, request bodies and responses by schema, `x-kubernetes-action` and
`x-kubernetes-group-version-kind` on every operation, and a Kubernetes `Status` as the answer
to every error. kubectl reads these documents (`explain`, and whether the server validates
fields: the `fieldValidation` parameter of a kind's PATCH), and API fuzzers generate requests
from them.

One deliberate difference from Kubernetes: a PATCH does not list
`application/strategic-merge-patch+json`. When it does, `kubectl apply` computes its patches from
these schemas instead of its compiled-in types, and these schemas carry no merge keys; without
it, kubectl keeps using its own types (it still sends strategic merge patches, which the server
takes). The Swagger 2.0 document (`openapi_v2`), which kubectl never reads as JSON, lists it.
"""

from __future__ import annotations

from typing import Any

from minik8s.api.openapi_kinds import closure, schema_name
from minik8s.api.openapi_schema import DELETE_OPTIONS, STATUS, Schema, ref, references
from minik8s.api.registry import REGISTRY, ResourceKind

Document = dict[str, Any]
Parameter = dict[str, Any]

JSON = "application/json"
BODY_MEDIA_TYPES = (JSON, "application/yaml")
PATCH_MEDIA_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
INFO = {"title": "minik8s", "version": "v1.32.0-minik8s"}


def _parameter(name: str, where: str, schema: Schema, description: str) -> Parameter:
    parameter: Parameter = {"name": name, "in": where, "description": description, "schema": schema}
    if where == "path":
        parameter["required"] = True
    return parameter


def _query(name: str, type_: str, description: str) -> Parameter:
    return _parameter(name, "query", {"type": type_, "uniqueItems": True}, description)


QUERY: dict[str, Parameter] = {parameter["name"]: parameter for parameter in (
    _query("pretty", "string", "If 'true', the output is pretty printed."),
    _query("dryRun", "string", "When present, nothing is persisted. The only valid value is `All`."),
    _query("fieldManager", "string", "The name of the actor making the change."),
    _query("fieldValidation", "string", "What to do with unknown or duplicate fields: `Ignore`, `Warn` or "
                                        "`Strict` (refused with 400 BadRequest)."),
    _query("force", "boolean", "Apply requests only: take over fields another manager owns."),
    _query("labelSelector", "string", "Only objects whose labels match (e.g. `app=web,tier!=db`)."),
    _query("fieldSelector", "string", "Only objects whose fields match (e.g. `spec.nodeName=node-1`)."),
    _query("limit", "integer", "The most objects to return; a `continue` token follows when there are more."),
    _query("continue", "string", "The token of the previous page, to read the next one."),
    _query("resourceVersion", "string", "The store revision to read at, or to watch from."),
    _query("resourceVersionMatch", "string", "How resourceVersion applies to a list: `Exact` or `NotOlderThan`."),
    _query("timeoutSeconds", "integer", "How long a list or watch may take."),
    _query("watch", "boolean", "Stream the changes (added, modified, deleted) instead of listing."),
    _query("allowWatchBookmarks", "boolean", "Let a watch send BOOKMARK events."),
    _query("sendInitialEvents", "boolean", "Start a watch with the current objects as ADDED events."),
    _query("gracePeriodSeconds", "integer", "Seconds before the object is deleted; zero deletes at once."),
    _query("propagationPolicy", "string", "Whether and how dependents are deleted: `Orphan`, `Background` or "
                                          "`Foreground`."),
    _query("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
)}
LIST_PARAMETERS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
                   "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
WRITE_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation")
DELETE_PARAMETERS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
DELETE_COLLECTION_PARAMETERS = ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds", "labelSelector", "limit",
                                "orphanDependents", "propagationPolicy", "resourceVersion", "resourceVersionMatch",
                                "sendInitialEvents", "timeoutSeconds")
LOG_PARAMETERS = (_query("container", "string", "The container whose log to read; the only one by default."),
                  _query("follow", "boolean", "Stream the log as it grows."),
                  _query("limitBytes", "integer", "The most bytes of log to return."),
                  _query("previous", "boolean", "The log of the previous, terminated container."),
                  _query("sinceSeconds", "integer", "Only lines newer than this many seconds."),
                  _query("tailLines", "integer", "Only this many lines from the end."),
                  _query("timestamps", "boolean", "Prefix every line with its RFC 3339 timestamp."))
EXEC_PARAMETERS = (_query("command", "string", "The command to run (repeat it for each argument)."),
                   _query("container", "string", "The container to run it in; the only one by default."),
                   _query("stdin", "boolean", "Attach stdin."), _query("stdout", "boolean", "Attach stdout."),
                   _query("stderr", "boolean", "Attach stderr."), _query("tty", "boolean", "Allocate a terminal."))
NAMESPACE = _parameter("namespace", "path", {"type": "string", "uniqueItems": True},
                       "object name and auth scope, such as for teams and projects")
_JSON_PATCH = {"type": "array", "description": "RFC 6902 operations.", "items": {
    "type": "object", "required": ["op", "path"], "properties": {
        "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
        "path": {"type": "string"}, "from": {"type": "string"}, "value": {}}}}


def _name(kind: str) -> Parameter:
    return _parameter("name", "path", {"type": "string", "uniqueItems": True}, f"name of the {kind}")


def _content(schema: Schema, media_types: tuple[str, ...] = (JSON,)) -> Document:
    return {media_type: {"schema": schema} for media_type in media_types}


def _responses(schema: Schema, codes: tuple[str, ...], media_types: tuple[str, ...] = (JSON,)) -> Document:
    responses: Document = {code: {"description": _DESCRIPTIONS[code], "content": _content(schema, media_types)}
                           for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    responses["default"] = {"description": "A Kubernetes Status: the answer to every error",
                            "content": _content(ref(STATUS))}
    return responses


_DESCRIPTIONS = {"200": "OK", "201": "Created", "202": "Accepted"}


def _operation(action: str, operation_id: str, gvk: tuple[str, str, str], tag: str, *,
               parameters: tuple[str, ...] = (), extra: tuple[Parameter, ...] = (),
               body: Document | None = None, responses: Document) -> Document:
    group, version, kind = gvk
    operation: Document = {"description": f"{action} {kind}", "operationId": operation_id, "tags": [tag]}
    if parameters or extra:
        operation["parameters"] = [QUERY[name] for name in parameters] + list(extra)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = responses
    operation["x-kubernetes-action"] = action
    operation["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind, "version": version}
    return operation


class _Namer:
    """Kubernetes' operation ids and tags for one resource: `listCoreV1NamespacedPod`, `apps_v1`."""

    def __init__(self, resource: ResourceKind) -> None:
        group = resource.group.removesuffix(".k8s.io")
        parts = group.split(".") if group else ["core"]
        self.prefix = "".join(part.title() for part in parts) + resource.version.title()
        self.tag = f"{parts[0]}{''.join(part.title() for part in parts[1:])}_{resource.version}"
        self.scoped = ("Namespaced" if resource.namespaced else "") + resource.kind

    def __call__(self, verb: str, suffix: str = "", *, infix: str = "") -> str:
        """`verb` + group + version + `infix` (Collection, Get, Post) + [Namespaced]Kind + `suffix` (Status …)."""
        return f"{verb}{self.prefix}{infix}{self.scoped}{suffix}"


def _kind_schema(resource: ResourceKind) -> Schema:
    return ref(schema_name(resource.group, resource.version, resource.kind))


def _write_body(schema: Schema) -> Document:
    return {"content": _content(schema, BODY_MEDIA_TYPES), "required": True}


def _patch_body(schema: Schema) -> Document:
    return {"content": {PATCH_MEDIA_TYPES[0]: {"schema": _JSON_PATCH},
                        **_content(schema, PATCH_MEDIA_TYPES[1:])}, "required": True}


def _delete_body() -> Document:
    return {"content": _content(ref(DELETE_OPTIONS), BODY_MEDIA_TYPES)}


def _collection_path(resource: ResourceKind, name: _Namer) -> Document:
    gvk, schema = (resource.group, resource.version, resource.kind), _kind_schema(resource)
    listed = ref(schema_name(resource.group, resource.version, resource.list_kind))
    item: Document = {}
    if "list" in resource.verbs:
        item["get"] = _operation("list", name("list"), gvk, name.tag, parameters=LIST_PARAMETERS,
                                 responses=_responses(listed, ("200",), (JSON, f"{JSON};stream=watch")))
    if "create" in resource.verbs:
        item["post"] = _operation("post", name("create"), gvk, name.tag, parameters=WRITE_PARAMETERS,
                                  body=_write_body(schema), responses=_responses(schema, ("200", "201", "202")))
    if "deletecollection" in resource.verbs:
        item["delete"] = _operation("deletecollection", name("delete", infix="Collection"), gvk, name.tag,
                                    parameters=DELETE_COLLECTION_PARAMETERS, body=_delete_body(),
                                    responses=_responses(ref(STATUS), ("200",)))
    item["parameters"] = [NAMESPACE, QUERY["pretty"]] if resource.namespaced else [QUERY["pretty"]]
    return item


def _object_operations(gvk: tuple[str, str, str], schema: Schema, name: _Namer, suffix: str,
                       verbs: tuple[str, ...]) -> Document:
    """get, put and patch of an object or of its status or scale (`suffix`)."""
    item: Document = {}
    if "get" in verbs:
        item["get"] = _operation("get", name("read", suffix), gvk, name.tag, responses=_responses(schema, ("200",)))
    if "update" in verbs:
        item["put"] = _operation("put", name("replace", suffix), gvk, name.tag, parameters=WRITE_PARAMETERS,
                                 body=_write_body(schema), responses=_responses(schema, ("200", "201")))
    if "patch" in verbs:
        item["patch"] = _operation("patch", name("patch", suffix), gvk, name.tag,
                                   parameters=(*WRITE_PARAMETERS, "force"), body=_patch_body(schema),
                                   responses=_responses(schema, ("200", "201")))
    return item


def _member_path(resource: ResourceKind, name: _Namer) -> Document:
    gvk = (resource.group, resource.version, resource.kind)
    item = _object_operations(gvk, _kind_schema(resource), name, "", resource.verbs)
    if "delete" in resource.verbs:
        item["delete"] = _operation("delete", name("delete"), gvk, name.tag, parameters=DELETE_PARAMETERS,
                                    body=_delete_body(), responses=_responses(ref(STATUS), ("200", "202")))
    return item


def _create_operation(gvk: tuple[str, str, str], name: _Namer, suffix: str) -> Document:
    schema = ref(schema_name(*gvk))
    return {"post": _operation("post", name("create", suffix), gvk, name.tag, parameters=WRITE_PARAMETERS,
                               body=_write_body(schema), responses=_responses(schema, ("200", "201", "202")))}


def _subresource_path(resource: ResourceKind, subresource: str, name: _Namer) -> Document:
    """The operations of `subresource` (status, scale, binding, eviction, token, log, exec, finalize)."""
    core, suffix = ("", "v1"), subresource.title()
    if subresource == "status":
        return _object_operations((resource.group, resource.version, resource.kind), _kind_schema(resource), name,
                                  suffix, ("get", "update", "patch"))
    if subresource == "scale":
        return _object_operations(("autoscaling", "v1", "Scale"), ref(schema_name("autoscaling", "v1", "Scale")),
                                  name, suffix, ("get", "update", "patch"))
    if subresource == "finalize":
        return {"put": _object_operations((resource.group, resource.version, resource.kind), _kind_schema(resource),
                                          name, suffix, ("update",))["put"]}
    creates = {"binding": (*core, "Binding"), "eviction": ("policy", "v1", "Eviction"),
               "token": ("authentication.k8s.io", "v1", "TokenRequest")}
    if subresource in creates:
        return _create_operation(creates[subresource], name, suffix)
    if subresource == "log":
        text = {"type": "string"}
        return {"get": _operation("get", name("read", suffix), (*core, "Pod"), name.tag, extra=LOG_PARAMETERS,
                                  responses=_responses(text, ("200",), ("text/plain",)))}
    stream = _responses({"type": "string"}, ("200",), ("*/*",))
    options = (*core, "PodExecOptions")
    return {method.lower(): _operation("connect", name("connect", suffix, infix=method), options, name.tag,
                                       extra=EXEC_PARAMETERS, responses=stream) for method in ("Get", "Post")}


def _resource_paths(resource: ResourceKind) -> Document:
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    collection = f"{base}{'/namespaces/{namespace}' if resource.namespaced else ''}/{resource.plural}"
    name = _Namer(resource)
    scope = [NAMESPACE] if resource.namespaced else []
    if resource in REGISTRY.virtual:  # create-only: a review is answered, never stored
        gvk = (resource.group, resource.version, resource.kind)
        return {collection: {**_create_operation(gvk, name, ""), "parameters": [*scope, QUERY["pretty"]]}}
    member_parameters = [_name(resource.kind), *scope, QUERY["pretty"]]
    paths: Document = {collection: _collection_path(resource, name),
                       f"{collection}/{{name}}": {**_member_path(resource, name), "parameters": member_parameters}}
    subresources = (*resource.subresources, *(("finalize",) if resource.kind == "Namespace" else ()))
    for subresource in subresources:
        paths[f"{collection}/{{name}}/{subresource}"] = {**_subresource_path(resource, subresource, name),
                                                          "parameters": member_parameters}
    if resource.namespaced and "list" in resource.verbs:
        every = _collection_path(resource, name)["get"]
        every["operationId"] = f"list{name.prefix}{resource.kind}ForAllNamespaces"
        paths[f"{base}/{resource.plural}"] = {"get": every, "parameters": [QUERY["pretty"]]}
    return paths


def group_version_document(group: str, version: str) -> Document:
    """The OpenAPI v3 document of `group`/`version` (core: ""), standing alone: every `$ref` resolves in it."""
    paths: Document = {}
    for resource in REGISTRY.in_group_version(group, version):
        paths.update(_resource_paths(resource))
    return {"openapi": "3.0.0", "info": INFO, "paths": paths,
            "components": {"schemas": closure(references(paths))}}
