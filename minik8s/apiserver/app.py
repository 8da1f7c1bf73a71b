"""The apiserver application factory: routes, Status errors, health, metrics, bootstrap.

`create_app(store)` works over any `Store` — a Raft replica in production, a `LocalStore` in
component tests — so the whole HTTP surface is tested without processes or sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from minik8s.api.registry import REGISTRY, SYSTEM_NAMESPACES
from minik8s.apiserver import discovery, errors
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.routes import ApiHandler, json_response
from minik8s.apiserver.storage import ObjectStore
from minik8s.store.base import Store

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class Metrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("apiserver_request_total", "Requests by verb and HTTP code",
                                ["verb", "code"], registry=self.registry)
        self.latency = Histogram("apiserver_request_duration_seconds", "Request latency by verb", ["verb"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        revision = Gauge("minik8s_store_revision", "The store's current revision", registry=self.registry)
        revision.set_function(lambda: store.revision)
        leader = Gauge("minik8s_raft_is_leader", "1 when this replica leads the Raft group", registry=self.registry)
        leader.set_function(lambda: 1 if store.status().get("role") == "leader" else 0)


class MetricsMiddleware:
    """Counts and times every request (a plain ASGI middleware: cheap on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, code = time.perf_counter(), 500
        is_watch = b"watch=" in scope.get("query_string", b"")

        async def record(message: Any) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            verb = "WATCH" if is_watch else scope["method"]
            self.metrics.requests.labels(verb, str(code)).inc()
            if not is_watch:
                self.metrics.latency.labels(verb).observe(time.perf_counter() - started)


async def bootstrap(ops: Operations) -> None:
    """Create the system namespaces; retried until the store has a leader."""
    namespaces = REGISTRY.require("", "v1", "namespaces")
    for attempt in range(600):
        try:
            for name in SYSTEM_NAMESPACES:
                if ops.objects.get(namespaces, None, name) is None:
                    try:
                        await ops.create(namespaces, None, {"metadata": {"name": name}})
                    except errors.StatusError as error:
                        if error.reason != "AlreadyExists":
                            raise
            return
        except errors.StatusError as error:
            if attempt % 20 == 0:
                log.info("waiting for the store to create system namespaces: %s", error.message)
            await asyncio.sleep(0.5)


def create_app(store: Store, *, name: str = "apiserver") -> FastAPI:
    ops = Operations(ObjectStore(store))
    handler = ApiHandler(ops)
    metrics = Metrics(store)
    background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(bootstrap(ops))
        background.add(task)
        task.add_done_callback(background.discard)
        yield
        task.cancel()

    app = FastAPI(title="minik8s apiserver", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store = store
    app.state.ops = ops
    api_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app.add_route("/api", handler.core, methods=["GET"])
    app.add_route("/api/{path:path}", handler.core, methods=api_methods)
    app.add_route("/apis", handler.groups, methods=["GET"])
    app.add_route("/apis/{path:path}", handler.groups, methods=api_methods)

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
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    app.add_route("/version", version, methods=["GET"])
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
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # type: ignore[arg-type]
    return app
