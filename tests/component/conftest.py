"""A real apiserver app over an in-process store, served by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from minik8s.apiserver.app import create_app
from minik8s.store.base import LocalStore
from tests.support.ports import free_port


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    store = LocalStore(history=50)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, advertise=("127.0.0.1", port)), host="127.0.0.1",
                                           port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                if (await client.get("/api/v1/namespaces/kube-node-lease")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "apiserver did not start"
            await asyncio.sleep(0.02)
        yield client
    server.should_exit = True
    await asyncio.wait_for(task, 10)
