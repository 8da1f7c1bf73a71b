"""A real apiserver app over an in-process store, served by uvicorn on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.serving import apiserver_serving


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with apiserver_serving(history=50) as url, httpx.AsyncClient(base_url=url, timeout=5) as client:
        yield client
