"""Who may use a node agent: HTTPS with the node's serving certificate, authentication, and the apiserver's word.

The agent is the real node app over a fake runtime, served by the product's `serve_http` with the files
`ensure_cluster_pki` issues (`kubelet-serving-node-1`, the cluster CA as client CA) and the access
`minik8s-node` builds from its TLS flags: its own client reviews tokens (TokenReview) and requests
(SubjectAccessReview) at a real apiserver in `Node,RBAC` mode, as `system:node:node-1`. That apiserver
reaches the agent with `--kubelet-client-certificate` (`apiserver-kubelet-client`) and verifies it.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.exceptions import InvalidStatus

from minik8s.apiserver.authentication_setup import AuthenticationOptions
from minik8s.apiserver.authorization_node import NODE_RBAC
from minik8s.apiserver.kubelet_client import KubeletClientTls, KubeletConnection
from minik8s.client.api import ApiClient
from minik8s.client.errors import NotFound
from minik8s.daemon.tls import ServerTls
from minik8s.node.server import ResolvedContainer
from minik8s.node.serving_options import ServingOptions, agent_access
from minik8s.pki.certificates import KeyPair, issue_client
from minik8s.pki.ensure import ClusterPki, ensure_cluster_pki, load_ca
from minik8s.pki.files import PairFiles, write_pair
from minik8s.pki.identities import APISERVER_KUBELET_CLIENT_USER
from tests.support import builders
from tests.support.certs import TestCa
from tests.support.fake_runtime import FakeRuntime
from tests.support.node_server import V5, https_node_server, run_exec
from tests.support.serving import apiserver_serving
from tests.support.users import ADMIN, TEST_USER_HEADER, test_tokens, user_token

NODE = "node-1"
LOGS = "/containerLogs/default/web/app"
EXEC = "/exec/default/web/app?command=echo&command=hi&stdout=true"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def resolve(namespace: str, pod: str, container: str | None, previous: bool) -> ResolvedContainer:
    if (namespace, pod, container) != ("default", "web", "app"):
        raise NotFound(404, "NotFound", f'pod "{pod}" not found on this node')
    return ResolvedContainer("c-app")


@dataclass
class Cluster:
    api: httpx.AsyncClient  # the apiserver, as the admin
    agent: str  # 127.0.0.1:PORT of node-1's agent
    pki: ClusterPki
    ca: KeyPair

    def tls(self, cert: PairFiles | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca.certificate))
        if cert is not None:
            context.load_cert_chain(str(cert.certificate), str(cert.key))
        return context

    def agent_client(self, cert: PairFiles | None = None, *, token: str = "") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=f"https://{self.agent}", verify=self.tls(cert), headers=headers,
                                 timeout=5)

    def user(self, name: str, *groups: str) -> PairFiles:
        """A client certificate from the cluster CA, as `minik8s kubeconfig --user` mints one."""
        files = PairFiles(self.pki.folder, f"user-{name}")
        write_pair(files, issue_client(self.ca, user=name, groups=groups))
        return files

    @property
    def apiserver_identity(self) -> PairFiles:
        return self.pki.clients[APISERVER_KUBELET_CLIENT_USER]


async def register_node(api: httpx.AsyncClient, name: str, address: str) -> None:
    assert (await api.post("/api/v1/nodes", json={"metadata": {"name": name}})).status_code == 201
    host, port = address.rsplit(":", 1)
    status = {"status": {"addresses": [{"type": "InternalIP", "address": host}],
                         "daemonEndpoints": {"kubeletEndpoint": {"Port": int(port)}}}}
    patched = await api.patch(f"/api/v1/nodes/{name}/status", json=status,
                              headers={"content-type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    pki = ensure_cluster_pki(tmp_path / "pki", nodes=[(NODE, "127.0.0.1")])
    ca = load_ca(pki.folder)
    assert ca is not None
    kubelet_client = pki.clients[APISERVER_KUBELET_CLIENT_USER]
    kubelet = KubeletConnection.of(KubeletClientTls(str(kubelet_client.certificate), str(kubelet_client.key),
                                                    str(pki.ca.certificate)))
    authentication = AuthenticationOptions(token_authenticators=(test_tokens,),
                                           signing_key=ec.generate_private_key(ec.SECP256R1()))
    runtime = FakeRuntime()
    runtime.lines["c-app"] = [b"line 1\n", b"line 2\n"]
    serving = pki.node_serving[NODE]
    tls = ServerTls(str(serving.certificate), str(serving.key), str(pki.ca.certificate))
    async with apiserver_serving(authorization_mode=NODE_RBAC, authentication=authentication, kubelet=kubelet) as url, \
            httpx.AsyncClient(base_url=url, headers={TEST_USER_HEADER: ADMIN}, timeout=5) as api, \
            ApiClient([url], token=user_token(f"system:node:{NODE}", "system:nodes")) as node_client:
        access = agent_access(ServingOptions(tls, anonymous=False, webhook=True), NODE, node_client)
        async with https_node_server(runtime, resolve, tls=tls, access=access) as agent:
            await register_node(api, NODE, agent)
            pod = builders.pod("web", containers=[builders.container("app")], node_name=NODE)
            assert (await api.post("/api/v1/namespaces/default/pods", json=pod)).status_code == 201
            yield Cluster(api, agent, pki, ca)


def assert_status(answer: httpx.Response, code: int, message: str) -> None:
    assert answer.status_code == code, answer.text
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": message, "reason": answer.json()["reason"], "code": code}


async def exec_refusal(cluster: Cluster, cert: PairFiles | None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await run_exec(f"wss://{cluster.agent}{EXEC}", tls=cluster.tls(cert))
    return refused.value.response.status_code


async def test_a_caller_without_credentials_is_401_as_a_pod_calling_its_agent_is(cluster: Cluster) -> None:
    async with cluster.agent_client() as anonymous:
        for path in (LOGS, "/healthz", "/anything"):
            answer = await anonymous.get(path)
            assert_status(answer, 401, "Unauthorized")
            assert answer.json()["reason"] == "Unauthorized"
    assert await exec_refusal(cluster, None) == 401


async def test_a_bad_bearer_token_is_401(cluster: Cluster) -> None:
    async with cluster.agent_client(token="not-a-token") as caller:
        assert_status(await caller.get(LOGS), 401, "Unauthorized")


async def test_a_certificate_of_another_ca_is_refused_by_the_handshake(cluster: Cluster, tmp_path: Path) -> None:
    stranger = TestCa(tmp_path, name="other-ca")
    issued = stranger.client(APISERVER_KUBELET_CLIENT_USER, "system:masters")
    context = cluster.tls()
    context.load_cert_chain(*issued.pair)
    async with httpx.AsyncClient(base_url=f"https://{cluster.agent}", verify=context, timeout=5) as caller:
        with pytest.raises(httpx.TransportError):
            await caller.get(LOGS)


async def test_the_apiservers_kubelet_client_certificate_reads_logs_and_health(cluster: Cluster) -> None:
    async with cluster.agent_client(cluster.apiserver_identity) as apiserver:
        logs = await apiserver.get(LOGS)
        assert logs.status_code == 200, logs.text
        assert logs.text == "line 1\nline 2\n"
        assert (await apiserver.get("/healthz")).text == "ok"
    result = await run_exec(f"wss://{cluster.agent}{EXEC}", tls=cluster.tls(cluster.apiserver_identity))
    assert result.stdout == b"hi\n"


async def test_a_user_rbac_does_not_let_use_the_node_is_403_in_kubelets_words(cluster: Cluster) -> None:
    async with cluster.agent_client(cluster.user("alice", "devs")) as alice:
        assert_status(await alice.get(LOGS), 403, "Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)")
        assert (await alice.get(LOGS)).json()["reason"] == "Forbidden"


async def test_get_on_nodes_proxy_reads_logs_but_exec_needs_create_too(cluster: Cluster) -> None:
    role = {"metadata": {"name": "node-reader"},
            "rules": [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]}
    binding = {"metadata": {"name": "bob-reads-nodes"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "node-reader"},
               "subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]}
    assert (await cluster.api.post(f"{RBAC}/clusterroles", json=role)).status_code == 201
    assert (await cluster.api.post(f"{RBAC}/clusterrolebindings", json=binding)).status_code == 201
    bob = cluster.user("bob")
    async with cluster.agent_client(bob) as caller:
        assert (await caller.get(LOGS)).text == "line 1\nline 2\n"
    with pytest.raises(InvalidStatus) as refused:
        await run_exec(f"wss://{cluster.agent}{EXEC}", tls=cluster.tls(bob))
    answer = refused.value.response
    assert answer.status_code == 403
    assert b"Forbidden (user=bob, verb=create, resource=nodes, subresource=proxy)" in bytes(answer.body or b"")


async def service_account_token(api: httpx.AsyncClient, name: str) -> str:
    created = await api.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": name}})
    assert created.status_code == 201, created.text
    issued = await api.post(f"/api/v1/namespaces/default/serviceaccounts/{name}/token",
                            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    assert issued.status_code == 201, issued.text
    token: str = issued.json()["status"]["token"]
    return token


async def test_a_service_account_token_is_reviewed_and_refused_without_rights(cluster: Cluster) -> None:
    token = await service_account_token(cluster.api, "reader")
    async with cluster.agent_client(token=token) as pod:
        assert_status(await pod.get(LOGS), 403, "Forbidden (user=system:serviceaccount:default:reader, verb=get, "
                                                "resource=nodes, subresource=proxy)")


async def test_logs_and_exec_through_the_apiserver_reach_the_agent_over_verified_tls(cluster: Cluster) -> None:
    logs = await cluster.api.get("/api/v1/namespaces/default/pods/web/log")
    assert logs.status_code == 200, logs.text
    assert logs.text == "line 1\nline 2\n"
    url = f"{str(cluster.api.base_url).replace('http://', 'ws://')}/api/v1/namespaces/default/pods/web/exec" \
          "?command=echo&command=over&command=tls&stdout=true"
    result = await run_exec(url, protocol=V5, headers={TEST_USER_HEADER: ADMIN})
    assert result.stdout == b"over tls\n"
    assert result.status == {"metadata": {}, "status": "Success"}


async def test_an_agent_the_apiserver_cannot_verify_is_not_reachable(cluster: Cluster, tmp_path: Path) -> None:
    impostor_ca = TestCa(tmp_path, name="impostor-ca")
    serving = impostor_ca.serving()  # valid for 127.0.0.1, but not from the cluster CA
    runtime = FakeRuntime()
    runtime.lines["c-app"] = [b"secret\n"]
    tls = ServerTls(str(serving.cert_file), str(serving.key_file))
    async with https_node_server(runtime, resolve, tls=tls, access=None) as impostor:
        await register_node(cluster.api, "node-2", impostor)
        pod: dict[str, Any] = builders.pod("elsewhere", containers=[builders.container("app")], node_name="node-2")
        assert (await cluster.api.post("/api/v1/namespaces/default/pods", json=pod)).status_code == 201
        answer = await cluster.api.get("/api/v1/namespaces/default/pods/elsewhere/log")
    assert answer.status_code == 503, answer.text
    assert "certificate verify failed" in answer.json()["message"]
    assert runtime.log_calls == []
