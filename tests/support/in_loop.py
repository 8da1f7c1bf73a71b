"""An apiserver and controllers in the test's own event loop: the real HTTP path, no processes.

The controller tests want the apiserver's real behaviour (validation, graceful deletion, watch)
and controllers exactly as the controller-manager runs them, while keeping every step on one loop
so a test can play the node agent itself and time each move. The apiserver is
`tests.support.serving.apiserver_in_loop`; starting informers and controllers as the
controller-manager does, and stopping them in order, is the same for each test, so it lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError
from minik8s.client.events import EventRecorder
from minik8s.controllers.common.context import (
    ControllerContext,
    ControllerOptions,
    InformerFactory,
    RunnableController,
)


async def found(api: ApiClient, kind: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    """The object, or None when it is absent (or, while the server starts, unreachable)."""
    try:
        return await api.get(kind, name, namespace=namespace)
    except (ApiError, OSError):
        return None


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
