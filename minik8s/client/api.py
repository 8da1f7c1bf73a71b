"""The one HTTP speaker to the apiserver: typed verbs over Kubernetes' REST and watch API.

Every daemon and the CLI reach the cluster only through `ApiClient` (docs/architecture.md,
"Processes"): it turns (kind, namespace, name) into Kubernetes paths, encodes bodies and
patch types, decodes answers, raises typed errors from Status objects, and streams watches as `WatchEvent`s.
Which replica answers, and what happens when one is down, is `failover.ServerSet`'s job.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from minik8s.api.meta import JsonObject
from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client.errors import error_from_response
from minik8s.client.failover import FailoverPolicy, OutgoingRequest, ServerSet, parse_retry_after
from minik8s.client.kubeconfig import default_kubeconfig_path, load_kubeconfig
from minik8s.client.paths import collection_path, object_path, resolve_namespace
from minik8s.client.tls import ssl_context_for
from minik8s.client.watch import WatchEvent, read_watch_stream

logger = logging.getLogger(__name__)

PatchType = Literal["merge", "strategic", "json", "apply"]
PatchBody = dict[str, Any] | list[Any]  # a JSON Patch is a list of operations

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}

_JSON = "application/json"

__all__ = ["PATCH_CONTENT_TYPES", "ApiClient", "PatchType", "WatchEvent"]


@dataclass(frozen=True)
class _Query:
    """Query parameters shared by list and watch."""

    label_selector: str | None = None
    field_selector: str | None = None
    resource_version: str | None = None

    def params(self) -> dict[str, str]:
        return _params(labelSelector=self.label_selector, fieldSelector=self.field_selector,
                       resourceVersion=self.resource_version)


class ApiClient:
    """Async client of one minik8s (or Kubernetes) cluster, failing over between replicas.

    Objects go in and come out as plain JSON dicts. A namespaced kind addressed without
    namespace means `default` for one object and all namespaces for list and watch; a
    namespace given for a cluster-scoped kind is ignored.

    Pools: at most `max_connections` per server for requests; watches and log streams hold a
    connection each from a separate per-server pool of `max_streams`, so long watches never
    starve short requests. `transport` (tests) replaces the network for every server.
    """

    def __init__(
        self,
        servers: Sequence[str],
        *,
        timeout: float = 10.0,
        token: str | None = None,
        max_connections: int = 4,
        max_streams: int = 32,
        failover_deadline: float = 10.0,
        retry_pause: float = 0.05,
        retry_pause_max: float = 1.0,
        verify: ssl.SSLContext | bool = True,
        tls_server_name: str | None = None,
        user_agent: str = "minik8s-client",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": _JSON, "User-Agent": user_agent}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._servers = ServerSet(
            servers, timeout=timeout, max_connections=max_connections, max_streams=max_streams,
            policy=FailoverPolicy(deadline=failover_deadline, round_pause=retry_pause,
                                  round_pause_max=retry_pause_max),
            default_headers=headers, verify=verify, tls_server_name=tls_server_name, transport=transport,
        )

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, **options: Any) -> ApiClient:
        """A client for the current context of a kubeconfig (found as `default_kubeconfig_path`).

        For https:// servers: one TLS context (verification on unless the kubeconfig says
        `insecure-skip-tls-verify`) with its CA and client pair, shared by every connection.
        """
        config = load_kubeconfig(default_kubeconfig_path(path))
        options.setdefault("token", config.token)
        if any(server.startswith("https://") for server in config.servers):
            if "verify" not in options:
                options["verify"] = ssl_context_for(config)
            options.setdefault("tls_server_name", config.tls_server_name)
        return cls(config.servers, **options)

    @property
    def servers(self) -> list[str]:
        return list(self._servers.servers)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._servers.aclose()

    # -- raw access -------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send a request with fail-over and return the response, whatever its status code.

        `idempotent` defaults to False for POST and True otherwise: a request that is not
        idempotent is never resent once it may have reached a server.
        """
        outgoing = _outgoing(method, path, params=params, json=json, content=content, headers=headers)
        return await self._servers.send(outgoing, idempotent=_is_idempotent(method, idempotent))

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed response (logs, watch); a non-2xx answer raises its typed error."""
        outgoing = _outgoing(method, path, params=params, json=json, content=content, headers=headers)
        response = await self._servers.send(
            outgoing, idempotent=_is_idempotent(method, None), stream=True, read_timeout=read_timeout
        )
        try:
            if not response.is_success:
                body = await response.aread()
                raise _error_of(response, body)
            yield response
        finally:
            await response.aclose()

    # -- typed verbs ------------------------------------------------------------------------

    async def get(self, kind: ResourceKind, name: str, *, namespace: str | None = None) -> JsonObject:
        path = object_path(kind, name, namespace=resolve_namespace(kind, namespace))
        return await self._call("GET", path)

    async def list(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> JsonObject:
        """The List object (`items`, `metadata.resourceVersion`, `metadata.continue`)."""
        query = _Query(label_selector, field_selector, resource_version)
        params = {**query.params(), **_params(limit=limit, **{"continue": continue_token})}
        return await self._call("GET", collection_path(kind, namespace=namespace), params=params)

    async def create(self, kind: ResourceKind, obj: JsonObject, *, namespace: str | None = None,
                     field_manager: str | None = None) -> JsonObject:
        namespace = resolve_namespace(kind, namespace or _metadata(obj).get("namespace"))
        return await self._call("POST", collection_path(kind, namespace=namespace), json=obj,
                                params=_params(fieldManager=field_manager))

    async def update(self, kind: ResourceKind, obj: JsonObject) -> JsonObject:
        """PUT the object; its `metadata.resourceVersion`, when set, guards the write."""
        return await self._call("PUT", self._path_of(kind, obj), json=obj)

    async def update_status(self, kind: ResourceKind, obj: JsonObject) -> JsonObject:
        """PUT the object's status subresource: only `status` changes."""
        return await self._call("PUT", self._path_of(kind, obj, subresource="status"), json=obj)

    async def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: PatchBody,
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> JsonObject:
        """PATCH with the given patch type; `apply` (server-side apply) needs `field_manager`."""
        if patch_type == "apply" and not field_manager:
            raise ValueError("a server-side apply patch needs a field_manager")
        path = object_path(kind, name, namespace=resolve_namespace(kind, namespace), subresource=subresource)
        params = _params(fieldManager=field_manager, force=force)
        headers = {"Content-Type": PATCH_CONTENT_TYPES[patch_type]}
        return await self._call("PATCH", path, json=patch, params=params, headers=headers,
                                idempotent=patch_type != "json")

    async def delete(
        self,
        kind: ResourceKind,
        name: str,
        *,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
        propagation_policy: Literal["Background", "Foreground", "Orphan"] | None = None,
        preconditions_resource_version: str | None = None,
        preconditions_uid: str | None = None,
    ) -> JsonObject:
        """DELETE; returns the object (still terminating) or a Success Status."""
        options: JsonObject = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        preconditions = {"resourceVersion": preconditions_resource_version, "uid": preconditions_uid}
        if any(preconditions.values()):
            options["preconditions"] = {k: v for k, v in preconditions.items() if v is not None}
        path = object_path(kind, name, namespace=resolve_namespace(kind, namespace))
        return await self._call("DELETE", path, json=options)

    async def bind(self, namespace: str, pod_name: str, node_name: str) -> JsonObject:
        """Bind a pod to a node (POST pods/{name}/binding): the server refuses a second bind."""
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod_name, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        path = object_path(_POD, pod_name, namespace=namespace, subresource="binding")
        return await self._call("POST", path, json=binding)

    async def create_token(self, namespace: str, service_account: str, token_request: JsonObject) -> JsonObject:
        """POST serviceaccounts/{name}/token (TokenRequest): the answer carries `status.token`."""
        path = object_path(_SERVICE_ACCOUNT, service_account, namespace=namespace, subresource="token")
        return await self._call("POST", path, json=token_request)

    async def watch(
        self,
        kind: ResourceKind,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Stream events after `resource_version` until the server ends the stream.

        An ERROR event raises its typed error (410 Expired raises `Gone`: re-list). A stream
        that breaks midway simply ends: resume from the last revision seen.
        """
        query = _Query(label_selector, field_selector, resource_version)
        params = {**query.params(), "watch": "true",
                  **_params(timeoutSeconds=timeout_seconds, allowWatchBookmarks=allow_bookmarks or None)}
        read_timeout = None if timeout_seconds is None else timeout_seconds + self._timeout
        path = collection_path(kind, namespace=namespace)
        async with self.stream("GET", path, params=params, read_timeout=read_timeout) as response:
            async for event in read_watch_stream(response, description=path):
                yield event

    # -- plumbing ---------------------------------------------------------------------------

    def _path_of(self, kind: ResourceKind, obj: JsonObject, *, subresource: str | None = None) -> str:
        metadata = _metadata(obj)
        namespace = resolve_namespace(kind, metadata.get("namespace"))
        return object_path(kind, str(metadata.get("name") or ""), namespace=namespace, subresource=subresource)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> JsonObject:
        response = await self.request(method, path, params=params, json=json, headers=headers,
                                      idempotent=idempotent)
        if not response.is_success:
            raise _error_of(response, response.content)
        decoded = orjson.loads(response.content) if response.content else {}
        if not isinstance(decoded, dict):
            raise TypeError(f"{method} {path}: expected a JSON object, got {type(decoded).__name__}")
        return decoded


def _registered(api_version: str, kind: str) -> ResourceKind:
    resource = REGISTRY.by_kind(api_version, kind)
    if resource is None:
        raise LookupError(f"{api_version} {kind} is not in the registry")
    return resource


_POD = _registered("v1", "Pod")
_SERVICE_ACCOUNT = _registered("v1", "ServiceAccount")


def _outgoing(
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None,
    json: Any,
    content: bytes | None,
    headers: Mapping[str, str] | None,
) -> OutgoingRequest:
    all_headers = dict(headers or {})
    if json is not None:
        if content is not None:
            raise ValueError("give json or content, not both")
        content = orjson.dumps(json)
        all_headers.setdefault("Content-Type", _JSON)
    return OutgoingRequest(method.upper(), path, dict(params or {}), content, all_headers)


def _is_idempotent(method: str, explicit: bool | None) -> bool:
    return explicit if explicit is not None else method.upper() != "POST"


def _params(**values: str | int | bool | None) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as Kubernetes spells them."""
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        params[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return params


def _metadata(obj: JsonObject) -> JsonObject:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _error_of(response: httpx.Response, body: bytes) -> Exception:
    return error_from_response(
        response.status_code, body, retry_after=parse_retry_after(response.headers.get("Retry-After"))
    )
