"""Discovery, version and OpenAPI documents, all derived from the kind registry.

kubectl learns what the server serves from `/api`, `/apis`, `/api/v1` and
`/apis/{group}/{version}`, and reads `/openapi/v3`. We serve the plain (non-aggregated)
discovery documents, which kubectl accepts, and one OpenAPI v3 document per group-version with
every path, parameter and schema (see `openapi_paths`); each kind's PATCH declares
`fieldValidation`, so kubectl leaves validation to the server. A `kind: List` manifest is the
exception: kubectl validates it on the client against OpenAPI v2 (protobuf), so the protobuf v2
document has no paths or schemas — kubectl then checks nothing itself and every item is still
validated by the server (`fieldValidation=Strict`). `/openapi/v2` asked as JSON (which kubectl
never does) is the full Swagger 2.0 document, for tools that read one document (see `openapi_v2`).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson

from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.apiserver import openapi_paths, openapi_v2

Document = dict[str, Any]

VERSION_INFO: Document = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-minik8s",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, list[str]]] = {
    # subresource -> (group, version, kind, verbs); "" group/version means the parent's
    "status": ("", "", "", ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "binding": ("", "", "Binding", ["create"]),
    "log": ("", "", "Pod", ["get"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
}


def core_versions(server_address: str) -> Document:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_versions() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, version in REGISTRY.group_versions():
        if group:
            groups.setdefault(group, [])
            if version not in groups[group]:
                groups[group].append(version)
    return groups


def group_list() -> Document:
    groups = []
    for group, versions in _group_versions().items():
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(group_name: str) -> Document | None:
    versions = _group_versions().get(group_name)
    if not versions:
        return None
    entries = [{"groupVersion": f"{group_name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group_name, "versions": entries,
            "preferredVersion": entries[0]}


def _resource_entry(resource: ResourceKind) -> Document:
    entry: Document = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
        "storageVersionHash": hashlib.sha256(resource.group_resource.encode()).hexdigest()[:12],
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    return entry


def _subresource_entry(resource: ResourceKind, subresource: str) -> Document:
    group, version, kind, verbs = _SUBRESOURCE_KINDS[subresource]
    entry: Document = {"name": f"{resource.plural}/{subresource}", "singularName": "",
                       "namespaced": resource.namespaced, "kind": kind or resource.kind, "verbs": verbs}
    if group:
        entry["group"], entry["version"] = group, version
    return entry


def resource_list(group_name: str, version: str) -> Document | None:
    resources = REGISTRY.in_group_version(group_name, version)
    if not resources:
        return None
    entries: list[Document] = []
    for resource in resources:
        entries.append(_resource_entry(resource))
        entries.extend(_subresource_entry(resource, sub) for sub in resource.subresources)
    entries.sort(key=lambda entry: str(entry["name"]))  # as Kubernetes' installer sorts its paths
    group_version = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


@functools.cache
def _openapi_document(group_name: str, version: str) -> Document:
    return openapi_paths.group_version_document(group_name, version)


def _openapi_key(group_name: str, version: str) -> str:
    return f"api/{version}" if not group_name else f"apis/{group_name}/{version}"


@functools.cache
def openapi_index() -> Document:
    """`/openapi/v3`: where each group-version's document is, its URL naming its content's hash."""
    paths: Document = {}
    for group_name, version in REGISTRY.group_versions():
        document = _openapi_document(group_name, version)
        digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32].upper()
        paths[_openapi_key(group_name, version)] = {
            "serverRelativeURL": f"/openapi/v3/{_openapi_key(group_name, version)}?hash={digest}"
        }
    return {"paths": paths}


def openapi_document(path: str) -> Document | None:
    """`/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`: the group-version's OpenAPI v3 document."""
    for group_name, version in REGISTRY.group_versions():
        if _openapi_key(group_name, version) == path.strip("/"):
            return _openapi_document(group_name, version)
    return None


@functools.cache
def openapi_v2_document() -> Document:
    """`/openapi/v2` as JSON: every path and schema in one Swagger 2.0 document."""
    documents = [_openapi_document(group_name, version) for group_name, version in REGISTRY.group_versions()]
    return openapi_v2.swagger(documents, OPENAPI_V2["info"])


# kubectl asks with the older `…v2@v1.0+protobuf`, but `@` is no token character and Go's MIME parser rejects it
# in a Content-Type; the apiserver answers with the dotted form, as we do.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
OPENAPI_V2_PROTOBUF_ACCEPTED = ("com.github.proto-openapi.spec.v2.v1.0+protobuf", "com.github.proto-openapi.spec.v2@v1.0+protobuf")
# What kubectl gets as protobuf: no paths, no definitions (see the module's docstring).
OPENAPI_V2: Document = {"swagger": "2.0", "info": {"title": "minik8s", "version": VERSION_INFO["gitVersion"]},
                        "paths": {}, "definitions": {}}


def _protobuf_string(field_number: int, value: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    length, varint = len(value), bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([field_number << 3 | 2]) + bytes(varint) + value


def openapi_v2_protobuf() -> bytes:
    """`OPENAPI_V2` as gnostic's openapi_v2.Document: swagger (1) and info (2: title 1, version 2)."""
    info = OPENAPI_V2["info"]
    encoded_info = _protobuf_string(1, info["title"].encode()) + _protobuf_string(2, info["version"].encode())
    return _protobuf_string(1, OPENAPI_V2["swagger"].encode()) + _protobuf_string(2, encoded_info)


def wants_openapi_v2_protobuf(accept: str) -> bool:
    return any(media_type in accept for media_type in OPENAPI_V2_PROTOBUF_ACCEPTED)
