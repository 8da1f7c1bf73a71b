"""The node agent's access decisions: kubelet's path→subresource mapping, the reviews it posts and caches, its flags."""

from __future__ import annotations

import pytest

from minik8s.api.credentials import InvalidCredentials
from minik8s.api.meta import JsonObject
from minik8s.api.rbac import RequestAttributes
from minik8s.api.user import UserInfo, authenticated
from minik8s.apiserver.kubelet_client import KubeletConnection
from minik8s.apiserver.main import parse_args as apiserver_args
from minik8s.client.errors import ServerUnreachable
from minik8s.node.access import AgentAccess
from minik8s.node.authorization_webhook import SubjectAccessReviewAuthorizer, checks_for, subresources_for
from minik8s.node.expiring_cache import ExpiringCache
from minik8s.node.main import parse_args as node_args
from minik8s.node.serving_options import serving_options
from minik8s.node.token_webhook import TokenReviewAuthenticator, user_of_review

ALICE = authenticated("alice", ("devs",))
NODE_FLAGS = ["--node-name", "node-1", "--pod-cidr", "10.244.1.0/24"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("path", "subresources"), [
    ("/containerLogs/default/web/app", ("proxy",)),
    ("/exec/default/web/app", ("proxy",)),
    ("/logs/messages", ("log",)),
    ("/logs", ("log",)),
    ("/logsx", ("proxy",)),
    ("/stats/summary", ("stats",)),
    ("/metrics/cadvisor", ("metrics",)),
    ("/checkpoint/default/web/app", ("checkpoint",)),
    ("/healthz", ("healthz", "proxy")),
    ("/pods", ("pods", "proxy")),
    ("/runningpods/", ("pods", "proxy")),
    ("/configz", ("configz", "proxy")),
])
def test_paths_are_authorized_as_kubelets_node_subresources(path: str, subresources: tuple[str, ...]) -> None:
    assert subresources_for(path) == subresources


@pytest.mark.parametrize(("method", "verb"), [("GET", "get"), ("POST", "create"), ("PUT", "update"),
                                              ("PATCH", "patch"), ("DELETE", "delete"), ("HEAD", "")])
def test_the_verb_is_the_http_methods(method: str, verb: str) -> None:
    (check,) = checks_for(ALICE, "node-1", method, "/containerLogs/a/b/c", websocket=False)
    assert check == (RequestAttributes(ALICE, verb, api_version="v1", resource="nodes", subresource="proxy",
                                       name="node-1", path="/containerLogs/a/b/c"),)


def test_a_websocket_upgrade_needs_create_as_well_as_get() -> None:
    get, create = checks_for(ALICE, "node-1", "GET", "/exec/default/web/app", websocket=True)
    assert [(a.verb, a.subresource) for a in get] == [("get", "proxy")]
    assert [(a.verb, a.subresource) for a in create] == [("create", "proxy")]


def test_the_cache_forgets_expired_entries_and_keeps_a_bounded_number() -> None:
    clock = Clock()
    cache: ExpiringCache[int] = ExpiringCache(max_entries=2, clock=clock)
    cache.put("a", 1, 10)
    cache.put("b", 2, 30)
    clock.now += 10
    assert cache.get("a") is None and cache.get("b") == 2
    cache.put("c", 3, 30)
    cache.put("d", 4, 30)
    assert cache.get("b") is None and len(cache) == 2
    cache.put("e", 5, 0)
    assert cache.get("e") is None


def test_a_token_review_answer_is_its_user_with_system_authenticated() -> None:
    answered: JsonObject = {"status": {"authenticated": True, "user": {
        "username": "system:serviceaccount:default:reader", "uid": "u-1", "groups": ["system:serviceaccounts"],
        "extra": {"authentication.kubernetes.io/pod-name": ["web"]}}}}
    assert user_of_review(answered) == UserInfo(
        "system:serviceaccount:default:reader", ("system:serviceaccounts", "system:authenticated"), "u-1",
        {"authentication.kubernetes.io/pod-name": ("web",)})
    assert user_of_review({"status": {"authenticated": False, "user": {}}}) is None
    with pytest.raises(InvalidCredentials, match="token has expired"):
        user_of_review({"status": {"authenticated": False, "error": "token has expired"}})


async def test_token_reviews_are_kept_two_minutes_and_failures_not_at_all() -> None:
    clock, posted = Clock(), []
    answers: list[JsonObject | Exception] = [ServerUnreachable("down"),
                                             {"status": {"authenticated": True, "user": {"username": "carol"}}},
                                             {"status": {"authenticated": False}}]

    async def post(review: JsonObject) -> JsonObject:
        posted.append(review)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    tokens = TokenReviewAuthenticator(post, clock=clock)
    with pytest.raises(InvalidCredentials, match="the token review failed: down"):
        await tokens("t0ken")
    assert await tokens("t0ken") == authenticated("carol")
    clock.now += 119
    assert await tokens("t0ken") == authenticated("carol")
    clock.now += 1
    assert await tokens("t0ken") is None
    assert posted == [{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                       "spec": {"token": "t0ken"}}] * 3
    assert "t0ken" not in str(tokens.answers._entries)


async def test_access_reviews_keep_allowed_five_minutes_and_denied_thirty_seconds() -> None:
    clock, posted = Clock(), []
    verdicts = [True, False, False]

    async def post(review: JsonObject) -> JsonObject:
        posted.append(review)
        return {**review, "status": {"allowed": verdicts.pop(0)}}

    authorizer = SubjectAccessReviewAuthorizer(post, clock=clock)
    (logs,) = checks_for(ALICE, "node-1", "GET", "/containerLogs/a/b/c", websocket=False)
    (exec_check,) = checks_for(ALICE, "node-1", "POST", "/exec/a/b/c", websocket=False)
    assert await authorizer.allowed(logs[0]) is True
    assert await authorizer.allowed(exec_check[0]) is False
    clock.now += 29
    assert await authorizer.allowed(exec_check[0]) is False and len(posted) == 2
    clock.now += 1
    assert await authorizer.allowed(exec_check[0]) is False and len(posted) == 3
    clock.now += 269
    assert await authorizer.allowed(logs[0]) is True and len(posted) == 3
    assert posted[0] == {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": "alice", "groups": ["devs", "system:authenticated"],
        "resourceAttributes": {"namespace": "", "verb": "get", "group": "", "version": "v1", "resource": "nodes",
                               "subresource": "proxy", "name": "node-1"}}}


async def test_a_fine_grained_path_passes_on_either_subresource() -> None:
    async def post(review: JsonObject) -> JsonObject:
        return {"status": {"allowed": review["spec"]["resourceAttributes"]["subresource"] == "proxy"}}

    authorizer = SubjectAccessReviewAuthorizer(post)
    assert await authorizer.first_refused(checks_for(ALICE, "node-1", "GET", "/healthz", websocket=False)) is None
    refused = await authorizer.first_refused(checks_for(ALICE, "node-1", "GET", "/logs/x", websocket=False))
    assert refused is not None and refused.subresource == "log"


@pytest.mark.parametrize(("flags", "tls", "anonymous", "webhook", "guarded"), [
    ([], False, True, False, False),
    (["--tls-cert-file", "s.crt", "--tls-private-key-file", "s.key", "--client-ca-file", "ca.crt"],
     True, False, True, True),
    (["--tls-cert-file", "s.crt", "--tls-private-key-file", "s.key", "--anonymous-auth", "true",
      "--authorization-mode", "AlwaysAllow"], True, True, False, True),
    (["--anonymous-auth", "false"], False, False, False, True),
])
def test_agent_defaults_follow_tls(flags: list[str], tls: bool, anonymous: bool, webhook: bool, guarded: bool) -> None:
    options = serving_options(node_args([*NODE_FLAGS, *flags]))
    assert (options.tls is not None, options.anonymous, options.webhook, options.guarded) == \
        (tls, anonymous, webhook, guarded)


@pytest.mark.parametrize("flags", [["--tls-cert-file", "s.crt"], ["--client-ca-file", "ca.crt"],
                                   ["--authorization-mode", "RBAC"]])
def test_agent_tls_flags_that_do_not_fit_stop_the_start(flags: list[str]) -> None:
    with pytest.raises(SystemExit):
        node_args([*NODE_FLAGS, *flags])


def test_the_apiserver_reaches_agents_over_tls_only_with_all_three_kubelet_flags() -> None:
    assert apiserver_args([]).kubelet_client is None
    client = apiserver_args(["--kubelet-client-certificate", "c.crt", "--kubelet-client-key", "c.key",
                             "--kubelet-certificate-authority", "ca.crt"]).kubelet_client
    assert (client.cert_file, client.key_file, client.ca_file) == ("c.crt", "c.key", "ca.crt")
    with pytest.raises(SystemExit):
        apiserver_args(["--kubelet-client-certificate", "c.crt", "--kubelet-client-key", "c.key"])


def test_plain_connections_keep_http_and_ws() -> None:
    plain = KubeletConnection()
    assert plain.http_url("10.244.1.1:10250", "/containerLogs/a/b/c") == "http://10.244.1.1:10250/containerLogs/a/b/c"
    assert plain.websocket_url("[::1]:10250", "/exec/a/b/c") == "ws://[::1]:10250/exec/a/b/c"


async def test_a_review_the_apiserver_cannot_answer_is_kubelets_authorization_error() -> None:
    async def post(review: JsonObject) -> JsonObject:
        raise ServerUnreachable("no apiserver answered")

    access = AgentAccess("node-1", authorizer=SubjectAccessReviewAuthorizer(post))
    refusal = await access.refusal(ALICE, "GET", "/containerLogs/a/b/c", websocket=False)
    assert refusal is not None and refusal.status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "InternalError",
        "code": 500, "message": "Authorization error (user=alice, verb=get, resource=nodes, subresource=proxy)"}
    assert await AgentAccess("node-1").refusal(ALICE, "GET", "/exec/a/b/c", websocket=True) is None
