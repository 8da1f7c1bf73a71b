"""OpenAPI schemas of the API's objects: a small builder, and the meta/v1 types every kind shares.

`kubectl explain` and API fuzzers read an object's shape from `components.schemas` of
`/openapi/v3/...`, under Kubernetes' own names (`io.k8s.api.core.v1.Pod`,
`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, …) with the `x-kubernetes-group-version-kind`
extension that ties a schema to its kind. The schemas describe what minik8s reads and validates,
as Kubernetes' do: objects are open (unknown fields pass, the server's `fieldValidation` decides),
so a schema never refuses what the server would take.

The kind schemas live in `openapi_core` (core/v1) and `openapi_kinds` (the other groups); this module
holds the builder functions they share and meta/v1: ObjectMeta, ListMeta, Status, DeleteOptions,
Time, IntOrString, Quantity, Patch, WatchEvent.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = f"{META}.ObjectMeta"
LIST_META = f"{META}.ListMeta"
STATUS = f"{META}.Status"
DELETE_OPTIONS = f"{META}.DeleteOptions"
LABEL_SELECTOR = f"{META}.LabelSelector"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
PATCH = f"{META}.Patch"
WATCH_EVENT = f"{META}.WatchEvent"
REF_PREFIX = "#/components/schemas/"


# -- the builder ---------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"{REF_PREFIX}{name}"}


def string(description: str = "", *, enum: tuple[str, ...] = (), format: str = "") -> Schema:
    schema: Schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    if format:
        schema["format"] = format
    return _described(schema, description)


def integer(description: str = "", *, format: str = "int32") -> Schema:
    return _described({"type": "integer", "format": format}, description)


def boolean(description: str = "") -> Schema:
    return _described({"type": "boolean"}, description)


def array(items: Schema, description: str = "") -> Schema:
    return _described({"type": "array", "items": items}, description)


def string_map(description: str = "") -> Schema:
    return _described({"type": "object", "additionalProperties": {"type": "string"}}, description)


def map_of(values: Schema, description: str = "") -> Schema:
    return _described({"type": "object", "additionalProperties": values}, description)


def obj(description: str, properties: dict[str, Schema], *, required: tuple[str, ...] = ()) -> Schema:
    """An open object (unknown fields are the server's to judge, as in Kubernetes' schemas)."""
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def free_object(description: str = "") -> Schema:
    """An object of any shape (e.g. `RawExtension`)."""
    return _described({"type": "object"}, description)


def kind_object(description: str, group: str, version: str, kind: str, properties: dict[str, Schema],
                *, required: tuple[str, ...] = (), metadata: str | None = OBJECT_META) -> Schema:
    """A top-level object of `kind`: apiVersion, kind, metadata (unless None) and `properties`, tagged with its GVK."""
    header = {"apiVersion": string("The versioned schema of this object."),
              "kind": string("The REST resource this object represents.")}
    if metadata is not None:
        header["metadata"] = ref(metadata)
    schema = obj(description, {**header, **properties}, required=required)
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return schema


def list_of(item: str, group: str, version: str, kind: str) -> Schema:
    """`<Kind>List`: the answer of a list."""
    return kind_object(f"A list of {kind.removesuffix('List')} objects.", group, version, kind,
                       {"items": array(ref(item), "The listed objects.")}, required=("items",), metadata=LIST_META)


def references(schema: Any) -> set[str]:
    """The schema names `schema` refers to, directly."""
    found: set[str] = set()
    if isinstance(schema, dict):
        target = schema.get("$ref")
        if isinstance(target, str) and target.startswith(REF_PREFIX):
            found.add(target.removeprefix(REF_PREFIX))
        for value in schema.values():
            found |= references(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= references(value)
    return found


def _described(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


# -- meta/v1 -------------------------------------------------------------------------------------

_OWNER_REFERENCE = obj("Enough information to identify an owning object.", {
    "apiVersion": string("API version of the referent."), "kind": string("Kind of the referent."),
    "name": string("Name of the referent."), "uid": string("UID of the referent."),
    "controller": boolean("If true, this reference points to the managing controller."),
    "blockOwnerDeletion": boolean("If true, the owner cannot be deleted before this object is removed."),
}, required=("apiVersion", "kind", "name", "uid"))

_OBJECT_META = obj("Metadata that all persisted resources must have.", {
    "name": string("Unique within a namespace; cannot be updated."),
    "generateName": string("A prefix the server completes with a random suffix when name is empty."),
    "namespace": string("The namespace of a namespaced object; empty means `default`."),
    "uid": string("Unique in time and space; set by the server."),
    "resourceVersion": string("The version of this object, for optimistic concurrency; opaque to clients."),
    "generation": integer("The generation of the desired state; set by the server.", format="int64"),
    "creationTimestamp": ref(TIME),
    "deletionTimestamp": ref(TIME),
    "deletionGracePeriodSeconds": integer("Seconds allowed for a graceful deletion.", format="int64"),
    "labels": string_map("Keys and values to organize and select objects."),
    "annotations": string_map("Unstructured keys and values stored with the object."),
    "ownerReferences": array(ref(f"{META}.OwnerReference"), "Objects this object depends on."),
    "finalizers": array(string(), "Must be empty before the object is deleted from the store."),
    "managedFields": array(free_object(), "Field ownership (not tracked by minik8s)."),
})

_LIST_META = obj("Metadata that synthetic resources (lists) have.", {
    "resourceVersion": string("The store revision the list was read at."),
    "continue": string("Set when more results follow; pass it back to read the next page."),
    "remainingItemCount": integer("How many items follow this page.", format="int64"),
    "selfLink": string("Deprecated; never set."),
})

_STATUS_CAUSE = obj("One cause of an error.", {
    "reason": string("A machine-readable description of the cause."),
    "message": string("A human-readable description of the cause."),
    "field": string("The field of the request that caused the error (e.g. `spec.containers[0].name`)."),
})

_STATUS = kind_object("The result of an operation that returns no object: every error is one.", "", "v1",
                      "Status", {
                          "status": string("`Success` or `Failure`."),
                          "message": string("A human-readable description of the status."),
                          "reason": string("A machine-readable reason (NotFound, Invalid, …)."),
                          "code": integer("The HTTP status code of this status."),
                          "details": obj("Extended data of the reason.", {
                              "name": string(), "group": string(), "kind": string(), "uid": string(),
                              "causes": array(ref(f"{META}.StatusCause")),
                              "retryAfterSeconds": integer(),
                          }),
                      }, metadata=LIST_META)

_DELETE_OPTIONS = kind_object("Options of a deletion.", "", "v1", "DeleteOptions", {
    "gracePeriodSeconds": integer("Seconds before the object is deleted; zero deletes at once.", format="int64"),
    "propagationPolicy": string("Whether and how dependents are deleted.",
                                enum=("Orphan", "Background", "Foreground")),
    "orphanDependents": boolean("Deprecated: use propagationPolicy."),
    "preconditions": obj("Must hold for the deletion to happen, else 409 Conflict.", {
        "uid": string(), "resourceVersion": string()}),
    "dryRun": array(string(enum=("All",)), "When present, nothing is persisted."),
}, metadata=None)

_LABEL_SELECTOR = obj("A label query over a set of objects.", {
    "matchLabels": string_map("Each key and value must match exactly."),
    "matchExpressions": array(obj("A label selector requirement.", {
        "key": string(), "operator": string(enum=("In", "NotIn", "Exists", "DoesNotExist")),
        "values": array(string())}, required=("key", "operator"))),
})

_WATCH_EVENT = obj("One event of a watch stream (one JSON object per line).", {
    "type": string(enum=("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")),
    "object": free_object("The object (or, for ERROR, a Status)."),
}, required=("type", "object"))
_WATCH_EVENT["x-kubernetes-group-version-kind"] = [{"group": "", "kind": "WatchEvent", "version": "v1"}]

META_SCHEMAS: dict[str, Schema] = {
    OBJECT_META: _OBJECT_META,
    LIST_META: _LIST_META,
    f"{META}.OwnerReference": _OWNER_REFERENCE,
    STATUS: _STATUS,
    f"{META}.StatusCause": _STATUS_CAUSE,
    DELETE_OPTIONS: _DELETE_OPTIONS,
    LABEL_SELECTOR: _LABEL_SELECTOR,
    TIME: string("An RFC 3339 time, to the second.", format="date-time"),
    MICRO_TIME: string("An RFC 3339 time, to the microsecond.", format="date-time"),
    PATCH: free_object("The body of a PATCH; its meaning is given by its Content-Type."),
    WATCH_EVENT: _WATCH_EVENT,
    # OpenAPI v3 lets both types show, as Kubernetes publishes them; v2 flattens them to a string.
    INT_OR_STRING: {"description": "An integer or a string (a port number or name, a percentage).",
                    "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
    QUANTITY: {"description": "A fixed-point number with an optional suffix (`100m`, `64Mi`, `1e3`).",
               "oneOf": [{"type": "string"}, {"type": "number"}]},
}
