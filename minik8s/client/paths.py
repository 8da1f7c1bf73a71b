"""REST paths of resources, derived from the kind registry.

Kubernetes addresses every object by group, version, namespace, plural and name
(`/apis/apps/v1/namespaces/web/deployments/front/scale`). Building those strings in one
place, from `ResourceKind`, keeps every caller agreeing with what the apiserver serves.
"""

from __future__ import annotations

from urllib.parse import quote

from minik8s.api.registry import ResourceKind

DEFAULT_NAMESPACE = "default"


def group_version_path(kind: ResourceKind) -> str:
    """`/api/v1` for the core group, `/apis/{group}/{version}` otherwise."""
    if kind.group:
        return f"/apis/{kind.group}/{kind.version}"
    return f"/api/{kind.version}"


def collection_path(kind: ResourceKind, *, namespace: str | None = None) -> str:
    """The list/create/watch path; a namespaced kind without namespace means all namespaces."""
    prefix = group_version_path(kind)
    if kind.namespaced and namespace:
        return f"{prefix}/namespaces/{_segment(namespace)}/{kind.plural}"
    return f"{prefix}/{kind.plural}"


def object_path(
    kind: ResourceKind, name: str, *, namespace: str | None = None, subresource: str | None = None
) -> str:
    """The path of one object (or one of its subresources).

    A namespaced kind needs a namespace: callers resolve defaults first
    (`resolve_namespace`). A namespace given for a cluster-scoped kind is ignored.
    """
    if not name:
        raise ValueError(f"a {kind.kind} needs a name")
    if kind.namespaced and not namespace:
        raise ValueError(f"{kind.group_resource} is namespaced: a namespace is required")
    path = f"{collection_path(kind, namespace=namespace)}/{_segment(name)}"
    if subresource:
        path = f"{path}/{_segment(subresource)}"
    return path


def resolve_namespace(kind: ResourceKind, namespace: str | None) -> str | None:
    """The namespace one object of `kind` lives in: None if cluster-scoped, else given or `default`."""
    if not kind.namespaced:
        return None
    return namespace or DEFAULT_NAMESPACE


def _segment(value: str) -> str:
    return quote(value, safe="")
