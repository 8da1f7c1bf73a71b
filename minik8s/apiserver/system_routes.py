"""The endpoints around the Kubernetes API: version, OpenAPI, health, Raft status, metrics, snapshots.

kubectl asks `/version` and the OpenAPI documents before it works; `/healthz` and `/livez`
answer while the process serves, `/readyz` only while the replica's Raft group has a leader
(what `minik8s up` and load balancers wait on); `/debug/raft` shows this replica's role, revision, cluster
id and last periodic snapshot, `/metrics` the Prometheus metrics and `/snapshot` the whole store
(snapshots.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from minik8s.api.snapshot_format import SNAPSHOT_PATH
from minik8s.apiserver import discovery, errors
from minik8s.apiserver.routes import json_response
from minik8s.apiserver.snapshots import snapshot_endpoint
from minik8s.store.base import Store


def add_system_routes(app: FastAPI, store: Store, *, name: str, metrics: CollectorRegistry,
                      more_status: Callable[[], Mapping[str, object]] | None = None) -> None:
    """Add every endpoint that is not part of the resource API; `more_status` adds to `/debug/raft`."""
    app.add_route("/version", version, methods=["GET"])
    app.add_route("/openapi/v2", openapi_v2, methods=["GET"])
    app.add_route("/openapi/v3", openapi_v3, methods=["GET"])
    app.add_route("/openapi/v3/{path:path}", openapi_v3, methods=["GET"])
    for path in ("/healthz", "/livez"):
        app.add_route(path, healthz, methods=["GET"])

    async def readyz(_: Request) -> Response:
        status = store.status()
        if not status.get("leader"):
            return PlainTextResponse("[-]store: no Raft leader\nreadyz check failed", status_code=503)
        return PlainTextResponse("ok")

    async def raft_status(_: Request) -> Response:
        return json_response({"name": name, **store.status(), **(more_status() if more_status else {})})

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(metrics), media_type="text/plain; version=0.0.4")

    app.add_route("/readyz", readyz, methods=["GET"])
    app.add_route("/debug/raft", raft_status, methods=["GET"])
    app.add_route("/metrics", metrics_endpoint, methods=["GET"])
    app.add_route(SNAPSHOT_PATH, snapshot_endpoint(store), methods=["GET"])


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
    return json_response(discovery.openapi_v2_document())


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")
