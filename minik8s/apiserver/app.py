"""The apiserver application factory: the API routes, Status errors, health, metrics, bootstrap.

Authentication (`authentication`, default: everyone anonymous) sets each request's user first.
`create_app(store)` works over any `Store` — a Raft replica in production, a `LocalStore` in
component tests — so the whole HTTP surface is tested without processes or sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from minik8s.apiserver.authentication_setup import AuthenticationOptions, install_authentication
from minik8s.apiserver.bootstrap import bootstrap
from minik8s.apiserver.error_handlers import add_error_handlers
from minik8s.apiserver.metrics import MetricsMiddleware, RequestStats, new_registry
from minik8s.apiserver.node_proxy import NodeProxy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.routes import ApiHandler
from minik8s.apiserver.storage import ObjectStore
from minik8s.apiserver.system_routes import add_system_routes
from minik8s.daemon.request_guard import HostGuard, HostPolicy, host_policy
from minik8s.store.base import Store

API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(store: Store, *, name: str = "apiserver", toleration_seconds: dict[str, int] | None = None,
               advertise: tuple[str, int] | None = None, hosts: HostPolicy | None = None,
               authentication: AuthenticationOptions | None = None) -> FastAPI:
    """The apiserver app; `hosts` are the Host headers it answers (default: IP literals, localhost, the
    cluster's names, this machine's hostname and the advertised host — see daemon.request_guard)."""
    ops = Operations(ObjectStore(store), toleration_seconds=toleration_seconds)
    node_proxy = NodeProxy(ops)
    handler = ApiHandler(ops, node_proxy=node_proxy)
    stats = RequestStats()
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
    install_authentication(app, ops, authentication or AuthenticationOptions())
    app.add_route("/api", handler.core, methods=["GET"])
    app.add_route("/api/{path:path}", handler.core, methods=API_METHODS)
    app.add_route("/apis", handler.groups, methods=["GET"])
    app.add_route("/apis/{path:path}", handler.groups, methods=API_METHODS)
    app.router.add_websocket_route("/api/v1/namespaces/{namespace}/pods/{name}/exec", node_proxy.exec_socket)
    add_system_routes(app, store, name=name, metrics=new_registry(stats, store, lambda: handler.open_watches))
    add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, stats=stats)  # type: ignore[arg-type]
    app.add_middleware(HostGuard, policy=hosts or host_policy(own=[advertise[0]] if advertise else []))
    return app
