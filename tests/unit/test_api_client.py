"""ApiClient speaks Kubernetes' paths and bodies, fails over between replicas, and raises typed errors."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from minik8s.api.registry import REGISTRY, ResourceKind
from minik8s.client import errors
from minik8s.client.api import ApiClient
from minik8s.client.informer import ListWatchClient
from minik8s.client.kubeconfig import default_kubeconfig_path, load_kubeconfig, write_kubeconfig
from minik8s.client.leader import LeaseApi

SERVER_A = "http://10.0.0.1:6443"
SERVER_B = "http://10.0.0.2:6443"

Handler = Callable[[httpx.Request], httpx.Response]


def kind(name: str) -> ResourceKind:
    resource = REGISTRY.resolve(name)
    assert resource is not None
    return resource


PODS, NODES, DEPLOYMENTS, LEASES = kind("pods"), kind("nodes"), kind("deployments"), kind("leases")


class FakeServers:
    """Answers requests per server host; records what each received."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.by_host: dict[str, Handler] = {}
        self.default: Handler = lambda request: httpx.Response(200, json={"kind": "Pod", "metadata": {}})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.by_host.get(request.url.host, self.default)(request)

    def hosts(self) -> list[str]:
        return [request.url.host for request in self.seen]


def status(code: int, reason: str, message: str = "nope", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}
    return httpx.Response(code, json=body, headers=headers)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def servers() -> FakeServers:
    return FakeServers()


@pytest.fixture
async def client(servers: FakeServers) -> AsyncIterator[ApiClient]:
    api = ApiClient([SERVER_A, SERVER_B], token="s3cret", transport=httpx.MockTransport(servers),
                    failover_deadline=1.0, retry_pause=0.001, retry_pause_max=0.005)
    yield api
    await api.aclose()


async def test_api_client_serves_informers_and_leader_election(client: ApiClient) -> None:
    """Type-level: ApiClient satisfies the seams the informer and the elector are written against."""
    list_watch: ListWatchClient = client
    lease_api: LeaseApi = client
    assert list_watch is client
    assert lease_api is client


# -- paths and bodies --------------------------------------------------------------------------


async def test_paths_per_kind(client: ApiClient, servers: FakeServers) -> None:
    await client.get(PODS, "web", namespace="prod")
    await client.get(PODS, "web")
    await client.get(NODES, "n1", namespace="ignored")
    await client.get(DEPLOYMENTS, "front", namespace="prod")
    await client.get(LEASES, "scheduler", namespace="kube-system")
    await client.list(PODS)
    await client.list(DEPLOYMENTS, namespace="prod")
    assert [request.url.path for request in servers.seen] == [
        "/api/v1/namespaces/prod/pods/web",
        "/api/v1/namespaces/default/pods/web",
        "/api/v1/nodes/n1",
        "/apis/apps/v1/namespaces/prod/deployments/front",
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/scheduler",
        "/api/v1/pods",
        "/apis/apps/v1/namespaces/prod/deployments",
    ]
    assert all(request.headers["Authorization"] == "Bearer s3cret" for request in servers.seen)


async def test_list_passes_selectors_and_returns_the_list(client: ApiClient, servers: FakeServers) -> None:
    pod_list = {"kind": "PodList", "metadata": {"resourceVersion": "42"}, "items": []}
    servers.default = lambda request: httpx.Response(200, json=pod_list)
    answer = await client.list(PODS, namespace="ns", label_selector="app=web,tier!=db",
                               field_selector="spec.nodeName=n1", resource_version="0", limit=500)
    assert answer == pod_list
    assert dict(servers.seen[0].url.params) == {
        "labelSelector": "app=web,tier!=db", "fieldSelector": "spec.nodeName=n1",
        "resourceVersion": "0", "limit": "500",
    }


async def test_writes_use_the_right_verb_path_and_body(client: ApiClient, servers: FakeServers) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "prod",
                                                            "resourceVersion": "7"}}
    await client.create(PODS, pod)
    await client.update(PODS, pod)
    await client.update_status(PODS, pod)
    await client.update(NODES, {"metadata": {"name": "n1"}})
    sent = [(request.method, request.url.path, orjson.loads(request.content)) for request in servers.seen]
    assert sent == [
        ("POST", "/api/v1/namespaces/prod/pods", pod),
        ("PUT", "/api/v1/namespaces/prod/pods/web", pod),
        ("PUT", "/api/v1/namespaces/prod/pods/web/status", pod),
        ("PUT", "/api/v1/nodes/n1", {"metadata": {"name": "n1"}}),
    ]


@pytest.mark.parametrize(
    ("patch_type", "content_type"),
    [
        ("merge", "application/merge-patch+json"),
        ("strategic", "application/strategic-merge-patch+json"),
        ("json", "application/json-patch+json"),
        ("apply", "application/apply-patch+yaml"),
    ],
)
async def test_patch_content_types(client: ApiClient, servers: FakeServers, patch_type: Any,
                                   content_type: str) -> None:
    await client.patch(DEPLOYMENTS, "front", {"spec": {"replicas": 3}}, namespace="prod",
                       patch_type=patch_type, subresource="scale", field_manager="me")
    request = servers.seen[0]
    assert request.method == "PATCH"
    assert request.url.path == "/apis/apps/v1/namespaces/prod/deployments/front/scale"
    assert request.headers["Content-Type"] == content_type
    assert request.url.params["fieldManager"] == "me"


async def test_delete_sends_delete_options(client: ApiClient, servers: FakeServers) -> None:
    await client.delete(PODS, "web", namespace="prod", grace_period_seconds=0,
                        propagation_policy="Foreground", preconditions_resource_version="9")
    request = servers.seen[0]
    assert (request.method, request.url.path) == ("DELETE", "/api/v1/namespaces/prod/pods/web")
    assert orjson.loads(request.content) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
        "propagationPolicy": "Foreground", "preconditions": {"resourceVersion": "9"},
    }


async def test_bind_posts_a_binding(client: ApiClient, servers: FakeServers) -> None:
    await client.bind("prod", "web", "n1")
    request = servers.seen[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/namespaces/prod/pods/web/binding")
    assert orjson.loads(request.content) == {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web", "namespace": "prod"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"},
    }


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (status(404, "NotFound"), errors.NotFound),
        (status(409, "AlreadyExists"), errors.AlreadyExists),
        (status(409, "Conflict"), errors.Conflict),
        (status(422, "Invalid"), errors.Invalid),
        (httpx.Response(403, text="forbidden"), errors.Forbidden),
    ],
)
async def test_error_answers_raise_typed_errors(client: ApiClient, servers: FakeServers,
                                                answer: httpx.Response, expected: type[Exception]) -> None:
    servers.default = lambda request: answer
    with pytest.raises(expected):
        await client.get(PODS, "web", namespace="prod")


async def test_raw_request_returns_any_status(client: ApiClient, servers: FakeServers) -> None:
    servers.default = lambda request: status(404, "NotFound")
    response = await client.request("GET", "/api/v1/namespaces/x/pods/y")
    assert response.status_code == 404


# -- fail-over ---------------------------------------------------------------------------------


async def test_connection_error_fails_over_and_remembers_the_good_server(
    client: ApiClient, servers: FakeServers
) -> None:
    servers.by_host["10.0.0.1"] = refuse
    await client.get(PODS, "web", namespace="prod")
    await client.get(PODS, "web", namespace="prod")
    assert servers.hosts() == ["10.0.0.1", "10.0.0.2", "10.0.0.2"]


async def test_503_fails_over(client: ApiClient, servers: FakeServers) -> None:
    servers.by_host["10.0.0.1"] = lambda request: status(503, "ServiceUnavailable", headers={"Retry-After": "0"})
    answer = await client.create(PODS, {"metadata": {"name": "web", "namespace": "prod"}})
    assert answer["kind"] == "Pod"
    assert servers.hosts() == ["10.0.0.1", "10.0.0.2"]


async def test_post_is_retried_after_connection_refused(client: ApiClient, servers: FakeServers) -> None:
    servers.by_host["10.0.0.1"] = refuse
    await client.create(PODS, {"metadata": {"name": "web", "namespace": "prod"}})
    assert servers.hosts() == ["10.0.0.1", "10.0.0.2"]


async def test_post_is_not_resent_once_it_may_have_arrived(client: ApiClient, servers: FakeServers) -> None:
    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    servers.by_host["10.0.0.1"] = read_timeout
    with pytest.raises(errors.ServerUnreachable, match="may have been applied"):
        await client.create(PODS, {"metadata": {"name": "web", "namespace": "prod"}})
    assert servers.hosts() == ["10.0.0.1"]
    await client.get(PODS, "web", namespace="prod")  # a GET after a timeout is retried elsewhere
    assert servers.hosts() == ["10.0.0.1", "10.0.0.1", "10.0.0.2"]


async def test_json_patch_is_not_resent_once_it_may_have_arrived(client: ApiClient,
                                                                 servers: FakeServers) -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    servers.by_host["10.0.0.1"] = reset
    operations = [{"op": "add", "path": "/metadata/finalizers/-", "value": "x"}]
    with pytest.raises(errors.ServerUnreachable):
        await client.patch(PODS, "web", operations, namespace="prod", patch_type="json")
    assert servers.hosts() == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("handler", "expected"),
    [(refuse, errors.ServerUnreachable),
     (lambda request: status(503, "ServiceUnavailable"), errors.ServiceUnavailable)],
)
async def test_gives_up_after_the_deadline(servers: FakeServers, handler: Handler,
                                           expected: type[Exception]) -> None:
    servers.default = handler
    api = ApiClient([SERVER_A, SERVER_B], transport=httpx.MockTransport(servers),
                    failover_deadline=0.03, retry_pause=0.001, retry_pause_max=0.005)
    async with api:
        with pytest.raises(expected):
            await api.get(PODS, "web", namespace="prod")
    assert {"10.0.0.1", "10.0.0.2"} <= set(servers.hosts())
    assert len(servers.seen) > 2  # it kept trying in rounds until the deadline


# -- watch -------------------------------------------------------------------------------------


def watch_body(*events: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)


async def test_watch_streams_events(client: ApiClient, servers: FakeServers) -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "11"}}
    servers.default = lambda request: httpx.Response(200, content=watch_body(
        {"type": "ADDED", "object": pod},
        {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "12"}}},
        {"type": "DELETED", "object": pod},
    ))
    events = [event async for event in client.watch(PODS, namespace="prod", resource_version="10",
                                                     field_selector="metadata.name=web", timeout_seconds=30)]
    assert [(event.type, event.resource_version) for event in events] == [
        ("ADDED", "11"), ("BOOKMARK", "12"), ("DELETED", "11")]
    assert dict(servers.seen[0].url.params) == {
        "watch": "true", "resourceVersion": "10", "fieldSelector": "metadata.name=web",
        "timeoutSeconds": "30", "allowWatchBookmarks": "true",
    }


class BrokenStream(httpx.AsyncByteStream):
    """A watch body whose connection resets after the first event."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.ReadError("connection reset by peer")


async def test_a_broken_watch_stream_just_ends(client: ApiClient, servers: FakeServers) -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "11"}}
    servers.default = lambda request: httpx.Response(
        200, stream=BrokenStream(watch_body({"type": "ADDED", "object": pod})))
    events = [event async for event in client.watch(PODS)]
    assert [(event.type, event.resource_version) for event in events] == [("ADDED", "11")]


async def test_watch_error_410_raises_gone(client: ApiClient, servers: FakeServers) -> None:
    expired = {"kind": "Status", "status": "Failure", "code": 410, "reason": "Expired", "message": "too old"}
    servers.default = lambda request: httpx.Response(200, content=watch_body({"type": "ERROR", "object": expired}))
    with pytest.raises(errors.Gone):
        async for _ in client.watch(PODS):
            pass


async def test_stream_raises_typed_error(client: ApiClient, servers: FakeServers) -> None:
    servers.default = lambda request: status(404, "NotFound")
    with pytest.raises(errors.NotFound):
        async with client.stream("GET", "/api/v1/namespaces/prod/pods/web/log"):
            pass


# -- kubeconfig --------------------------------------------------------------------------------


def test_kubeconfig_round_trip_is_private_and_standard(tmp_path: Path) -> None:
    path = tmp_path / "home" / "kubeconfig"
    write_kubeconfig(path, servers=[SERVER_A, SERVER_B], user_token="t0k")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = yaml.safe_load(path.read_text())
    assert (document["apiVersion"], document["kind"], document["current-context"]) == ("v1", "Config", "minik8s")
    assert document["clusters"][0]["cluster"]["server"] == SERVER_A
    config = load_kubeconfig(path)
    assert (config.servers, config.token, config.namespace) == ([SERVER_A, SERVER_B], "t0k", "default")


async def test_client_from_kubeconfig_uses_every_server(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, servers=[SERVER_A, SERVER_B], user_token="t0k")
    api = ApiClient.from_kubeconfig(str(path))
    async with api:
        assert api.servers == [SERVER_A, SERVER_B]


@pytest.mark.parametrize(
    ("explicit", "environment", "expected"),
    [
        ("/x/config", {"KUBECONFIG": "/k/1:/k/2", "MINIK8S_HOME": "/m"}, "/x/config"),
        (None, {"KUBECONFIG": "/k/1:/k/2", "MINIK8S_HOME": "/m"}, "/k/1"),
        (None, {"MINIK8S_HOME": "/m"}, "/m/kubeconfig"),
        (None, {}, "~/.minik8s/kubeconfig"),
    ],
)
def test_kubeconfig_resolution_order(monkeypatch: pytest.MonkeyPatch, explicit: str | None,
                                     environment: dict[str, str], expected: str) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("MINIK8S_HOME", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert default_kubeconfig_path(explicit) == Path(expected).expanduser()
