"""The apiserver application factory: routes, Status errors, health, metrics, bootstrap.

`create_app(store)` works over any `Store` — a Raft replica in production, a `LocalStore` in
component tests — so the whole HTTP surface is tested without processes or sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from minik8s.api.registry import REGISTRY, SYSTEM_NAMESPACES
from minik8s.apiserver import discovery, errors
from minik8s.apiserver.metrics import MetricsMiddleware, RequestStats, new_registry
from minik8s.apiserver.node_proxy import NodeProxy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.routes import ApiHandler, json_response
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import Store

log = logging.getLogger(__name__)

async def _create_if_missing(ops: Operations, kind: str, namespace: str | None, body: dict[str, Any]) -> None:
    resource = REGISTRY.require("", "v1", kind)
    if ops.objects.get(resource, namespace, body["metadata"]["name"]) is None:
        try:
            await ops.create(resource, namespace, body)
        except errors.StatusError as error:
            if error.reason != "AlreadyExists":
                raise


async def register_endpoint(ops: Operations, address: tuple[str, int]) -> None:
    """Add this replica to the `kubernetes` Endpoints (compare-and-set, retried on conflict)."""
    endpoints = REGISTRY.require("", "v1", "endpoints")
    host, port = address
    for _ in range(8):
        current = await ops.current(endpoints, "default", "kubernetes")
        if current is None:
            return
        subsets = current.get("subsets") or []
        # Replicas on one host differ by port: one subset per port, each listing its addresses.
        subset = next((s for s in subsets if [p.get("port") for p in s.get("ports") or []] == [port]), None)
        if subset is None:
            subset = {"addresses": [], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
            subsets.append(subset)
        if any(a.get("ip") == host for a in subset.get("addresses") or []):
            return
        subset.setdefault("addresses", []).append({"ip": host})
        current["subsets"] = subsets
        try:
            await ops.update(endpoints, "default", "kubernetes", current)
            return
        except errors.StatusError as error:
            if error.reason != "Conflict":
                raise


async def bootstrap(ops: Operations, advertise: tuple[str, int] | None = None) -> None:
    """The system namespaces and the `kubernetes` service; retried until the store has a leader."""
    for attempt in range(600):
        try:
            for name in SYSTEM_NAMESPACES:
                await _create_if_missing(ops, "namespaces", None, {"metadata": {"name": name}})
            if advertise is not None:
                labels = {"component": "apiserver", "provider": "kubernetes"}
                await _create_if_missing(ops, "services", "default", {
                    "metadata": {"name": "kubernetes", "labels": labels},
                    "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP", "sessionAffinity": "None",
                             "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise[1]}]}})
                await _create_if_missing(ops, "endpoints", "default", {
                    "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                    "subsets": [{"addresses": [{"ip": advertise[0]}],
                                 "ports": [{"name": "https", "port": advertise[1], "protocol": "TCP"}]}]})
                await register_endpoint(ops, advertise)
            return
        except errors.StatusError as error:
            if attempt % 20 == 0:
                log.info("waiting for the store to create system namespaces: %s", error.message)
            await asyncio.sleep(0.5)


def create_app(store: Store, *, name: str = "apiserver", toleration_seconds: dict[str, int] | None = None,
               advertise: tuple[str, int] | None = None) -> FastAPI:
    ops = Operations(ObjectStore(store), toleration_seconds=toleration_seconds)
    node_proxy = NodeProxy(ops)
    handler = ApiHandler(ops, node_proxy=node_proxy)
    stats = RequestStats()
    metrics_registry = new_registry(stats, store, lambda: handler.open_watches)
    background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(bootstrap(ops, advertise))
        background.add(task)
        task.add_done_callback(background.discard)
        yield
        task.cancel()
        await node_proxy.close()

    app = FastAPI(title="minik8s apiserver", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store = store
    app.state.ops = ops
    api_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_route("/api", handler.core, methods=["GET"])
    app.add_route("/api/{path:path}", handler.core, methods=api_methods)
    app.add_route("/apis", handler.groups, methods=["GET"])
    app.add_route("/apis/{path:path}", handler.groups, methods=api_methods)
    app.router.add_websocket_route("/api/v1/namespaces/{namespace}/pods/{name}/exec", node_proxy.exec_socket)

    async def version(_: Request) -> Response:
        return json_response(discovery.VERSION_INFO)

    async def openapi_v3(request: Request) -> Response:
        path = request.path_params.get("path", "")
        if not path:
            return json_response(discovery.openapi_index())
        document = discovery.openapi_document(path)
        if document is None:
            raise errors.path_not_found(request.url.path)
        return json_response(document)

    async def openapi_v2(request: Request) -> Response:
        if discovery.wants_openapi_v2_protobuf(request.headers.get("accept", "")):
            return Response(discovery.openapi_v2_protobuf(), media_type=discovery.OPENAPI_V2_PROTOBUF)
        return json_response(discovery.OPENAPI_V2)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        status = store.status()
        if not status.get("leader"):
            return PlainTextResponse("[-]store: no Raft leader\nreadyz check failed", status_code=503)
        return PlainTextResponse("ok")

    async def raft_status(_: Request) -> Response:
        return json_response({"name": name, **store.status()})

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(metrics_registry), media_type="text/plain; version=0.0.4")

    app.add_route("/version", version, methods=["GET"])
    app.add_route("/openapi/v2", openapi_v2, methods=["GET"])
    app.add_route("/openapi/v3", openapi_v3, methods=["GET"])
    app.add_route("/openapi/v3/{path:path}", openapi_v3, methods=["GET"])
    for path in ("/healthz", "/livez"):
        app.add_route(path, healthz, methods=["GET"])
    app.add_route("/readyz", readyz, methods=["GET"])
    app.add_route("/debug/raft", raft_status, methods=["GET"])
    app.add_route("/metrics", metrics_endpoint, methods=["GET"])

    async def status_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, errors.StatusError)
        response = json_response(error.status(), error.code)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return response

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            return await status_error(request, errors.path_not_found(request.url.path))
        if error.status_code == 405:
            return await status_error(request, errors.method_not_allowed(str(error.detail)))
        return await status_error(request, errors.StatusError(error.status_code, "BadRequest", str(error.detail)))

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return await status_error(request, errors.internal(f"{type(error).__name__}: {error}"))

    app.add_exception_handler(errors.StatusError, status_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(MetricsMiddleware, stats=stats)  # type: ignore[arg-type]
    return app
