"""The apiserver application factory: the API routes, Status errors, health, metrics, bootstrap.

Authentication (`authentication`, default: everyone anonymous) sets each request's user first.
`create_app(store)` works over any `Store` — a Raft replica in production, a `LocalStore` in
component tests — so the whole HTTP surface is tested without processes or sockets.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from minik8s.api.pod_security.admission import PodSecurityConfig
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import UserInfo
from minik8s.apiserver.admission import DEFAULT_PLUGINS, NODE_RESTRICTION
from minik8s.apiserver.admission_pod_security import system_namespace_labels
from minik8s.apiserver.authentication_setup import AuthenticationOptions, install_authentication
from minik8s.apiserver.authorization import (
    ALWAYS_ALLOW,
    AuthorizationMiddleware,
    Authorizer,
    decides_with_rbac,
    new_authorizer,
)
from minik8s.apiserver.bootstrap import bootstrap
from minik8s.apiserver.error_handlers import UnexpectedErrors, add_error_handlers
from minik8s.apiserver.impersonation import ImpersonationTarget
from minik8s.apiserver.inflight import InflightBudget, InflightLimit
from minik8s.apiserver.kubelet_client import KubeletConnection
from minik8s.apiserver.load_limits import LoadLimits
from minik8s.apiserver.metrics import MetricsMiddleware, RequestStats, new_registry
from minik8s.apiserver.node_admission import restricted_node
from minik8s.apiserver.node_proxy import NodeProxy
from minik8s.apiserver.operations import Operations
from minik8s.apiserver.response_warnings import WarningHeaders
from minik8s.apiserver.routes import ApiHandler
from minik8s.apiserver.snapshot_schedule import PeriodicSnapshots
from minik8s.apiserver.storage import ObjectStore
from minik8s.apiserver.system_routes import add_system_routes
from minik8s.apiserver.watch_limits import WatchRegistry
from minik8s.daemon.request_guard import HostGuard, HostPolicy, host_policy
from minik8s.store.base import Store

API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(store: Store, *, name: str = "apiserver", toleration_seconds: dict[str, int] | None = None,
               advertise: tuple[str, int] | None = None, hosts: HostPolicy | None = None,
               authentication: AuthenticationOptions | None = None, authorization_mode: str = ALWAYS_ALLOW,
               kubelet: KubeletConnection | None = None,
               admission_plugins: frozenset[str] = DEFAULT_PLUGINS,
               pod_security: PodSecurityConfig | None = None, load_limits: LoadLimits | None = None,
               snapshots: PeriodicSnapshots | None = None) -> FastAPI:
    """The apiserver over `store`. `hosts` are the Host headers it answers (default: IP literals, localhost,
    the cluster's names, this machine's hostname and the advertised host — see daemon.request_guard);
    `authentication` says how requests prove who they are; `authorization_mode` is AlwaysAllow or RBAC;
    `kubelet` is how logs and exec reach node agents (default plain http/ws; see kubelet_client);
    `admission_plugins` the plugins every write passes (see admission); `pod_security` PodSecurity's
    defaults and exempt namespaces (default: all privileged); `load_limits` see load_limits; `snapshots` the
    periodic snapshots this replica takes (run by its caller; shown by `/debug/raft`)."""
    limits = load_limits or LoadLimits()
    pod_security = pod_security or PodSecurityConfig()
    ops = Operations(ObjectStore(store), toleration_seconds=toleration_seconds, admission_plugins=admission_plugins,
                     pod_security=pod_security)
    node_proxy = NodeProxy(ops, connection=kubelet)
    authorizer = new_authorizer(authorization_mode, store)
    watches = WatchRegistry(total=limits.max_watches, per_user=limits.max_watches_per_user)
    handler = ApiHandler(ops, node_proxy=node_proxy, authorizer=authorizer, watches=watches,
                         min_request_timeout=limits.min_request_timeout)
    inflight = InflightBudget(read_only=limits.max_requests_inflight, mutating=limits.max_mutating_requests_inflight)
    stats = RequestStats()
    background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(bootstrap(ops, advertise, rbac=authorization_mode != ALWAYS_ALLOW,
                                             namespace_labels=system_namespace_labels(pod_security)))
        background.add(task)
        task.add_done_callback(background.discard)
        yield
        task.cancel()
        authorizer.close()
        await node_proxy.close()

    app = FastAPI(title="minik8s apiserver", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store, app.state.ops, app.state.authorizer = store, ops, authorizer
    # Middleware added first runs innermost: the user is authenticated, then counted in flight (as upstream's
    # maxinflight filter, so system:masters can be told apart), then authorized.
    app.add_middleware(AuthorizationMiddleware, authorizer=authorizer)  # type: ignore[arg-type]
    app.add_middleware(InflightLimit, budget=inflight)  # type: ignore[arg-type]
    install_authentication(app, ops, with_impersonation_by(authorizer, authentication or AuthenticationOptions()),
                           restricted_node=lambda user: restricted_node(
                               authorizer, user, enabled=ops.admission.runs(NODE_RESTRICTION)))
    _add_api_routes(app, handler, node_proxy)
    add_system_routes(app, store, name=name, metrics=new_registry(stats, store, lambda: watches.open,
                                                                  lambda: inflight.in_flight),
                      more_status=snapshots.status if snapshots is not None else None)
    _add_outer_layers(app, stats, hosts or host_policy(own=[advertise[0]] if advertise else []))
    return app


def _add_api_routes(app: FastAPI, handler: ApiHandler, node_proxy: NodeProxy) -> None:
    app.add_route("/api", handler.core, methods=["GET"])
    app.add_route("/api/{path:path}", handler.core, methods=API_METHODS)
    app.add_route("/apis", handler.groups, methods=["GET"])
    app.add_route("/apis/{path:path}", handler.groups, methods=API_METHODS)
    app.router.add_websocket_route("/api/v1/namespaces/{namespace}/pods/{name}/exec", node_proxy.exec_socket)


def _add_outer_layers(app: FastAPI, stats: RequestStats, hosts: HostPolicy) -> None:
    """Error Statuses, metrics, the Host guard and warning headers, around everything else."""
    add_error_handlers(app)
    app.add_middleware(UnexpectedErrors)  # type: ignore[arg-type]
    app.add_middleware(MetricsMiddleware, stats=stats)  # type: ignore[arg-type]
    app.add_middleware(HostGuard, policy=hosts)
    app.add_middleware(WarningHeaders)  # outermost: every request has its recorder, every response its headers


def with_impersonation_by(authorizer: Authorizer, options: AuthenticationOptions) -> AuthenticationOptions:
    """Under RBAC, who may impersonate whom is RBAC's `impersonate` verb; otherwise the options' own check
    stands (only `system:masters`: AlwaysAllow must not hand every caller every identity)."""
    if not decides_with_rbac(authorizer):
        return options

    async def allowed(user: UserInfo, target: ImpersonationTarget) -> bool:
        return authorizer.authorize(RequestAttributes(
            user, target.verb, namespace=target.namespace, api_group=target.api_group, resource=target.resource,
            subresource=target.subresource, name=target.name)).allowed

    return dataclasses.replace(options, impersonation=allowed)
