"""Asking running components whether they serve, through minik8s.client.

`up` waits on these answers and `status` shows them. Each component is asked on its own
URL with no fail-over (a replica that is down must look down, not be answered for by
another), and briefly: one try, a one-second timeout. For an apiserver, healthy means it
serves the API (`/readyz`: its Raft group has a leader), and `/debug/raft` tells its role.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson

from minik8s.api.meta import metadata_of, status_of
from minik8s.api.registry import REGISTRY, SYSTEM_NAMESPACES
from minik8s.cli.components import APISERVER, ComponentSpec
from minik8s.client.api import ApiClient
from minik8s.client.errors import ApiError
from minik8s.dnswire.message import A, Message, Question, Rcode, RecordType
from minik8s.dnswire.wire import decode_message, encode_message

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 1.0
DNS_PROBE_NAME = "kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Health:
    """What one probe learned: serving or not, the Raft role of an apiserver, and why not."""

    healthy: bool
    raft_role: str | None = None
    raft_leader: str | None = None  # the leader's Raft address as this replica sees it
    reason: str = ""
    raft: dict[str, Any] = field(default_factory=dict)  # an apiserver's whole `/debug/raft` answer


class Prober:
    """One small single-server client per component URL, reused across polls."""

    def __init__(self, *, timeout: float = PROBE_TIMEOUT, verify: ssl.SSLContext | bool = True) -> None:
        self._timeout = timeout
        self._verify = verify
        self._clients: dict[str, ApiClient] = {}

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()

    async def check_all(self, specs: Sequence[ComponentSpec]) -> list[Health]:
        """Probe every component at once; the answers in the same order."""
        return list(await asyncio.gather(*(self.check(spec) for spec in specs)))

    async def check(self, spec: ComponentSpec) -> Health:
        """Is this component serving? (Only its HTTP answer counts; the caller knows its pid.)"""
        if spec.url is None:
            return Health(healthy=True)
        if spec.kind != APISERVER:
            ready, reason = await self._answers_ok(spec.url, spec.ready_path)
            return Health(healthy=ready, reason=reason)
        (ready, reason), raft = await asyncio.gather(self._answers_ok(spec.url, spec.ready_path),
                                                     self._raft_status(spec.url))
        role = raft.get("role")
        leader = raft.get("leader")
        return Health(healthy=ready, raft_role=role if isinstance(role, str) else None,
                      raft_leader=leader if isinstance(leader, str) else None, reason=reason, raft=raft)

    async def system_namespaces_exist(self, url: str) -> bool:
        """True once the apiserver at `url` lists the system namespaces (the API is usable)."""
        namespaces = REGISTRY.require("", "v1", "namespaces")
        try:
            listed = await self._client(url).list(namespaces)
        except ApiError as error:
            logger.debug("listing namespaces: %s", error)
            return False
        items = listed.get("items")
        names = {metadata_of(item).get("name") for item in items or [] if isinstance(item, dict)}
        return set(SYSTEM_NAMESPACES) <= names

    async def nodes_ready(self, url: str, names: list[str]) -> bool:
        """True once every named Node exists with condition Ready=True."""
        try:
            listed = await self._client(url).list(REGISTRY.require("", "v1", "nodes"))
        except ApiError as error:
            logger.debug("listing nodes: %s", error)
            return False
        ready = {item["metadata"]["name"] for item in listed.get("items") or []
                 if any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in status_of(item).get("conditions") or [])}
        return set(names) <= ready

    async def dns_answers(self, server: str) -> bool:
        """True once `server`:53 (the cluster DNS Service, through the proxy's rules) resolves the
        `kubernetes` Service: what a pod's first lookup needs."""
        query = Message(id=random.randrange(1 << 16), recursion_desired=True,
                        questions=(Question(DNS_PROBE_NAME, int(RecordType.A)),))
        try:
            reply = await asyncio.wait_for(asyncio.to_thread(_ask_udp, server, encode_message(query)), self._timeout)
            answer = decode_message(reply)
        except (OSError, TimeoutError, ValueError) as error:
            logger.debug("asking %s for %s: %s", server, DNS_PROBE_NAME, error)
            return False
        return answer.id == query.id and answer.rcode == Rcode.NOERROR and any(
            isinstance(record.data, A) for record in answer.answers)

    async def _answers_ok(self, url: str, path: str) -> tuple[bool, str]:
        try:
            response = await self._client(url).request("GET", path)
        except ApiError as error:
            return False, error.message
        if response.status_code == 200:
            return True, ""
        return False, f"{path} answered {response.status_code}: {response.text.strip()[:200]}"

    async def _raft_status(self, url: str) -> dict[str, Any]:
        try:
            response = await self._client(url).request("GET", "/debug/raft")
        except ApiError:
            return {}
        if response.status_code != 200:
            return {}
        try:
            decoded = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return {}
        return decoded if isinstance(decoded, dict) else {}

    def _client(self, url: str) -> ApiClient:
        client = self._clients.get(url)
        if client is None:
            client = ApiClient([url], timeout=self._timeout, max_connections=2, max_streams=1,
                               failover_deadline=0.0, user_agent="minik8s-cli", verify=self._verify)
            self._clients[url] = client
        return client


def _ask_udp(server: str, query: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(PROBE_TIMEOUT)
        udp.sendto(query, (server, 53))
        return udp.recv(4096)
