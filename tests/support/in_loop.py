"""An apiserver and controllers in the test's own event loop: the real HTTP path, no processes.

The controller tests want the apiserver's real behaviour (validation, graceful deletion, watch)
and controllers exactly as the controller-manager runs them, while keeping every step on one loop
so a test can play the node agent itself and time each move. Serving, waiting for the system
namespaces, starting informers and controllers, and stopping all of it in order is the same for
each of them, so it lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn

from minik8s.api.registry import REGISTRY
from minik8s.apiserver.app import create_app
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError
from minik8s.client.events import EventRecorder
from minik8s.controllers.shared import (
    ControllerContext,
    ControllerOptions,
    InformerFactory,
    RunnableController,
)
from minik8s.store.base import LocalStore
from tests.support.ports import free_port
from tests.support.waiting import eventually

NAMESPACES = REGISTRY.require("", "v1", "namespaces")



async def found(api: ApiClient, kind: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    """The object, or None when it is absent (or, while the server starts, unreachable)."""
    try:
        return await api.get(kind, name, namespace=namespace)
    except (ApiError, OSError):
        return None


@contextlib.asynccontextmanager
async def apiserver_in_loop(*, history: int = 1000) -> AsyncIterator[ApiClient]:
    """An apiserver over a LocalStore on a free loopback port; a client once it serves the system namespaces."""
    port = free_port()
    app = create_app(LocalStore(history=history), advertise=("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    api = ApiClient([f"http://127.0.0.1:{port}"], max_connections=16)
    try:
        await eventually("the apiserver to start", lambda: found(api, NAMESPACES, "kube-node-lease"), timeout=10)
        yield api
    finally:
        await api.aclose()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


@contextlib.asynccontextmanager
async def controllers_running(api: ApiClient, options: ControllerOptions,
                              build: Callable[[ControllerContext], list[RunnableController]]
                              ) -> AsyncIterator[InformerFactory]:
    """The controllers `build` makes, on shared informers, as the controller-manager runs them."""
    informers = InformerFactory(api)
    context = ControllerContext(api, informers, EventRecorder(api, component="controller-manager"), options)
    running = [asyncio.create_task(informers.run())] + [asyncio.create_task(c.run()) for c in build(context)]
    try:
        yield informers
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
