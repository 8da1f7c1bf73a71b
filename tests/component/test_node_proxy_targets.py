"""pods/log reaches only a node's agent: a Node's writer cannot aim the apiserver at another host:port.

A "secret" HTTP service listens on loopback, as the apiserver's own machine may run one. A Node that
names it by host name (or puts the cloud metadata address first) must not make `pods/log` fetch it:
the apiserver dials only an InternalIP or ExternalIP literal that a node can have (agent_address).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support import builders
from tests.support.serving import serving

PODS = "/api/v1/namespaces/default/pods"
MERGE = {"content-type": "application/merge-patch+json"}


@pytest.fixture
async def secret_port() -> AsyncIterator[int]:
    async def secret(_: Request) -> PlainTextResponse:
        return PlainTextResponse("the secret behind the firewall\n")

    async with serving(Starlette(routes=[Route("/{path:path}", secret)])) as port:
        yield port


async def node_at(api: httpx.AsyncClient, name: str, addresses: list[dict[str, str]], port: Any) -> None:
    assert (await api.post("/api/v1/nodes", json={"metadata": {"name": name}})).status_code == 201
    status = {"status": {"addresses": addresses, "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
    response = await api.patch(f"/api/v1/nodes/{name}/status", json=status, headers=MERGE)
    assert response.status_code == 200, response.text
    pod = builders.pod(f"on-{name}", containers=[builders.container("app")], node_name=name)
    assert (await api.post(PODS, json=pod)).status_code == 201


@pytest.mark.parametrize("addresses", [
    [{"type": "Hostname", "address": "localhost"}],
    [{"type": "InternalDNS", "address": "localhost"}, {"type": "ExternalDNS", "address": "localhost"}],
    [{"type": "InternalIP", "address": "169.254.169.254"}, {"type": "Hostname", "address": "localhost"}],
    [{"type": "InternalIP", "address": "0.0.0.0"}],
    [{"type": "ExternalIP", "address": "224.0.0.1"}],
    [{"type": "InternalIP", "address": "fe80::1%lo"}],
])
async def test_a_node_cannot_send_the_log_relay_elsewhere(api: httpx.AsyncClient, secret_port: int,
                                                          addresses: list[dict[str, str]]) -> None:
    await node_at(api, "forged", addresses, secret_port)
    response = await api.get(f"{PODS}/on-forged/log")
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "ServiceUnavailable"
    assert 'node "forged" does not report where its agent listens' in response.json()["message"]


async def test_the_relay_dials_the_nodes_internal_ip_and_agent_port(api: httpx.AsyncClient,
                                                                    secret_port: int) -> None:
    """The positive control: an IP literal the Node reports is dialed (here, where the stand-in listens)."""
    await node_at(api, "honest", [{"type": "Hostname", "address": "honest"},
                                  {"type": "InternalIP", "address": "127.0.0.1"}], secret_port)
    response = await api.get(f"{PODS}/on-honest/log")
    assert (response.status_code, response.text) == (200, "the secret behind the firewall\n")
