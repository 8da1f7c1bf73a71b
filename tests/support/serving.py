"""Servers in the test's own event loop: any ASGI app, or an apiserver over an in-process store.

uvicorn serves on a free loopback port; a test gets the address only once the server listens (and,
for the apiserver, once it has created the system namespaces), and the server is stopped, bounded,
whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import AsyncIterator
from typing import Literal

import httpx
import uvicorn
from starlette.types import ASGIApp

from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.apiserver.admission import DEFAULT_PLUGINS
from minik8s.apiserver.app import create_app
from minik8s.apiserver.authentication_setup import AuthenticationOptions
from minik8s.apiserver.authorization import ALWAYS_ALLOW
from minik8s.apiserver.kubelet_client import KubeletConnection
from minik8s.apiserver.load_limits import LoadLimits
from minik8s.apiserver.service_account_tokens import PrivateKey
from minik8s.client.api import ApiClient
from minik8s.daemon.http import HttpProtocol, serve_http
from minik8s.daemon.tls import ServerTls
from minik8s.store.base import LocalStore, Store
from tests.support.ports import free_port
from tests.support.users import ADMIN, TEST_USER_HEADER, TestUserMiddleware, test_authentication
from tests.support.waiting import eventually, wait_for

STOP_SECONDS = 10.0
START_SECONDS = 20.0  # a loaded 2-core machine may take a while to bootstrap the system namespaces


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, *, port: int | None = None, lifespan: Literal["auto", "on", "off"] = "on",
                  graceful_seconds: int | None = None) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 (on `port`, or a free one); yields the port once uvicorn listens."""
    port = free_port() if port is None else port
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan,
                                           timeout_graceful_shutdown=graceful_seconds))
    task = asyncio.create_task(server.serve())
    try:
        await eventually("uvicorn to listen", lambda: server.started or task.done(), timeout=START_SECONDS)
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("uvicorn stopped before it listened")
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_SECONDS)


async def system_namespaces_exist(client: httpx.AsyncClient) -> bool:
    """kube-node-lease is the last system namespace the apiserver creates when it starts."""
    return (await client.get("/api/v1/namespaces/kube-node-lease")).status_code == 200


@contextlib.asynccontextmanager
async def https_serving(app: ASGIApp, tls: ServerTls | None, *, http: HttpProtocol = "httptools"
                        ) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 with the product's server (serve_http: HTTPS with `tls`, else HTTP, over
    the `http` parser); yields the port once it listens."""
    port = free_port()
    task = asyncio.create_task(serve_http(app, host="127.0.0.1", port=port, tls=tls, graceful_seconds=1, http=http))

    async def listening() -> bool:
        if task.done():
            task.result()  # raises what stopped it
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    try:
        await eventually("the HTTPS server to listen", listening, timeout=START_SECONDS)
        yield port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, STOP_SECONDS)


@contextlib.asynccontextmanager
async def apiserver_serving(*, history: int = 1000, store: Store | None = None,
                            authorization_mode: str = ALWAYS_ALLOW, authentication: AuthenticationOptions | None = None,
                            kubelet: KubeletConnection | None = None, admission_plugins: frozenset[str] = DEFAULT_PLUGINS,
                            signing_key: PrivateKey | None = None,
                            pod_security: PodSecurityConfig | None = None,
                            load_limits: LoadLimits | None = None) -> AsyncIterator[str]:
    """An apiserver over `store` (a fresh LocalStore keeping `history` events by default); yields its URL.

    The URL is handed out once the apiserver serves the system namespaces. With RBAC, requests name
    their user in the `X-Test-User` header (tests/support/users.py). `authentication` replaces the test
    tokens' options (keep `test_tokens` among its token authenticators for the header to work);
    `kubelet` is how it reaches node agents; `signing_key` makes it issue (and accept) ServiceAccount
    tokens; `admission_plugins` are those it runs (by default the apiserver's defaults; add `SERVICE_ACCOUNT`
    to them for the ServiceAccount plugin), `pod_security` the PodSecurity plugin's defaults; `load_limits` its limits on
    requests and watches.
    """
    port = free_port()
    authentication = authentication or test_authentication(authorization_mode)
    if signing_key is not None:
        authentication = dataclasses.replace(authentication, signing_key=signing_key)
    app = create_app(LocalStore(history=history) if store is None else store, advertise=("127.0.0.1", port),
                     authorization_mode=authorization_mode, authentication=authentication, kubelet=kubelet,
                     admission_plugins=admission_plugins, pod_security=pod_security, load_limits=load_limits)
    if authorization_mode != ALWAYS_ALLOW:
        app.add_middleware(TestUserMiddleware)
    async with serving(app, port=port) as port:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=5, headers={TEST_USER_HEADER: ADMIN}) as client:
            await eventually("the apiserver to create the system namespaces", lambda: system_namespaces_exist(client),
                             timeout=START_SECONDS)
        yield url


@contextlib.asynccontextmanager
async def apiserver_in_loop(*, history: int = 1000, max_connections: int = 16) -> AsyncIterator[ApiClient]:
    """An apiserver over a LocalStore on a free loopback port; a client once it serves the system namespaces."""
    async with apiserver_serving(history=history) as url:
        api = ApiClient([url], max_connections=max_connections)
        try:
            yield api
        finally:
            await api.aclose()


class ThreadedApiserver:
    """An apiserver over a LocalStore on its own event-loop thread, so a test may block on a subprocess
    (the real kubectl) while it serves; tests name their users as tests/support/users.py says."""

    def __init__(self, *, authorization_mode: str = ALWAYS_ALLOW,
                 admission_plugins: frozenset[str] = DEFAULT_PLUGINS,
                 pod_security: PodSecurityConfig | None = None) -> None:
        self.authorization_mode = authorization_mode
        self.admission_plugins = admission_plugins
        self.pod_security = pod_security
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        app = create_app(LocalStore(history=100), advertise=("127.0.0.1", self.port),
                         authorization_mode=self.authorization_mode,
                         authentication=test_authentication(self.authorization_mode),
                         admission_plugins=self.admission_plugins, pod_security=self.pod_security)
        if self.authorization_mode != ALWAYS_ALLOW:
            app.add_middleware(TestUserMiddleware)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        await self.server.serve()

    def __enter__(self) -> ThreadedApiserver:
        self.thread.start()
        wait_for("the apiserver to create the system namespaces",
                 lambda: httpx.get(f"{self.url}/api/v1/namespaces/kube-node-lease", timeout=1,
                                   headers={TEST_USER_HEADER: ADMIN}).status_code == 200,
                 timeout=START_SECONDS, interval=0.02)
        return self

    def __exit__(self, *_: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(STOP_SECONDS)
