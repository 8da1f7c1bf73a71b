"""The few requests the verbs make that `ApiClient`'s typed verbs do not cover.

`get` asks for server-side Tables (a different Accept header, on lists, single objects and
watches), `describe` and `drain` list with field selectors across kinds, and `delete` waits
for objects to disappear. These helpers keep that plumbing in one place, on top of
`ApiClient.request`/`stream`, so the verb modules read as what kubectl does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from minik8s.api.meta import JsonObject, metadata_of, spec_of, status_of
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.cli.printers import TABLE_ACCEPT
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound, error_from_response
from minik8s.client.paths import collection_path, object_path, resolve_namespace
from minik8s.client.watch import WatchEvent, read_watch_stream


async def get_json(client: ApiClient, path: str, *, params: Mapping[str, str] | None = None,
                   accept: str | None = None) -> JsonObject:
    """GET a path and decode the JSON object; a failure raises its typed error."""
    headers = {"Accept": accept} if accept else None
    response = await client.request("GET", path, params=params, headers=headers)
    if not response.is_success:
        raise error_from_response(response.status_code, response.content)
    decoded = orjson.loads(response.content) if response.content else {}
    if not isinstance(decoded, dict):
        raise TypeError(f"GET {path}: expected a JSON object")
    return decoded


def list_params(*, label_selector: str | None = None, field_selector: str | None = None,
                resource_version: str | None = None) -> dict[str, str]:
    params = {"labelSelector": label_selector, "fieldSelector": field_selector, "resourceVersion": resource_version}
    return {key: value for key, value in params.items() if value}


async def fetch_table(client: ApiClient, kind: ResourceKind, *, namespace: str | None, name: str | None = None,
                      label_selector: str | None = None) -> JsonObject:
    """The server-side Table of one object (`name`) or of a collection (None namespace: all)."""
    if name is not None:
        path = object_path(kind, name, namespace=resolve_namespace(kind, namespace))
        return await get_json(client, path, accept=TABLE_ACCEPT)
    params = list_params(label_selector=label_selector)
    return await get_json(client, collection_path(kind, namespace=namespace), params=params, accept=TABLE_ACCEPT)


async def watch_stream(client: ApiClient, kind: ResourceKind, *, namespace: str | None, params: Mapping[str, str],
                       accept: str | None = None) -> AsyncIterator[WatchEvent]:
    """One watch request's events (Tables when `accept` asks for them) until the server ends it."""
    query = {**params, "watch": "true", "allowWatchBookmarks": "true"}
    headers = {"Accept": accept} if accept else None
    path = collection_path(kind, namespace=namespace)
    async with client.stream("GET", path, params=query, headers=headers) as response:
        async for event in read_watch_stream(response, description=path):
            yield event


async def wait_until_gone(client: ApiClient, kind: ResourceKind, name: str, *, namespace: str | None,
                          uid: str | None, timeout: float | None) -> bool:
    """Poll until the object (this `uid`, when given) no longer exists; False when `timeout` passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.05
    while True:
        try:
            current = await client.get(kind, name, namespace=namespace)
        except NotFound:
            return True
        if uid and metadata_of(current).get("uid") != uid:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        await asyncio.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
        pause = min(pause * 2, 0.5)


_PHASE_RANK = {"Running": 0, "Unknown": 1, "Pending": 2}


def _logging_order(pod: JsonObject) -> tuple[int, int, int, str]:
    """kubectl's preference when several pods match: assigned, running, ready, then oldest."""
    spec, status = spec_of(pod), status_of(pod)
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return (0 if spec.get("nodeName") else 1, _PHASE_RANK.get(str(status.get("phase")), 3), 0 if ready else 1,
            str(metadata_of(pod).get("creationTimestamp") or ""))


def selector_of(kind: ResourceKind, obj: Mapping[str, Any]) -> str:
    """The label selector of a workload or service, as a query string."""
    spec = spec_of(obj)
    if kind.kind == "Service":
        return ",".join(f"{key}={value}" for key, value in sorted((spec.get("selector") or {}).items()))
    selector = spec.get("selector") or {}
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator == "Exists":
            terms.append(str(key))
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


async def pod_for(client: ApiClient, kind: ResourceKind, name: str, *, namespace: str) -> tuple[JsonObject, int]:
    """The pod a `logs`/`exec` target means: the pod itself, or the first pod of a workload's selector.

    Also returns how many pods matched (kubectl says which one it chose when several did).
    """
    if kind.kind == "Pod":
        return await client.get(kind, name, namespace=namespace), 1
    owner = await client.get(kind, name, namespace=namespace)
    selector = selector_of(kind, owner)
    if not selector:
        raise NotFound(404, "NotFound", f'{kind.group_resource} "{name}" selects no pods')
    pods_kind = next(k for k in REGISTRY.kinds if k.kind == "Pod")
    listing = await client.list(pods_kind, namespace=namespace, label_selector=selector)
    pods = sorted(listing.get("items") or [], key=_logging_order)
    if not pods:
        raise NotFound(404, "NotFound", f"no pods found for {kind.group_resource} {name} (selector {selector})")
    return pods[0], len(pods)


DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def pick_container(pod: Mapping[str, Any], requested: str | None) -> tuple[str | None, str | None]:
    """The container `logs`/`exec` use: the one requested, else as kubectl picks it — the pod's
    default-container annotation, else the first container. Also the notice kubectl prints on
    stderr when it chose among several (None when there was no choice or the annotation decided)."""
    if requested is not None:
        return requested, None
    spec = spec_of(pod)
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    if not names:
        return None, None
    annotated = (metadata_of(pod).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if annotated in names:
        return str(annotated), None
    if len(names) == 1:
        return names[0], None
    everything = names + [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
    return names[0], f'Defaulted container "{names[0]}" out of: {", ".join(everything)}'
