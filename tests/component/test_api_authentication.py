"""Authentication over real HTTPS on loopback: client certificates, bearer tokens, anonymous, impersonation,
TokenRequest, SelfSubjectReview, the exec WebSocket, and the official Python client with a bearer token.

The apiserver is `create_app` over a LocalStore served by `serve_http` with TLS, in the test's loop;
certificates come from a throwaway CA (tests/support/certs).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client as k8s
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from minik8s.apiserver.app import create_app
from minik8s.apiserver.authentication import Authentication, AuthenticationMiddleware, user_of
from minik8s.apiserver.authentication_credentials import parse_token_file
from minik8s.apiserver.authentication_setup import AuthenticationOptions
from minik8s.daemon.http import serve_http
from minik8s.daemon.tls import ServerTls
from minik8s.store.base import LocalStore
from tests.support.builders import pod
from tests.support.certs import TestCa
from tests.support.ports import free_port
from tests.support.waiting import eventually

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
TOKENS = 'static-token,carol,c-1,"devs,ops"\n'


@dataclass
class Cluster:
    url: str
    ca: TestCa

    def client(self, cert: tuple[str, str] | None = None, token: str = "") -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=str(self.ca.cert_file))
        if cert:
            context.load_cert_chain(*cert)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, verify=context, headers=headers)

    async def whoami(self, http: httpx.AsyncClient, **headers: str) -> dict[str, Any]:
        answer = await http.post(WHOAMI, json=REVIEW, headers=headers)
        assert answer.status_code == 201, answer.text
        user: dict[str, Any] = answer.json()["status"]["userInfo"]
        return user


@contextlib.asynccontextmanager
async def https_apiserver(tmp_path: Path, *, anonymous: bool = True) -> AsyncIterator[Cluster]:
    ca = TestCa(tmp_path)
    serving = ca.serving()
    port = free_port()
    options = AuthenticationOptions(static_tokens=parse_token_file(TOKENS),
                                    signing_key=ec.generate_private_key(ec.SECP256R1()), anonymous=anonymous)
    app = create_app(LocalStore(history=100), advertise=("127.0.0.1", port), authentication=options)
    tls = ServerTls(str(serving.cert_file), str(serving.key_file), str(ca.cert_file))
    task = asyncio.create_task(serve_http(app, host="127.0.0.1", port=port, lifespan="on", tls=tls))
    cluster = Cluster(f"https://127.0.0.1:{port}", ca)
    admin = cluster.client(ca.client("admin", "system:masters").pair)

    async def ready() -> bool:
        try:
            return (await admin.get("/api/v1/namespaces/kube-node-lease")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await eventually("the apiserver to serve", ready, timeout=20)
        yield cluster
    finally:
        await admin.aclose()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with https_apiserver(tmp_path) as served:
        yield served


async def test_client_certificate_is_the_user_its_subject_names(cluster: Cluster) -> None:
    async with cluster.client(cluster.ca.client("alice", "devs", "qa").pair) as http:
        assert await cluster.whoami(http) == {"username": "alice", "groups": ["devs", "qa", "system:authenticated"]}


async def test_static_token_is_its_user(cluster: Cluster) -> None:
    async with cluster.client(token="static-token") as http:
        assert await cluster.whoami(http) == {"username": "carol", "uid": "c-1",
                                              "groups": ["devs", "ops", "system:authenticated"]}


async def test_a_bad_token_is_401_never_anonymous(cluster: Cluster) -> None:
    async with cluster.client(token="wrong") as http:
        answer = await http.get("/api/v1/namespaces")
    assert answer.status_code == 401
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


async def test_no_credentials_is_anonymous(cluster: Cluster) -> None:
    async with cluster.client() as http:
        assert await cluster.whoami(http) == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
        assert (await http.get("/api/v1/namespaces/default")).status_code == 200  # no authorization yet


async def test_keep_alive_connections_keep_their_own_users(cluster: Cluster) -> None:
    async with cluster.client(cluster.ca.client("alice").pair) as alice, \
            cluster.client(cluster.ca.client("bob").pair) as bob:
        names = [(await cluster.whoami(http))["username"] for http in (alice, bob, alice, bob)]
    assert names == ["alice", "bob", "alice", "bob"]


async def test_masters_may_impersonate_and_others_may_not(cluster: Cluster) -> None:
    async with cluster.client(cluster.ca.client("admin", "system:masters").pair) as admin, \
            cluster.client(cluster.ca.client("alice").pair) as alice:
        assert await cluster.whoami(admin, **{"Impersonate-User": "bob", "Impersonate-Group": "devs"}) == {
            "username": "bob", "groups": ["devs", "system:authenticated"]}
        refused = await alice.post(WHOAMI, json=REVIEW, headers={"Impersonate-User": "bob"})
    assert refused.status_code == 403
    assert refused.json()["message"] == ('users "bob" is forbidden: User "alice" cannot impersonate resource '
                                         '"users" in API group "" at the cluster scope')


async def test_token_request_issues_a_bound_token_that_dies_with_its_service_account(cluster: Cluster) -> None:
    async with cluster.client(cluster.ca.client("admin", "system:masters").pair) as admin:
        created = await admin.post("/api/v1/namespaces/default/serviceaccounts",
                                   json={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
        assert created.status_code == 201, created.text
        answer = await admin.post("/api/v1/namespaces/default/serviceaccounts/robot/token",
                                  json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                        "spec": {"expirationSeconds": 600}})
        assert answer.status_code == 201, answer.text
        review = answer.json()
        assert review["kind"] == "TokenRequest" and review["spec"]["expirationSeconds"] == 600
        assert review["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
        token = review["status"]["token"]
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == "system:serviceaccount:default:robot"
        async with cluster.client(token=token) as robot:
            user = await cluster.whoami(robot)
            assert user["username"] == "system:serviceaccount:default:robot"
            assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                      "system:authenticated"]
            assert user["uid"] == created.json()["metadata"]["uid"]
            assert (await admin.delete("/api/v1/namespaces/default/serviceaccounts/robot")).status_code == 200
            assert (await robot.get("/api/v1/namespaces")).status_code == 401


async def test_token_request_refuses_short_lives_and_unknown_accounts(cluster: Cluster) -> None:
    async with cluster.client() as http:
        missing = await http.post("/api/v1/namespaces/default/serviceaccounts/ghost/token",
                                  json={"kind": "TokenRequest", "spec": {}})
        await http.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "robot"}})
        short = await http.post("/api/v1/namespaces/default/serviceaccounts/robot/token",
                                json={"kind": "TokenRequest", "spec": {"expirationSeconds": 60}})
    assert missing.status_code == 404 and missing.json()["message"] == 'serviceaccounts "ghost" not found'
    assert short.status_code == 422
    assert "may not specify a duration less than 10 minutes" in short.json()["message"]


async def test_service_accounts_print_as_a_table(cluster: Cluster) -> None:
    async with cluster.client() as http:
        await http.post("/api/v1/namespaces/default/serviceaccounts",
                        json={"metadata": {"name": "robot"}, "secrets": [{"name": "s"}]})
        table = (await http.get("/api/v1/namespaces/default/serviceaccounts",
                                headers={"Accept": "application/json;as=Table;g=meta.k8s.io;v=v1"})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Secrets", "Age"]
    assert table["rows"][0]["cells"][:2] == ["robot", 1]


async def test_exec_websocket_with_a_bad_token_is_refused_401(cluster: Cluster) -> None:
    context = ssl.create_default_context(cafile=str(cluster.ca.cert_file))
    url = cluster.url.replace("https", "wss") + "/api/v1/namespaces/default/pods/web/exec?command=sh"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, ssl=context, additional_headers={"Authorization": "Bearer wrong"}):
            pass
    assert refused.value.response.status_code == 401


async def test_official_python_client_with_a_bearer_token(cluster: Cluster) -> None:
    configuration = k8s.Configuration(host=cluster.url, api_key={"authorization": "static-token"},
                                      api_key_prefix={"authorization": "Bearer"})
    configuration.ssl_ca_cert = str(cluster.ca.cert_file)

    def whoami_and_list() -> tuple[Any, list[Any]]:
        with k8s.ApiClient(configuration) as api:
            review: Any = k8s.AuthenticationV1Api(api).create_self_subject_review(k8s.V1SelfSubjectReview())
            namespaces: Any = k8s.CoreV1Api(api).list_namespace()
            return review.status.user_info, [ns.metadata.name for ns in namespaces.items]

    user, namespaces = await asyncio.to_thread(whoami_and_list)
    assert user.username == "carol" and "default" in namespaces


async def test_anonymous_auth_false_refuses_requests_without_credentials(tmp_path: Path) -> None:
    async with https_apiserver(tmp_path, anonymous=False) as served, served.client() as http:
        assert (await http.get("/version")).status_code == 401


async def _service_account_token(http: httpx.AsyncClient, audiences: list[str] | None = None) -> str:
    await http.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "robot"}})
    answer = await http.post("/api/v1/namespaces/default/serviceaccounts/robot/token",
                             json={"kind": "TokenRequest", "spec": {"audiences": audiences or []}})
    token: str = answer.json()["status"]["token"]
    return token


async def _token_review(http: httpx.AsyncClient, token: str, audiences: list[str] | None = None) -> dict[str, Any]:
    answer = await http.post("/apis/authentication.k8s.io/v1/tokenreviews",
                             json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                   "spec": {"token": token, "audiences": audiences or []}})
    assert answer.status_code == 201, answer.text
    status: dict[str, Any] = answer.json()["status"]
    return status


async def test_token_review_says_whose_a_token_is_and_for_which_audiences(cluster: Cluster) -> None:
    async with cluster.client() as http:
        default_token = await _service_account_token(http)
        vault_token = await _service_account_token(http, ["vault"])
        reviewed = await _token_review(http, default_token)
        assert reviewed["authenticated"] is True
        assert reviewed["user"]["username"] == "system:serviceaccount:default:robot"
        assert reviewed["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
        assert (await _token_review(http, vault_token, ["vault"]))["audiences"] == ["vault"]
        wrong_audience = await _token_review(http, vault_token)
        assert wrong_audience["authenticated"] is False and "error" in wrong_audience
        assert (await _token_review(http, "static-token"))["user"]["username"] == "carol"
        assert (await _token_review(http, "static-token", ["vault"]))["authenticated"] is False
        assert await _token_review(http, "unknown") == {"authenticated": False, "user": {}}
        empty = await http.post("/apis/authentication.k8s.io/v1/tokenreviews", json={"spec": {}})
    assert empty.status_code == 400
    assert empty.json()["message"] == "token is required for TokenReview in authentication"


async def test_the_default_app_is_anonymous_and_ignores_tokens(api: httpx.AsyncClient) -> None:
    """No authentication flags (the shared `api` fixture): a token is no credential, everyone is anonymous."""
    answer = await api.post(WHOAMI, json=REVIEW, headers={"Authorization": "Bearer whatever"})
    assert answer.status_code == 201
    assert answer.json()["status"]["userInfo"] == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    assert (await api.get("/api/v1/namespaces", headers={"Authorization": "Bearer whatever"})).status_code == 200


async def test_a_websocket_carries_its_connections_user(tmp_path: Path) -> None:
    """The exec WebSocket's scope gets `state["user"]` like any request: here from the client certificate."""
    async def who(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(user_of(websocket.scope["state"]).name)
        await websocket.close()

    app = AuthenticationMiddleware(Starlette(routes=[WebSocketRoute("/who", who)]), Authentication())
    ca = TestCa(tmp_path)
    serving, port = ca.serving(), free_port()
    tls = ServerTls(str(serving.cert_file), str(serving.key_file), str(ca.cert_file))
    task = asyncio.create_task(serve_http(app, host="127.0.0.1", port=port, tls=tls))
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    context.load_cert_chain(*ca.client("dora", "devs").pair)

    async def greeting() -> str | None:
        try:
            async with websockets.connect(f"wss://127.0.0.1:{port}/who", ssl=context) as socket:
                return str(await socket.recv())
        except OSError:
            return None

    try:
        await eventually("the WebSocket to answer", greeting, timeout=20)
        assert await greeting() == "dora"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("path", ["/api/v1/namespaces/default/serviceaccounts/robot/token", WHOAMI,
                                  "/apis/authentication.k8s.io/v1/tokenreviews"])
async def test_the_authentication_apis_are_create_only(api: httpx.AsyncClient, path: str) -> None:
    await api.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "robot"}})
    answer = await api.get(path)
    assert answer.status_code == 405 and answer.json()["reason"] == "MethodNotAllowed"


async def test_a_pod_bound_token_dies_with_its_pod(cluster: Cluster) -> None:
    async with cluster.client(cluster.ca.client("admin", "system:masters").pair) as admin:
        await admin.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "robot"}})
        created = await admin.post("/api/v1/namespaces/default/pods", json=pod("web", namespace="default"))
        assert created.status_code == 201, created.text
        answer = await admin.post("/api/v1/namespaces/default/serviceaccounts/robot/token", json={
            "kind": "TokenRequest", "spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}})
        assert answer.status_code == 201, answer.text
        assert answer.json()["spec"]["boundObjectRef"]["uid"] == created.json()["metadata"]["uid"]
        async with cluster.client(token=answer.json()["status"]["token"]) as robot:
            user = await cluster.whoami(robot)
            assert user["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]
            deleted = await admin.delete("/api/v1/namespaces/default/pods/web", params={"gracePeriodSeconds": "0"})
            assert deleted.status_code == 200, deleted.text
            assert (await robot.get("/api/v1/namespaces")).status_code == 401


async def test_official_python_client_with_a_client_certificate(cluster: Cluster) -> None:
    configuration = k8s.Configuration(host=cluster.url)
    configuration.ssl_ca_cert = str(cluster.ca.cert_file)
    configuration.cert_file, configuration.key_file = cluster.ca.client("frank", "devs").pair

    def whoami() -> Any:
        with k8s.ApiClient(configuration) as api:
            review: Any = k8s.AuthenticationV1Api(api).create_self_subject_review(k8s.V1SelfSubjectReview())
            return review.status.user_info

    user = await asyncio.to_thread(whoami)
    assert user.username == "frank" and user.groups == ["devs", "system:authenticated"]
